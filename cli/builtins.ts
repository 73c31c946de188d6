// The builder registry: topologies built in code that topology files name (`"builder": {"name":
// "pingpong", "params": {...}}`), and that `switchboard topology export` writes files for. A
// protocol plugs in by adding one entry here: a typebox schema of its parameters (with
// defaults) and a build function returning the topology, plus how a host tells that its job is
// done (`watch`, for the "finished" summary) and what it counts live (`status`).
import { Type } from '@sinclair/typebox';
import { defineBuilder, type BuilderRegistry } from '../actors/topology-file.ts';
import type { PingerState, PongerState } from '../apps/pingpong/pingpong.ts';
import { pingPongTopology } from '../apps/pingpong/topology.ts';
import { whenState } from './builders/common.ts';
import { kvHash, netcache, pegasus } from './builders/pegasus.ts';
import { nopaxos, nopaxosSwitch, paxos, unreplicated } from './builders/replication.ts';

const pingpong = defineBuilder({
  description: 'a pinger on host a keeps `window` pings in flight until `count` are answered by the ponger on host b',
  params: Type.Object({
    count: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 10_000, description: 'pings to get answered' }),
    window: Type.Integer({ minimum: 1, maximum: 100_000, default: 64, description: 'pings in flight at once' }),
    retryMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 50, description: 'resend a ping unanswered this long' }),
  }, { additionalProperties: false }),
  build: (params) => {
    const pp = pingPongTopology(params);
    return {
      topology: pp.topology,
      watch(node) {
        if (node.hostName !== pp.pinger.host) return undefined;
        return whenState<PingerState>(node, pp.pinger, (s) => s.finishedAtMs !== undefined, (s) => {
          const elapsedMs = s.finishedAtMs! - s.startedAtMs;
          return {
            answered: s.answered, resent: s.resent, elapsedMs: Math.round(elapsedMs),
            pingsPerSec: Math.round((s.answered / elapsedMs) * 1000), meanRttMs: +(s.rttSumMs / s.answered).toFixed(3),
          };
        });
      },
      status(node): Record<string, number> {
        if (node.hostName === pp.pinger.host) return { completed: node.stateOf<PingerState>(pp.pinger)?.answered ?? 0 };
        return { served: node.stateOf<PongerState>(pp.ponger)?.answered ?? 0 };
      },
    };
  },
});

export const builders: BuilderRegistry = {
  pingpong, nopaxos, 'nopaxos-switch': nopaxosSwitch, paxos, unreplicated, pegasus, 'kv-hash': kvHash, netcache,
};
