// Shared pieces of the Pegasus tests: a sim world over the Pegasus topology with a history, the
// invariant checker and a load stats collector; the directory's registers read straight from the
// switch (fused mode: one pipeline actor holds every stage); and the linearizability check.
import assert from 'node:assert/strict';
import { runSim, type SimRuntime } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import type { KvOp } from '../../apps/kv/kv.ts';
import { checkHistory, type CheckResult } from '../../apps/linearizability/checker.ts';
import { kvModel } from '../../apps/linearizability/models.ts';
import type { Controller } from '../../apps/pegasus/controller.ts';
import { PegasusInvariants } from '../../apps/pegasus/invariants.ts';
import type { PegasusServerState } from '../../apps/pegasus/server.ts';
import { pegasusTopology, type PegasusOptions, type PegasusTopology } from '../../apps/pegasus/topology.ts';
import { keyHash } from '../../apps/kv-hash/ring.ts';
import type { LoadState } from '../../apps/workload/client.ts';
import { LoadStats } from '../../apps/workload/stats.ts';
import type { FilterInfo, LinkOptions } from '../../transport/memory/sim-network.ts';
import type { StageRuntime } from '../../switch-model/index.ts';

export interface World {
  readonly t: PegasusTopology;
  readonly sim: SimRuntime;
  readonly history: KvHistory;
  readonly invariants: PegasusInvariants;
  readonly stats: LoadStats;
  controller(): Controller;
  server(rack: number, i: number): PegasusServerState;
  completed(): number;
  /** A register cell of rack `rack`'s directory. */
  reg(rack: number, name: string, index: number): number;
  /** The rkey index of `key` in the controller's table, or -1. */
  rkeyIndex(key: string): number;
  /** The replica set of `key` in rack `rack` (server ids, in slot order). */
  rset(rack: number, key: string): number[];
  runUntilDone(withinMs: number): void;
  check(): CheckResult;
}

export const SMALL = { keys: 4, zipf: 0.5, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } } as const;

export function world(opts: PegasusOptions & { seed?: number; network?: LinkOptions } = {}): World {
  const history = new KvHistory();
  const invariants = new PegasusInvariants();
  const stats = new LoadStats();
  const t = pegasusTopology({
    servers: 4, clients: 2, sessions: 2, workload: SMALL, timeoutMs: 1, startDelayMs: 0.5, history, invariants, stats,
    controller: { autoRkeys: false }, ...opts,
  });
  const sim = runSim(t.topology, { seed: opts.seed ?? 1, logLevel: 'silent', network: opts.network });
  const stage = (rack: number, name: string): StageRuntime<unknown> => {
    const f = sim.stateOf<{ owners: Map<string, StageRuntime<unknown>> }>({ host: t.switchHosts[rack]!, path: 'switch/pipeline' });
    assert.ok(f, `switch ${rack} is not running`);
    return f.owners.get(name)!;
  };
  const reg = (rack: number, name: string, index: number): number => {
    const rt = stage(rack, name);
    for (const [d, arr] of rt.registers) if (d.name === name) return Number(arr.cells[index]);
    throw new Error(`no register ${name}`);
  };
  const controller = (): Controller => sim.stateOf<Controller>(t.controller)!;
  const rkeyIndex = (key: string): number => controller().rkeys.get(key)?.index ?? -1;
  const total = (): number => t.clients.reduce((n, c) => n + ((sim.stateOf<{ load: LoadState }>(c)?.load.cfg.ops) ?? 0), 0);
  const completed = (): number => t.clients.reduce((n, c) => n + (sim.stateOf<{ load: LoadState }>(c)?.load.completed ?? 0), 0);
  return {
    t, sim, history, invariants, stats, controller, completed, reg, rkeyIndex,
    server: (rack, i) => sim.stateOf<PegasusServerState>(t.servers[rack]![i]!)!,
    rset(rack, key) {
      const idx = rkeyIndex(key);
      if (idx < 0) return [];
      const size = reg(rack, 'rsetSize', idx);
      return Array.from({ length: size }, (_, s) => reg(rack, 'rsetA', idx * 32 + s));
    },
    runUntilDone(withinMs) {
      const ok = sim.runUntil(() => completed() >= total(), withinMs);
      assert.ok(ok, `only ${completed()} of ${total()} operations completed within ${withinMs} ms (at ${sim.now()} ms)`);
    },
    check() {
      return checkHistory(kvModel(), history.history() as never, { maxSteps: 5_000_000 });
    },
  };
}

export function assertLinearizable(w: World): void {
  const r = w.check();
  assert.equal(r.verdict, 'linearizable', r.violation?.text);
  assert.deepEqual(w.invariants.violations, []);
}

export { keyHash };

/** Keys of the chain worlds (chainWorld). */
export const CHAIN_KEYS = 6;

/** A chain of `racks` racks of 2 servers, 2 clients under a read/write load; rkeys only when added. */
export function chainWorld(racks: number, opsPerClient: number, controller: PegasusOptions['controller'] = {}): World {
  return world({
    racks, servers: 2, clients: 2, sessions: 2, opsPerClient,
    workload: { keys: CHAIN_KEYS, zipf: 0, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 16 } },
    controller: { autoRkeys: false, defaultRf: 2, ...controller },
  });
}

/** Invoke `ops` (client k takes the k-th, by turns) and run until they complete. */
export function invokeAll(w: World, ops: readonly KvOp[], withinMs: number, what: string): void {
  const before = w.completed();
  ops.forEach((op, k) => w.sim.send(w.t.clients[k % 2]!, { type: 'LoadInvoke', op }));
  assert.ok(w.sim.runUntil(() => w.completed() >= before + ops.length, withinMs), `${what} (log: ${w.controller().log.join(' | ')})`);
}

/** The load's end, then a read of every key, and the history checked. */
export function finishWithReads(w: World): void {
  w.runUntilDone(500);
  invokeAll(w, Array.from({ length: CHAIN_KEYS }, (_, k): KvOp => ({ op: 'get', key: `k${k}` })), 50, 'the final reads completed');
  assertLinearizable(w);
}

/**
 * Crash the host that the first message of type `type` (and `also`, if given) goes to, dropping
 * that message; restart it `restartMs` later if given. Returns whether it has happened.
 */
export function crashAtFirst(w: World, type: string, also: (info: FilterInfo) => boolean = () => true, restartMs?: number): () => boolean {
  let crashed = false;
  w.sim.network.addFilter((env, info) => {
    if (crashed || env.msg.type !== type || !also(info)) return 'deliver';
    crashed = true;
    w.sim.crash(info.toHost);
    if (restartMs !== undefined) w.sim.scheduler.schedule(restartMs, () => w.sim.restart(info.toHost));
    return 'drop';
  });
  return () => crashed;
}

/** Cut rack r's switch off from the controller, and run until the rack left the chain and the controller is idle. */
export function cutRackOff(w: World, r: number, withinMs: number): void {
  w.sim.cut(w.t.controller.host, w.t.switchHosts[r]!);
  assert.ok(w.sim.runUntil(() => !w.controller().chain.includes(r) && w.controller().current === undefined, withinMs),
    `rack ${r} left the chain (log: ${w.controller().log.join(' | ')})`);
}
