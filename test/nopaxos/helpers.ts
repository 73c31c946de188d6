// Shared pieces of the NOPaxos scenario tests: a sim world over the NOPaxos topology with the
// invariant checker run after every step, packet filters in the manner of the reference suite
// ("drop the 3rd, 5th and 8th request to the non-leader replicas"), and log comparisons.
import assert from 'node:assert/strict';
import { runSim, seededRandom, type SimRuntime } from '../../actors/index.ts';
import type { FilterInfo, LinkOptions, PacketFilter } from '../../transport/memory/sim-network.ts';
import type { Envelope } from '../../transport/types.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import type { History } from '../../apps/linearizability/history.ts';
import { kvModel, type KvInput, type KvOutput } from '../../apps/linearizability/models.ts';
import type { NopaxosClientState } from '../../apps/nopaxos/client.ts';
import { entryKey, NopaxosInvariants } from '../../apps/nopaxos/invariants.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosTopology, type NopaxosOptions, type NopaxosTopology } from '../../apps/nopaxos/topology.ts';

export interface World {
  readonly topo: NopaxosTopology;
  readonly rt: SimRuntime;
  readonly inv: NopaxosInvariants;
  readonly history: KvHistory;
  replica(i: number): NopaxosReplica;
  replicas(): (NopaxosReplica | undefined)[];
  client(i: number): NopaxosClientState;
  /** Completed operations over all clients. */
  completed(): number;
  /** Run until every client has finished its workload; fails the test otherwise. */
  runUntilDone(withinMs: number): void;
}

export function world(opts: NopaxosOptions & { seed?: number; network?: LinkOptions } = {}): World {
  const history = new KvHistory();
  const topo = nopaxosTopology({ replicas: 5, history, ...opts });
  const rt = runSim(topo.topology, { seed: opts.seed ?? 1, logLevel: 'silent', network: { latencyMs: 0.05, ...opts.network } });
  const replicas = (): (NopaxosReplica | undefined)[] => topo.replicas.map((r) => rt.stateOf<NopaxosReplica>(r));
  const inv = new NopaxosInvariants(replicas);
  rt.onStep(() => inv.check());
  const client = (i: number): NopaxosClientState => rt.stateOf<NopaxosClientState>(topo.clients[i]!)!;
  const completed = (): number => topo.clients.reduce((n, c) => n + (rt.stateOf<NopaxosClientState>(c)?.d.completed ?? 0), 0);
  const total = (opts.clients ?? 1) * (opts.opsPerClient ?? 0);
  return {
    topo, rt, inv, history, replicas, client, completed,
    replica: (i) => {
      const r = rt.stateOf<NopaxosReplica>(topo.replicas[i]!);
      assert.ok(r, `replica ${i} is not running`);
      return r;
    },
    runUntilDone(withinMs) {
      const ok = rt.runUntil(() => completed() >= total, withinMs);
      assert.ok(ok, `only ${completed()} of ${total} operations completed within ${withinMs} ms (at ${rt.now()} ms)`);
    },
  };
}

/** Requests from the sequencer to replica `host`, counted per replica; drop the numbered ones. */
export function dropRequests(hosts: readonly string[], nths: readonly number[]): PacketFilter {
  const counts = new Map<string, number>();
  const drop = new Set(nths);
  return (env: Envelope, info: FilterInfo) => {
    if (env.msg.type !== 'Request' || !hosts.includes(info.toHost)) return 'deliver';
    const n = (counts.get(info.toHost) ?? 0) + 1;
    counts.set(info.toHost, n);
    return drop.has(n) ? 'drop' : 'deliver';
  };
}

/** Drop each matching envelope with probability 1/oneIn, from a seeded stream. */
export function dropRandomly(seed: number, oneIn: number, match: (env: Envelope, info: FilterInfo) => boolean): PacketFilter {
  const r = seededRandom(seed, 'test-filter');
  return (env, info) => (match(env, info) && Math.floor(r.next() * oneIn) === 0 ? 'drop' : 'deliver');
}

/** Drop envelopes of `type` from `fromHost` (to `toHosts`, if given); the nth..mth only, if given. */
export function dropType(type: string, fromHost?: string, toHosts?: readonly string[], range?: [number, number]): PacketFilter {
  let seen = 0;
  return (env, info) => {
    if (env.msg.type !== type || (fromHost !== undefined && info.fromHost !== fromHost) || (toHosts !== undefined && !toHosts.includes(info.toHost))) return 'deliver';
    seen++;
    return range === undefined || (seen >= range[0] && seen <= range[1]) ? 'drop' : 'deliver';
  };
}

/** Every live replica holds the same entries as replica `ref` in slots 1..upTo (those both still have: above both log bases). */
export function assertLogsAgree(w: World, upTo: number, ref = 0): void {
  const base = w.replica(ref);
  assert.ok(base.lastOp >= upTo, `replica ${ref} has ${base.lastOp} slots, expected at least ${upTo}`);
  w.replicas().forEach((r, i) => {
    if (r === undefined || i === ref) return;
    assert.ok(r.lastOp >= upTo, `replica ${i} has ${r.lastOp} slots, expected at least ${upTo}`);
    for (let op = Math.max(r.logBase, base.logBase) + 1; op <= upTo; op++) {
      assert.equal(entryKey(r.entry(op)), entryKey(base.entry(op)), `replica ${i} and replica ${ref} differ in slot ${op}`);
    }
  });
}

/** Slots holding a NO-OP in replica i's log. */
export function noops(r: NopaxosReplica): number[] {
  return r.log.filter((e) => e.state === 'noop').map((e) => e.opNum);
}

/** Every live replica that executed as far as replica `ref` holds the same application state. */
export function assertStatesAgree(w: World, ref = 0): void {
  const base = w.replica(ref);
  const want = JSON.stringify(base.app.snapshot());
  w.replicas().forEach((r, i) => {
    if (r === undefined || i === ref) return;
    assert.equal(r.app.lastExecuted, base.app.lastExecuted, `replica ${i} executed up to ${r.app.lastExecuted}, replica ${ref} up to ${base.app.lastExecuted}`);
    assert.equal(JSON.stringify(r.app.snapshot()), want, `replica ${i} and replica ${ref} hold different states`);
  });
}

/** Every live replica's log is a prefix of (or equal to) replica `ref`'s, slot for slot. */
export function assertPrefixesAgree(w: World, ref = 0): void {
  const base = w.replica(ref);
  w.replicas().forEach((r, i) => {
    if (r === undefined || i === ref) return;
    const upTo = Math.min(r.lastOp, base.lastOp);
    for (let op = Math.max(r.logBase, base.logBase) + 1; op <= upTo; op++) {
      assert.equal(entryKey(r.entry(op)), entryKey(base.entry(op)), `replica ${i} and replica ${ref} differ in slot ${op}`);
    }
  });
}

/** The recorded client history is linearizable under the kv model. */
export function assertLinearizable(w: World): void {
  const h = w.history.history();
  const res = checkHistory(kvModel(), h as unknown as History<KvInput, KvOutput>, { maxSteps: 5_000_000 });
  assert.equal(res.verdict, 'linearizable', res.violation?.text ?? res.reason ?? '');
}
