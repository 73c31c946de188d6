// The skewed key-value scenarios of `switchboard sim` and `sweep`: pegasus, netcache and
// kv-hash. Each seed draws its fault plan from the seed itself: network faults from
// randomFaults(seed), and for Pegasus, from the same seed inside run, a server crash and restart
// (and its rejoin), a server cut off from the controller or paused (failed over while alive), a
// switch cut off from the controller or down for long (its rack leaves the chain and joins it
// again), a paused controller, a switch restart, rkey churn under writes and the controller's
// messages delayed (so that they overtake their own resends); for NetCache,
// controller and switch restarts (netcachePlan). So `switchboard sim pegasus --seed N` replays a
// sweep's seed exactly (`--faults` given go over the seed's network faults, `--no-plan` drops the
// plan). Every history is checked for linearizability.
import { runSim, seededRandom, type ActorRef, type SimRuntime, type Topology, type TraceSink } from '../actors/index.ts';
import type { LinkOptions } from '../transport/memory/sim-network.ts';
import { KvHistory } from '../apps/history/history.ts';
import { checkHistory } from '../apps/linearizability/checker.ts';
import { kvModel } from '../apps/linearizability/models.ts';
import { kvHashTopology } from '../apps/kv-hash/topology.ts';
import type { PegasusClientState } from '../apps/pegasus/client.ts';
import type { Controller } from '../apps/pegasus/controller.ts';
import { PegasusInvariants } from '../apps/pegasus/invariants.ts';
import type { PegasusServerState } from '../apps/pegasus/server.ts';
import { pegasusTopology } from '../apps/pegasus/topology.ts';
import type { NetCacheControllerState } from '../apps/netcache/controller.ts';
import { netcacheTopology } from '../apps/netcache/topology.ts';
import type { LoadState } from '../apps/workload/client.ts';
import { LoadStats } from '../apps/workload/stats.ts';
import type { WorkloadSpec } from '../apps/workload/workload.ts';
import type { FaultSpec } from './options.ts';
// Types only: scenarios.ts imports this module, so nothing from it may be needed at load time.
import type { PlanEvent, Scenario, ScenarioRun, SimReport } from './scenarios.ts';
import { keptEvents } from './shrink.ts';

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const WORKLOAD: WorkloadSpec = { keys: 6, zipf: 0.9, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } };
const CLIENTS = 3;
const SESSIONS = 2;
/** Virtual time a run may take before it counts as stuck. */
const MAX_MS = 3000;
/**
 * Pegasus's budget per message of a state transfer: an item of WORKLOAD is about 70 bytes and a
 * client-table entry 150, so every failover and rejoin of more than one of them goes in parts
 * (as the NOPaxos sweeps keep a log tail of 8, so that snapshots are always sent).
 */
const TRANSFER_BYTES = 128;
/** Search steps the checker may take per history (deterministic, unlike a time limit). */
const CHECK_STEPS = 2_000_000;

/** The network part of a seed's fault plan: drops, duplicates and reordering by jitter. */
export function kvNetworkFaults(seed: number): FaultSpec {
  const r = seededRandom(seed, '$kv-fault-plan');
  const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)]!;
  return { dropRate: pick([0, 0, 0.01, 0.03, 0.05]), duplicateRate: pick([0, 0, 0.01, 0.03]), jitterMs: pick([0, 0.002, 0.01, 0.03]) };
}

/** The Pegasus scenario's topology and what its clients and servers record into. */
function pegasusWorld(opts: ScenarioRun) {
  const history = new KvHistory();
  const invariants = new PegasusInvariants();
  const stats = new LoadStats();
  const t = pegasusTopology({
    racks: 2, servers: 4, clients: CLIENTS, sessions: SESSIONS, opsPerClient: Math.ceil((opts.ops ?? 120) / CLIENTS), workload: WORKLOAD,
    history, invariants, stats, timeoutMs: 1, startDelayMs: 0.1,
    link: kvLink(opts),
    controller: { autoRkeys: false, defaultRf: 3 }, transferBytes: TRANSFER_BYTES,
  });
  return { history, invariants, stats, t };
}

/** A plan event's group: every event about one host (its crash, restart, cut, reconnect), or itself. */
function kvGroupOf(e: PegasusPlanEvent, i: number): string {
  const host = /\b(r\d+s\d+|tor\d*|ctrl)\b/.exec(e.what);
  return host ? `host ${host[1]}` : `at${i}`;
}

const planEventsOfKv = (plan: readonly PegasusPlanEvent[]): PlanEvent[] =>
  plan.map((e, i) => ({ what: `${e.atMs.toFixed(2)} ms ${e.what}`, group: kvGroupOf(e, i) }));

/** A run's simulator: its seed, silent, traced to `sim --trace-out` if asked. */
function simOptions({ seed, trace }: ScenarioRun): { seed: number; logLevel: string; traceSink?: TraceSink } {
  return { seed, logLevel: 'silent', ...(trace ? { traceSink: trace } : {}) };
}

/** A run's links: the seed's network faults (unless --no-plan), with the --faults given over them. */
function kvLink({ seed, faults, plan }: ScenarioRun): LinkOptions {
  return { latencyMs: 0.005, bandwidthMbps: 10_000, ...(plan !== false ? kvNetworkFaults(seed) : {}), ...faults };
}

/**
 * The non-network part of a NetCache seed's plan: in half the seeds the controller crashes while
 * it fills the cache and restarts with nothing (it must clear the cache table before it caches
 * anything), in half the switch restarts with nothing (the controller must move it to a new
 * epoch before it takes writes), and in a fifth the controller's messages are delayed.
 */
export function netcachePlan(seed: number): PegasusPlanEvent[] {
  const r = seededRandom(seed, '$netcache-plan');
  const ev: PegasusPlanEvent[] = [];
  const crashAndRestart = (host: string): void => {
    // Within the run: its load takes about 1.8 ms without faults.
    const when = 0.2 + r.next() * 1.3;
    const back = when + 0.05 + r.next() * 0.5;
    ev.push({ atMs: when, what: `crash ${host}`, run: (sim) => sim.crash(host) }, { atMs: back, what: `restart ${host}`, run: (sim) => sim.restart(host) });
  };
  if (r.next() < 0.5) crashAndRestart('ctrl');
  if (r.next() < 0.5) crashAndRestart('tor');
  if (r.next() < CONTROL_DELAY_P) ev.push(delayControl(seed, 'ctrl', '$netcache-control-delays'));
  return ev.sort((a, b) => a.atMs - b.atMs);
}

export interface PegasusPlanEvent {
  readonly atMs: number;
  readonly what: string;
  readonly run: (sim: SimRuntime) => void;
}

/** The non-network part of a Pegasus seed's plan. */
export function pegasusPlan(seed: number, t: ReturnType<typeof pegasusTopology>): PegasusPlanEvent[] {
  const r = seededRandom(seed, '$pegasus-plan');
  const ev: PegasusPlanEvent[] = [];
  const at = (lo: number, hi: number): number => lo + r.next() * (hi - lo);
  const keys = Array.from({ length: WORKLOAD.keys }, (_, i) => `k${i}`);
  const subset = (): string[] => keys.filter(() => r.next() < 0.5);
  // rkey churn under writes
  const churn = 2 + r.int(5);
  for (let k = 0; k < churn; k++) {
    const when = at(0.2, 4);
    const ks = subset();
    if (ks.length === 0) continue;
    if (r.next() < 0.6) ev.push({ atMs: when, what: `add rkeys ${ks.join(',')}`, run: (sim) => t.addRkeys(sim, ks) });
    else ev.push({ atMs: when, what: `remove rkeys ${ks.join(',')}`, run: (sim) => t.removeRkeys(sim, ks) });
  }
  // a server crash and restart (the chain keeps its data in the other rack)
  let restarted: string | undefined;
  if (r.next() < 0.5) {
    const host = t.serverHosts[r.int(t.racks)]![r.int(t.serverHosts[0]!.length)]!;
    restarted = host;
    const when = at(0.3, 3);
    const back = when + at(0.3, 3);
    ev.push({ atMs: when, what: `crash ${host}`, run: (sim) => sim.crash(host) });
    ev.push({ atMs: back, what: `restart ${host}`, run: (sim) => sim.restart(host) });
  }
  // a switch restart (an empty directory)
  if (r.next() < 0.4) {
    const host = t.switchHosts[r.int(t.racks)]!;
    const when = at(0.3, 4);
    const back = when + at(0.2, 2);
    ev.push({ atMs: when, what: `crash ${host}`, run: (sim) => sim.crash(host) });
    ev.push({ atMs: back, what: `restart ${host}`, run: (sim) => sim.restart(host) });
  }
  // a crash during the restarted server's rejoin (drawn last: the plans of the events above
  // stay what they were)
  if (restarted !== undefined && r.next() < 0.3) {
    const host = restarted;
    const onInstall = r.next() < 0.5;
    const downMs = at(0.3, 2);
    const last = ev.find((e) => e.what === `restart ${host}`)!;
    ev.push({
      atMs: last.atMs, what: onInstall ? `crash ${host} again at its rejoin's Install` : `crash the server handing ${host}'s id back at the Handover`,
      run: (sim) => crashAtRejoin(sim, onInstall ? 'Install' : 'Handover', onInstall ? host : undefined, downMs),
    });
  }
  // a false suspicion: a server cut off from the controller for longer than failAfterMs, alive
  // all along, is failed over, retires and rejoins (drawn last, as above). In the rack of the
  // crashed server if there is one: the chain keeps a copy of each index per rack, and a
  // failover of one index in both racks at once would have no copy to take over from.
  let faultyRack = restarted !== undefined ? t.serverHosts.findIndex((hs) => hs.includes(restarted!)) : undefined;
  if (r.next() < 0.3) {
    const rack = faultyRack ?? r.int(t.racks);
    faultyRack = rack;
    const host = t.serverHosts[rack]![r.int(t.serverHosts[0]!.length)]!;
    const when = at(0.3, 3);
    const back = when + at(10, 16);
    ev.push({ atMs: when, what: `cut ${host} off from the controller`, run: (sim) => sim.cut(t.controller.host, host) });
    ev.push({ atMs: back, what: `reconnect ${host}`, run: (sim) => sim.heal(t.controller.host, host) });
  }
  // a switch taken for failed while alive: cut off from the controller for longer than
  // rackFailAfterMs, its rack leaves the chain (once its servers' leases ran out) and joins it
  // again once reconnected (drawn last, as above; the rack of the server faults above, for the
  // same reason)
  if (r.next() < 0.15) {
    faultyRack ??= r.int(t.racks);
    const host = t.switchHosts[faultyRack]!;
    const when = at(0.3, 3);
    ev.push({ atMs: when, what: `cut ${host} off from the controller`, run: (sim) => sim.cut(t.controller.host, host) });
    // Longer than rackFailAfterMs after a controller pause too (which starts its clocks afresh).
    ev.push({ atMs: when + at(62, 80), what: `reconnect ${host}`, run: (sim) => sim.heal(t.controller.host, host) });
  }
  // a paused server (its messages and timers wait): past failAfterMs it is failed over, and its
  // backlog meets an expired lease; then it retires and rejoins. And a paused controller. (Drawn
  // last, as above; the server in the rack of the faults above.)
  if (r.next() < 0.2) {
    faultyRack ??= r.int(t.racks);
    const host = t.serverHosts[faultyRack]![r.int(t.serverHosts[0]!.length)]!;
    const when = at(0.3, 3);
    const ms = at(4, 16);
    ev.push({ atMs: when, what: `pause ${host} for ${ms.toFixed(1)} ms`, run: (sim) => sim.pause(host, ms) });
  }
  if (r.next() < 0.1) {
    const when = at(0.3, 3);
    const ms = at(4, 16);
    ev.push({ atMs: when, what: `pause the controller for ${ms.toFixed(1)} ms`, run: (sim) => sim.pause(t.controller.host, ms) });
  }
  // a switch down for longer than rackFailAfterMs: its rack leaves the chain, and joins it again
  // once the switch has restarted (empty, epoch 0). In the rack of the faults above. (Drawn last.)
  if (r.next() < 0.1 && !ev.some((e) => e.what.startsWith('crash tor'))) {
    // (Not with a switch restart above, which would end it early.)
    faultyRack ??= r.int(t.racks);
    const host = t.switchHosts[faultyRack]!;
    const when = at(0.3, 3);
    ev.push({ atMs: when, what: `crash ${host} for good`, run: (sim) => sim.crash(host) });
    ev.push({ atMs: when + at(62, 80), what: `restart ${host} after its rack left`, run: (sim) => sim.restart(host) });
  }
  // the controller's messages (both ways) delayed at random by up to CONTROL_DELAY_MS each, so
  // that they overtake one another and their own resends (drawn last, as above)
  if (r.next() < CONTROL_DELAY_P) ev.push(delayControl(seed, t.controller.host, '$pegasus-control-delays'));
  return ev.sort((a, b) => a.atMs - b.atMs);
}

/** The share of seeds whose controller's messages are delayed at random, and by how much at most. */
const CONTROL_DELAY_P = 0.2;
const CONTROL_DELAY_MS = 0.5;

/**
 * From the start, every message to or from the controller's host delayed by up to
 * CONTROL_DELAY_MS at random (drawn from its own stream of the seed), so that its requests
 * overtake one another and their own resends.
 */
function delayControl(seed: number, ctrl: string, stream: string): PegasusPlanEvent {
  const delays = seededRandom(seed, stream);
  return {
    atMs: 0, what: `delay the controller's messages by up to ${CONTROL_DELAY_MS} ms`,
    run: (sim) => { sim.network.addFilter((env, info) => (info.fromHost === ctrl || info.toHost === ctrl ? { delayMs: delays.next() * CONTROL_DELAY_MS } : 'deliver')); },
  };
}

/**
 * Crash the host that the first `type` message goes to (`host` only, if given), dropping it,
 * and restart the host `downMs` later: a crash in the middle of a rejoin.
 */
function crashAtRejoin(sim: SimRuntime, type: 'Install' | 'Handover', host: string | undefined, downMs: number): void {
  const stop = sim.network.addFilter((env, info) => {
    if (env.msg.type !== type || (host !== undefined && info.toHost !== host)) return 'deliver';
    stop();
    const victim = info.toHost;
    sim.crash(victim);
    sim.scheduler.schedule(downMs, () => sim.restart(victim));
    return 'drop';
  });
}

/** Virtual time a restarted server may take to rejoin once the load is done. */
const REJOIN_WITHIN_MS = 100;
/** While a rack joins: an operation every this often, at most this many. */
const JOIN_LOAD_GAP_MS = 0.01;
const JOIN_LOAD_MAX = 300;

/**
 * After the load of a seed whose plan restarted a server, cut one off or cut a switch off: wait
 * until the servers rejoined (the plan's restart is its only one, and its Hello forces the
 * failover first; a cut-off one retires once it answers the pings again) unless their rack left
 * the chain, and every rack that left joined again. If the cut-off switch's rack joined, the
 * other rack then fails whole (switch and servers), so that the joined rack alone holds the
 * data. Then write and read every key, so that a rejoined server takes writes (head rack) or
 * reads (tail rack) and the history shows whether it lost any. Returns the operations added.
 */
function afterRejoin(sim: SimRuntime, t: ReturnType<typeof pegasusTopology>, plan: readonly PegasusPlanEvent[], violations: string[]): number {
  const c = (): Controller => sim.stateOf<Controller>(t.controller)!;
  const racksOf = (re: RegExp): number[] => plan.map((e) => re.exec(e.what)).filter((m) => m !== null).map((m) => Number(m.slice(1).find((g) => g !== undefined)));
  // A restarted server always rejoins (its Hello fails it over first); a paused or cut-off one
  // only if it was failed over (a controller pause may hide its silence): whole() covers it.
  const serverRacks = racksOf(/^restart r(\d+)s\d+$/);
  const switchRacks = [...new Set(racksOf(/^(?:reconnect tor(\d+)$|restart tor(\d+) after its rack left)/))];
  // Every server of every rack in the chain serves its own id again.
  const whole = (): boolean => c().chain.every((r) => c().serving[r]!.every((x, i) => x === i && !c().dead[r]![i]));
  const settled = (): boolean => {
    const ctl = c();
    // (A server restarted while its rack was out of the chain came back with the rack's join.)
    const rejoined = !serverRacks.some((r) => ctl.chain.includes(r)) || ctl.stats.rejoins >= 1 || ctl.stats.rackJoins >= 1;
    const racksBack = ctl.chain.length === t.racks && ctl.stats.rackJoins >= ctl.stats.rackFailures && ctl.stats.rackJoins >= switchRacks.length;
    return rejoined && racksBack && whole() && ctl.current === undefined;
  };
  // A rack joining again catches up under writes and reads: one every JOIN_LOAD_GAP_MS while
  // it joins (queued at the clients when their sessions are busy).
  let added = 0;
  const joining = (): boolean => c().current?.kind === 'join' || c().catchingUp !== undefined;
  if (switchRacks.length > 0 && sim.runUntil(() => joining() || settled(), REJOIN_WITHIN_MS)) {
    for (let k = 0; joining() && k < JOIN_LOAD_MAX; k++, added++) {
      sim.send(t.clients[k % CLIENTS]!, { type: 'LoadInvoke', op: k % 2 === 0 ? { op: 'put', key: `k${(k >> 1) % WORKLOAD.keys}`, value: '' } : { op: 'get', key: `k${(k >> 1) % WORKLOAD.keys}` } });
      sim.advance(JOIN_LOAD_GAP_MS);
    }
  }
  if (!sim.runUntil(settled, REJOIN_WITHIN_MS)) {
    violations.push(`the restarted or cut-off servers did not all rejoin, or a rack that left the chain did not join it again, within ${REJOIN_WITHIN_MS} ms of the load's end`);
  } else if (switchRacks.length > 0) {
    const others = c().chain.filter((r) => !switchRacks.includes(r));
    for (const r of others) for (const h of [t.switchHosts[r]!, ...t.serverHosts[r]!]) sim.crash(h);
    if (!sim.runUntil(() => others.every((r) => !c().chain.includes(r)) && c().current === undefined, REJOIN_WITHIN_MS)) {
      violations.push(`rack ${others.join(',')} (crashed whole after the cut-off switch's rack joined again) did not leave the chain within ${REJOIN_WITHIN_MS} ms`);
    }
  }
  for (let k = 0; k < WORKLOAD.keys; k++) {
    sim.send(t.clients[k % CLIENTS]!, { type: 'LoadInvoke', op: { op: 'put', key: `k${k}`, value: '' } });
    sim.send(t.clients[(k + 1) % CLIENTS]!, { type: 'LoadInvoke', op: { op: 'get', key: `k${k}` } });
  }
  return added + 2 * WORKLOAD.keys;
}

function checkLinearizable(history: KvHistory, violations: string[]): boolean | null {
  const res = checkHistory(kvModel(), history.history() as never, { maxSteps: CHECK_STEPS });
  if (res.verdict === 'not-linearizable') {
    violations.push((res.violation?.text ?? 'not linearizable').slice(0, 2000));
    return false;
  }
  return res.verdict === 'linearizable' ? true : null;
}

function finish(name: string, seed: number, total: number, sim: SimRuntime, done: () => number, history: KvHistory, violations: string[], t0: number, details: Record<string, unknown>): SimReport {
  const completed = done();
  if (completed < total) violations.push(`${total - completed} of ${total} operations never completed within ${MAX_MS} ms`);
  const linearizable = checkLinearizable(history, violations);
  return {
    scenario: name, seed, ops: total, completed, linearizable, violations, traceHash: sim.traceHash()!, virtualMs: round(sim.now()),
    wallMs: round(performance.now() - t0), details,
  };
}

/** Run a topology of load clients until every operation completes (or MAX_MS passes), with the plan's events scheduled first. */
function runLoadClients(t: { topology: Topology; clients: readonly ActorRef<never>[] }, run: ScenarioRun, total: number, plan: readonly PegasusPlanEvent[] = []) {
  const t0 = performance.now();
  const sim = runSim(t.topology, simOptions(run));
  for (const e of plan) sim.scheduler.schedule(e.atMs, () => e.run(sim));
  const all = CLIENTS * Math.ceil(total / CLIENTS);
  const done = (): number => t.clients.reduce((n, c) => n + (sim.stateOf<LoadState>(c)?.completed ?? 0), 0);
  sim.runUntil(() => done() >= all, MAX_MS);
  return { t0, sim, all, done };
}

export const kvScenarios: Record<string, Scenario> = {
  pegasus: {
    description: 'Pegasus on a 2-rack chain (4 servers each), 3 clients, a skewed read/write workload, with drops, reordering, a server crash and restart (then its rejoin, and a write and a read of every key), a server cut off from the controller or paused (failed over while alive: it retires and rejoins), a switch cut off from the controller (its rack leaves the chain and joins it again once reconnected; then the other rack fails whole, and the joined one holds every write alone), a paused controller, a switch restart (or a switch down long enough for its rack to leave, then restarted: the rack joins again), rkey churn and the controller\'s messages delayed (overtaking their own resends) drawn from the seed',
    defaultOps: 120,
    randomFaults: kvNetworkFaults,
    planEvents: (run) => planEventsOfKv(pegasusPlan(run.seed, pegasusWorld(run).t)),
    run(opts) {
      const { seed, ops } = opts;
      const withPlan = opts.plan !== false;
      const total = ops ?? 120;
      const { history, invariants, stats, t } = pegasusWorld(opts);
      const t0 = performance.now();
      const sim = runSim(t.topology, simOptions(opts));
      const plan = withPlan ? keptEvents(pegasusPlan(seed, t), opts.events, kvGroupOf) : [];
      for (const e of plan) {
        sim.advance(Math.max(0, e.atMs - sim.now()));
        e.run(sim);
      }
      let all = CLIENTS * Math.ceil(total / CLIENTS);
      const done = (): number => t.clients.reduce((n, c) => n + (sim.stateOf<{ load: LoadState }>(c)?.load.completed ?? 0), 0);
      sim.runUntil(() => done() >= all, MAX_MS);
      const violations: string[] = [];
      if (plan.some((e) => /^(restart|reconnect|pause) (r\d+s\d+|tor\d+)/.test(e.what)) && done() >= all) {
        all += afterRejoin(sim, t, plan, violations);
        sim.runUntil(() => done() >= all, MAX_MS);
      }
      violations.unshift(...invariants.violations);
      const c = sim.stateOf<Controller>(t.controller);
      const serverParts = t.servers.flat().reduce((n, s) => n + (sim.stateOf<PegasusServerState>(s)?.transferParts ?? 0), 0);
      const report = finish('pegasus', seed, all, sim, done, history, violations, t0, {
        plan: plan.map((e) => `${e.atMs.toFixed(2)}ms ${e.what}`), retries: stats.retries, readsChecked: invariants.checked,
        controller: c ? { ...c.stats, rkeys: [...c.rkeys.keys()], chain: c.chain } : null, serverTransferParts: serverParts,
      });
      // A failing seed also shows what the controller did, and what it waits for (`sim --json`).
      if (report.violations.length > 0 && c) {
        const srv = (r: number, i: number): PegasusServerState | undefined => sim.stateOf<PegasusServerState>(t.servers[r]![i]!);
        Object.assign(report.details, {
          controllerLog: c.log, controllerWaiting: c.current && { op: c.current.kind, step: c.current.step, pending: [...c.current.pending.keys()] },
          // Each server's view and what it refused, and each client's chain: where a stuck operation stalls.
          servers: Object.fromEntries(t.serverHosts.flatMap((hs, r) => hs.map((h, i) => {
            const x = srv(r, i);
            return [h, x && { inc: x.inc, chain: x.chain, retired: x.retired, joining: x.joining, recovering: x.recovering !== undefined, dropped: x.dropped }];
          }))),
          clientChains: t.clients.map((cl) => sim.stateOf<PegasusClientState>(cl)?.chain),
        });
      }
      return report;
    },
  },
  netcache: {
    description: 'NetCache in one rack (4 servers), 3 clients, a skewed read/write workload under drops and reordering, in half the seeds each a controller crash and restart and a switch crash and restart, and in a fifth the controller\'s messages delayed (overtaking their own resends)',
    defaultOps: 120,
    randomFaults: kvNetworkFaults,
    planEvents: ({ seed }) => planEventsOfKv(netcachePlan(seed)),
    run(opts) {
      const { seed, ops } = opts;
      const total = ops ?? 120;
      const history = new KvHistory();
      const stats = new LoadStats();
      const t = netcacheTopology({
        servers: 4, clients: CLIENTS, sessions: SESSIONS, opsPerClient: Math.ceil(total / CLIENTS), workload: WORKLOAD, history, stats,
        timeoutMs: 1, startDelayMs: 0.1, link: kvLink(opts),
        cache: { cacheSize: 4, sketchWidth: 256, bloomWidth: 1024 }, controller: { threshold: 2, epochMs: 1 },
      });
      const plan = opts.plan !== false ? keptEvents(netcachePlan(seed), opts.events, kvGroupOf) : [];
      const { t0, sim, all, done } = runLoadClients(t, opts, total, plan);
      const c = sim.stateOf<NetCacheControllerState>(t.controller);
      return finish('netcache', seed, all, sim, done, history, [], t0, {
        plan: plan.map((e) => `${e.atMs.toFixed(2)}ms ${e.what}`),
        retries: stats.retries, cache: c ? { inserted: c.inserted, evicted: c.evicted, reports: c.reports } : null,
      });
    },
  },
  'kv-hash': {
    description: 'consistent hashing without replication in one rack (4 servers), 3 clients, under drops and reordering',
    defaultOps: 120,
    randomFaults: kvNetworkFaults,
    run(opts) {
      const { seed, ops } = opts;
      const total = ops ?? 120;
      const history = new KvHistory();
      const stats = new LoadStats();
      const t = kvHashTopology({
        servers: 4, clients: CLIENTS, sessions: SESSIONS, opsPerClient: Math.ceil(total / CLIENTS), workload: WORKLOAD, history, stats,
        timeoutMs: 1, link: kvLink(opts),
      });
      const { t0, sim, all, done } = runLoadClients(t, opts, total);
      return finish('kv-hash', seed, all, sim, done, history, [], t0, { retries: stats.retries });
    },
  },
};
