// The ping-pong topology: a pinger on host `a`, a ponger on host `b`.
import { Topology, type ActorRef } from '../../actors/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import { schemas, type PingerMsg, type PongerMsg } from './messages.ts';
import { pinger, ponger } from './pingpong.ts';

export interface PingPongOptions {
  readonly count?: number;
  readonly window?: number;
  readonly retryMs?: number;
  /** The a-b link in sim mode. */
  readonly link?: LinkOptions;
}

export interface PingPong {
  readonly topology: Topology;
  readonly pinger: ActorRef<PingerMsg>;
  readonly ponger: ActorRef<PongerMsg>;
}

export function pingPongTopology(opts: PingPongOptions = {}): PingPong {
  const t = new Topology('pingpong').messages(schemas);
  const a = t.host('a', { role: 'client' });
  const b = t.host('b', { role: 'server' });
  const pongerRef = t.actor(b, 'ponger', ponger());
  const pingerRef = t.actor(a, 'pinger', pinger({
    ponger: pongerRef, count: opts.count ?? 1000, window: opts.window ?? 10, retryMs: opts.retryMs ?? 20,
  }));
  t.link(a, b, opts.link ?? { latencyMs: 0.05, jitterMs: 0.02 });
  return { topology: t, pinger: pingerRef, ponger: pongerRef };
}
