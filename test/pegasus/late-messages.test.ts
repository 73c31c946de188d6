// Two Pegasus bugs found by a hunt that delayed and duplicated messages (by up to 200 ms), which
// the sweep's plans do not: each rebuilt here by hand in the sweep's two-rack topology.
//  - A restarted server started with no round floor, so a copy of a controller request meant for
//    its earlier incarnation, held up in the network, was taken once it had rejoined: a Recover
//    started a recovery of a round its sources had moved past (its id stuck for good), an
//    RkeyPrepare of a key removed since made it drop the key's writes for good. The floor is now
//    the rejoin's round.
//  - A late copy of a client's write, carried out already at an rkey's write target, reached the
//    key's home after the key's removal and ran again there, with the newest version: the home
//    had no client-table entry of that session past it (a server keeps a session's latest
//    request only, and the removal moved only entries naming the key). Adds and removals now
//    move every session's entry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim, type SimRuntime } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import type { KvOp } from '../../apps/kv/kv.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import { kvModel } from '../../apps/linearizability/models.ts';
import type { Controller } from '../../apps/pegasus/controller.ts';
import { PegasusInvariants } from '../../apps/pegasus/invariants.ts';
import type { Pegasus } from '../../apps/pegasus/messages.ts';
import { writeTarget } from '../../apps/pegasus/switch-program.ts';
import { pegasusTopology } from '../../apps/pegasus/topology.ts';
import type { LoadState } from '../../apps/workload/client.ts';
import type { Envelope } from '../../transport/types.ts';

const KEYS = 6;
const SERVERS = 4;

function world(clients: number, opsPerClient: number) {
  const history = new KvHistory();
  const invariants = new PegasusInvariants();
  const t = pegasusTopology({
    racks: 2, servers: SERVERS, clients, sessions: clients === 3 ? 2 : 1, opsPerClient,
    workload: { keys: KEYS, zipf: 0.9, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } },
    history, invariants, timeoutMs: 1, startDelayMs: 0.1, link: { latencyMs: 0.005, bandwidthMbps: 10_000 },
    controller: { autoRkeys: false, defaultRf: 3 }, transferBytes: 128,
  });
  const sim = runSim(t.topology, { seed: 1, logLevel: 'silent' });
  const done = (): number => t.clients.reduce((n, cl) => n + (sim.stateOf<{ load: LoadState }>(cl)?.load.completed ?? 0), 0);
  return {
    t, sim, done,
    controller: (): Controller => sim.stateOf<Controller>(t.controller)!,
    assertLinearizable(): void {
      const res = checkHistory(kvModel(), history.history() as never, { maxSteps: 2_000_000 });
      assert.equal(res.verdict, 'linearizable', res.violation?.text);
      assert.deepEqual(invariants.violations, []);
    },
  };
}

/** Send `env` again from its sender's endpoint, marked so that the filters let it through. */
function resend(sim: SimRuntime, env: Envelope, from: string, replayed: WeakSet<Envelope>): void {
  replayed.add(env);
  sim.network.endpoint(from).send(env);
}

describe('pegasus: late and duplicated messages', () => {
  for (const held of ['Recover', 'RkeyPrepare'] as const) {
    it(`a restarted server refuses a late ${held} meant for its incarnation before`, () => {
      const w = world(3, 40);
      const victim = 'r1s2';
      let copy: Envelope | undefined;
      let releasedAt: number | undefined;
      const replayed = new WeakSet<Envelope>();
      w.sim.network.addFilter((env, info) => {
        if (replayed.has(env)) return 'deliver';
        const m = env.msg as { type: string; incarnation?: number };
        // A copy of the first such request to the victim's first incarnation is held.
        if (copy === undefined && info.toHost === victim && m.type === held) copy = env;
        // Once the restarted victim serves again, the copy arrives 0.5 ms later.
        if (copy !== undefined && releasedAt === undefined && info.toHost === victim && m.type === 'Serve' && (m.incarnation ?? 0) > 0) {
          releasedAt = info.nowMs + 0.5;
          const c = copy;
          w.sim.scheduler.schedule(0.5, () => resend(w.sim, c, 'ctrl', replayed));
        }
        return 'deliver';
      });
      if (held === 'Recover') {
        // r1s1 crashes for good; its failover sends r1s2 a Recover; then r1s2 crashes and rejoins.
        w.sim.scheduler.schedule(1, () => w.sim.crash('r1s1'));
        w.sim.scheduler.schedule(12, () => w.sim.crash(victim));
        w.sim.scheduler.schedule(13, () => w.sim.restart(victim));
      } else {
        // k0 is added (RkeyPrepare to every server) and removed; then r1s2 crashes and rejoins.
        w.sim.scheduler.schedule(0.5, () => w.t.addRkeys(w.sim, ['k0']));
        w.sim.scheduler.schedule(3, () => w.t.removeRkeys(w.sim, ['k0']));
        w.sim.scheduler.schedule(5, () => w.sim.crash(victim));
        w.sim.scheduler.schedule(6, () => w.sim.restart(victim));
      }
      assert.ok(w.sim.runUntil(() => w.done() >= 120, 3000), `the load completed (${w.done()} of 120)`);
      assert.ok(w.sim.runUntil(() => releasedAt !== undefined && w.sim.now() > releasedAt + 0.1 && w.controller().current === undefined, 200),
        `the victim rejoined and the late copy arrived (log: ${w.controller().log.join(' | ')})`);
      // Every key written and read once more: the victim's ids must serve.
      for (let k = 0; k < KEYS; k++) {
        w.sim.send(w.t.clients[k % 3]!, { type: 'LoadInvoke', op: { op: 'put', key: `k${k}`, value: '' } });
        w.sim.send(w.t.clients[(k + 1) % 3]!, { type: 'LoadInvoke', op: { op: 'get', key: `k${k}` } });
      }
      assert.ok(w.sim.runUntil(() => w.done() >= 120 + 2 * KEYS, 500), `every key was written and read after the late copy (${w.done() - 120} of ${2 * KEYS})`);
      w.assertLinearizable();
    });
  }

  it('a late copy of a write carried out at an rkey\'s write target does not run again at the home after the key\'s removal', () => {
    const w = world(2, 0);
    const HOME = 2; // the home index of k0, k1 and k4
    let invoked = 0;
    let nextReq = 1; // c0's next request id (session 0)
    const run = (client: number, op: KvOp): void => {
      w.sim.send(w.t.clients[client]!, { type: 'LoadInvoke', op });
      invoked++;
      if (client === 0) nextReq++;
      assert.ok(w.sim.runUntil(() => w.done() >= invoked, 50), `${JSON.stringify(op)} of c${client} completed`);
    };
    const idle = (): boolean => w.controller().current === undefined && w.controller().queue.length === 0;
    let holding = false;
    let copy: Envelope | undefined;
    const replayed = new WeakSet<Envelope>();
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as Pegasus;
      if (!replayed.has(env) && holding && copy === undefined && m.type === 'Pegasus' && m.op === 'PUT' && info.fromHost === 'c0') copy = env;
      return 'deliver';
    });
    w.sim.advance(0.3);
    w.t.addRkeys(w.sim, ['k0', 'k1', 'k4']);
    assert.ok(w.sim.runUntil(() => w.controller().rkeys.has('k4') && idle(), 50));
    w.sim.advance(1); // the new rkeys' pushes
    // c0 puts k4 = A at a write target other than the home; a copy of the PUT is held.
    while (writeTarget(0, 0, nextReq, SERVERS) === HOME) run(0, { op: 'get', key: 'k5' });
    const target = writeTarget(0, 0, nextReq, SERVERS);
    holding = true;
    run(0, { op: 'put', key: 'k4', value: 'A' });
    holding = false;
    assert.ok(copy !== undefined, 'a copy of the write was held');
    // c0's next write lands at that target too, so the target's entry of c0's session names
    // another key: k5's home is 0, k2's 1; else rkey k0, once c0's request id hashes there.
    if (target === 0) run(0, { op: 'put', key: 'k5', value: 'x' });
    else if (target === 1) run(0, { op: 'put', key: 'k2', value: 'x' });
    else {
      while (writeTarget(0, 0, nextReq, SERVERS) !== target) run(0, { op: 'get', key: 'k5' });
      run(0, { op: 'put', key: 'k0', value: 'x' });
    }
    run(1, { op: 'put', key: 'k4', value: 'B' });
    w.t.removeRkeys(w.sim, ['k4']);
    assert.ok(w.sim.runUntil(() => !w.controller().rkeys.has('k4') && idle(), 50), 'k4 was removed');
    // The held copy arrives: k4 is no longer an rkey, so it goes to the home.
    resend(w.sim, copy, 'c0', replayed);
    w.sim.advance(1);
    run(1, { op: 'get', key: 'k4' });
    w.assertLinearizable();
  });
});
