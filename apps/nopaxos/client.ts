// The NOPaxos client (reference: nopaxos/client.cc). It multicasts each request through the
// OUM sequencer of its group and waits for f+1 replies with the same view-id and log slot, one
// of them the leader's (which carries the result). Without them it resends the same request
// (same number: the client table answers a retry without executing it twice) after
// REQUEST_TIMEOUT_MS. When the controller moves the group to another sequencer (OumRoute), it
// resends at once.
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx, type Msg } from '../../actors/index.ts';
import {
  complete, createDriver, enqueue, invokeResult, isDone, startNext,
  type DriverConfig, type DriverState, type Outstanding,
} from '../kv/driver.ts';
import { oumHeader, type OumRouteAck } from '../oum/messages.ts';
import type { ClientMsg, Reply, Request } from './messages.ts';

/** The reference client's resend timeout. */
export const REQUEST_TIMEOUT_MS = 100;

export interface ClientConfig extends DriverConfig {
  /** The multicast group of the replicas. */
  readonly group: number;
  /** The group's sequencer at start (the controller may route elsewhere later). */
  readonly sequencer: ActorRef<Msg>;
  /** Number of replicas (n = 2f+1). */
  readonly replicas: number;
  readonly requestTimeoutMs?: number;
}

export interface NopaxosClientState {
  readonly d: DriverState;
  route: ActorRef<Msg>;
  routeSession: number;
  /** Replies to the outstanding request, latest per replica. */
  readonly replies: Map<number, Reply>;
  resent: number;
}

type C = Ctx<ClientMsg>;

export function nopaxosClient(cfg: ClientConfig): Behavior<NopaxosClientState, ClientMsg> {
  if (!(cfg.replicas >= 1)) throw new RangeError('a client needs at least one replica');
  const f = Math.floor((cfg.replicas - 1) / 2);
  const timeoutMs = cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;

  const send = (s: NopaxosClientState, cur: Outstanding, ctx: C): void => {
    const req: Request = {
      type: 'Request', oum: oumHeader(cfg.group), op: cur.op, clientId: s.d.clientId, clientReqId: cur.reqId,
      client: ctx.self as ActorRef<Reply>,
    };
    cur.sends++;
    ctx.send(s.route as ActorRef<Request>, req);
    ctx.startTimer('request', timeoutMs, { type: 'RequestTimeout' });
  };

  const next = (s: NopaxosClientState, ctx: C): void => {
    const cur = startNext(s.d, cfg, ctx);
    if (cur === undefined) return;
    s.replies.clear();
    send(s, cur, ctx);
  };

  /** f+1 matching replies, the leader's among them: the request is committed. */
  const quorum = (s: NopaxosClientState): Reply | undefined => {
    for (const r of s.replies.values()) {
      if (r.result === undefined || r.view % cfg.replicas !== r.replicaIdx) continue;
      let matching = 0;
      for (const q of s.replies.values()) if (q.view === r.view && q.sessNum === r.sessNum && q.opNum === r.opNum) matching++;
      if (matching >= f + 1) return r;
    }
    return undefined;
  };

  return behavior<NopaxosClientState, ClientMsg>({
    init: (ctx) => {
      ctx.startTimer('start', cfg.startDelayMs ?? 0, { type: 'ClientStart' });
      return { d: createDriver(ctx), route: cfg.sequencer, routeSession: -1, replies: new Map(), resent: 0 };
    },
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'ClientStart':
        case 'ThinkTimeout':
          next(s, ctx);
          return s;
        case 'Invoke':
          if (!enqueue(s.d, msg)) ctx.log.warn('invoke queue full: dropped');
          next(s, ctx);
          return s;
        case 'Reply': {
          const cur = s.d.current;
          if (cur === undefined || msg.clientReqId !== cur.reqId || msg.replicaIdx >= cfg.replicas) return s;
          s.replies.set(msg.replicaIdx, msg);
          const leader = quorum(s);
          if (leader === undefined) return s;
          ctx.cancelTimer('request');
          const now = ctx.now();
          const done = complete(s.d, cfg, leader.result!, now);
          if (done.replyTo) ctx.send(done.replyTo, invokeResult(done, leader.result!, now));
          s.replies.clear();
          if (cfg.thinkMs && !isDone(s.d, cfg)) ctx.startTimer('think', cfg.thinkMs, { type: 'ThinkTimeout' });
          else next(s, ctx);
          return s;
        }
        case 'RequestTimeout': {
          const cur = s.d.current;
          if (cur === undefined) return s;
          s.d.retries++;
          send(s, cur, ctx);
          return s;
        }
        case 'OumRoute': {
          if (msg.group !== cfg.group) return s;
          const ack: OumRouteAck = { type: 'OumRouteAck', group: msg.group, sessionNum: msg.sessionNum, sender: ctx.self };
          ctx.send(msg.replyTo, ack);
          if (msg.sessionNum <= s.routeSession) return s;
          s.route = msg.sequencer;
          s.routeSession = msg.sessionNum;
          // What went to the old sequencer is probably lost: resend now rather than at the timeout.
          if (s.d.current !== undefined) {
            s.resent++;
            send(s, s.d.current, ctx);
          }
          return s;
        }
        default:
          return assertNever(msg);
      }
    },
  });
}
