// Topologies the CLI can run by name, with what each host reports when it is done.
import type { NodeRuntime, Topology } from '../actors/index.ts';
import type { PingerState } from '../apps/pingpong/pingpong.ts';
import { pingPongTopology } from '../apps/pingpong/topology.ts';

export interface Builtin {
  readonly topology: Topology;
  /** Resolves with a summary when this host's part of the job is done; never, for servers. */
  watch(node: NodeRuntime): Promise<Record<string, unknown>> | undefined;
}

export const builtins: Record<string, (opts: { ops?: number }) => Builtin> = {
  pingpong: ({ ops }) => {
    const pp = pingPongTopology({ count: ops ?? 10_000, window: 64, retryMs: 50 });
    return {
      topology: pp.topology,
      watch(node) {
        if (node.hostName !== pp.pinger.host) return undefined;
        return new Promise((resolve) => {
          const poll = setInterval(() => {
            const s = node.stateOf<PingerState>(pp.pinger);
            if (s?.finishedAtMs === undefined) return;
            clearInterval(poll);
            const elapsedMs = s.finishedAtMs - s.startedAtMs;
            resolve({
              answered: s.answered, resent: s.resent, elapsedMs: Math.round(elapsedMs),
              pingsPerSec: Math.round((s.answered / elapsedMs) * 1000), meanRttMs: +(s.rttSumMs / s.answered).toFixed(3),
            });
          }, 20);
        });
      },
    };
  },
};
