// The unreplicated baseline: one server executes every request on the kv state machine and
// replies. Its client table makes retries at-most-once, as in the replicated protocols. Per
// request it handles 2 messages (the request in, the reply out): the bound that NOPaxos is
// measured against.
import { behavior, type Behavior } from '../../actors/index.ts';
import { DEFAULT_SERVICE_COSTS, ServiceMeter, type ServiceCosts } from '../kv/cost.ts';
import { KvStateMachine } from '../kv/state-machine.ts';
import type { ServerMsg } from './messages.ts';

export interface ServerConfig {
  readonly costs?: ServiceCosts;
}

export interface ServerState {
  readonly app: KvStateMachine;
  requests: number;
  duplicates: number;
}

export function unreplicatedServer(cfg: ServerConfig = {}): Behavior<ServerState, ServerMsg> {
  const meter = new ServiceMeter(cfg.costs ?? DEFAULT_SERVICE_COSTS);
  return behavior<ServerState, ServerMsg>({
    init: () => {
      meter.take();
      return { app: new KvStateMachine(false), requests: 0, duplicates: 0 };
    },
    receive: (s, msg, ctx) => {
      meter.recv();
      s.requests++;
      const out = s.app.execute(s.app.lastExecuted + 1, msg);
      if (out.kind === 'stale') return s;
      if (out.kind === 'duplicate') s.duplicates++;
      else meter.execute();
      meter.send();
      ctx.send(msg.client, { type: 'Reply', clientReqId: msg.clientReqId, result: out.result });
      return s;
    },
    serviceTimeMs: () => meter.take(),
  });
}
