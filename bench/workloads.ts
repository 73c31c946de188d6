// The small topologies the runtime benchmark drives: a sender that pushes messages to a
// counter, windowed by acknowledgements so that a reliable transport is never overrun.
import { behavior, type ActorRef, type Behavior } from '../actors/index.ts';
import { Topology } from '../actors/topology.ts';
import { Type } from '@sinclair/typebox';

export interface Data { readonly type: 'Data'; readonly seq: number; readonly key: string; readonly value: string; readonly replyTo: ActorRef<SenderMsg> }
export interface Ack { readonly type: 'Ack'; readonly count: number }
export interface Go { readonly type: 'Go' }
export interface More { readonly type: 'More' }
export type SenderMsg = Ack | Go | More;
export type CounterMsg = Data;

export const benchSchemas = {
  Data: Type.Object({
    type: Type.Literal('Data'), seq: Type.Integer(), key: Type.String(), value: Type.String(),
    replyTo: Type.Object({ host: Type.String(), path: Type.String() }),
  }),
  Ack: Type.Object({ type: Type.Literal('Ack'), count: Type.Integer() }),
};

export interface FlowConfig {
  readonly total: number;
  /** Messages sent but not yet acknowledged, at most. */
  readonly window: number;
  /** The counter acknowledges every `ackEvery` messages (and the last). */
  readonly ackEvery: number;
  /** Messages sent per handler turn before yielding (lets real transports flush). */
  readonly burst: number;
}

/** Sends `total` Data messages; calls onDone when all are acknowledged (ack-less when ackEvery = 0). */
export function sender(counter: ActorRef<CounterMsg>, cfg: FlowConfig, onDone: () => void): Behavior<{ sent: number; acked: number }, SenderMsg> {
  const value = 'v'.repeat(32);
  return behavior({
    init: () => ({ sent: 0, acked: 0 }),
    receive: (s, msg, ctx) => {
      let { sent, acked } = s;
      if (msg.type === 'Ack') {
        acked = Math.max(acked, msg.count);
        if (acked >= cfg.total) onDone();
      }
      const limit = Math.min(cfg.total, cfg.ackEvery > 0 ? acked + cfg.window : cfg.total);
      let n = 0;
      while (sent < limit && n < cfg.burst) {
        ctx.send(counter, { type: 'Data', seq: sent, key: `key-${sent % 1000}`, value, replyTo: ctx.self });
        sent++;
        n++;
      }
      if (sent < limit) ctx.send(ctx.self, { type: 'More' });
      if (cfg.ackEvery === 0 && sent >= cfg.total && msg.type !== 'Ack') onDone();
      return { sent, acked };
    },
  });
}

/** Counts Data; acknowledges every `ackEvery`; reports arrival times of the first and last. */
export function counter(cfg: FlowConfig, now: () => number, onCount?: (count: number, firstMs: number, lastMs: number) => void): Behavior<{ count: number; firstMs: number }, CounterMsg> {
  return behavior({
    init: () => ({ count: 0, firstMs: 0 }),
    receive: (s, msg, ctx) => {
      const count = s.count + 1;
      const firstMs = count === 1 ? now() : s.firstMs;
      if (cfg.ackEvery > 0 && (count % cfg.ackEvery === 0 || count === cfg.total)) ctx.send(msg.replyTo, { type: 'Ack', count });
      onCount?.(count, firstMs, now());
      return { count, firstMs };
    },
  });
}

/** Host a holds the sender, host b the counter (or both on one host). */
export function flowTopology(sameHost: boolean): { topology: Topology; senderPath: string; counterPath: string; a: string; b: string } {
  const t = new Topology('flow').messages(benchSchemas);
  const a = t.host('a');
  const b = sameHost ? a : t.host('b');
  return { topology: t, senderPath: 'sender', counterPath: 'counter', a, b };
}

/** A typical protocol message, for codec figures (a NOPaxos-like request). */
export const typicalMessage = {
  type: 'Request', sessNum: 3, msgNum: 18234, clientId: 'client-17', clientReqId: 991,
  op: { kind: 'put', key: 'user:48213', value: 'x'.repeat(64) },
};
