// NOPaxos with a standby switch (apps/nopaxos/switch-standby.ts), in sim: the active switch
// host crashes while clients run; the controller installs a higher session on the standby
// switch and routes the clients there, the replicas change view, every client finishes, the
// invariants hold at every step and the history is linearizable. A switch that restarts has no
// session until the controller gives it one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import type { History } from '../../apps/linearizability/history.ts';
import { kvModel, type KvInput, type KvOutput } from '../../apps/linearizability/models.ts';
import type { NopaxosClientState } from '../../apps/nopaxos/client.ts';
import type { ControllerState } from '../../apps/nopaxos/controller.ts';
import { NopaxosInvariants } from '../../apps/nopaxos/invariants.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosStandbyTopology, SWITCH_CPU_PATH } from '../../apps/nopaxos/switch-standby.ts';
import { SWITCH_INITIAL_SESSION } from '../../apps/nopaxos/switch-topology.ts';
import type { OumControllerState } from '../../switch-model/index.ts';

function run(seed: number) {
  const history = new KvHistory();
  const t = nopaxosStandbyTopology({ replicas: 3, clients: 3, opsPerClient: 150, thinkMs: 0.2, history, controller: { probeIntervalMs: 1, failAfterMs: 4 } });
  const rt = runSim(t.topology, { seed, logLevel: 'silent', network: { latencyMs: 0.05 } });
  const inv = new NopaxosInvariants(() => t.replicas.map((r) => rt.stateOf<NopaxosReplica>(r)));
  rt.onStep(() => inv.check());
  const completed = (): number => t.clients.reduce((n, c) => n + rt.stateOf<NopaxosClientState>(c)!.d.completed, 0);
  return { t, rt, history, completed };
}

describe('NOPaxos with a standby switch', () => {
  for (const seed of [1, 2]) {
    it(`fails over to the standby switch when the active one crashes (seed ${seed})`, () => {
      const w = run(seed);
      w.rt.advance(10);
      const before = w.completed();
      assert.ok(before > 0 && before < 450, `clients under way (${before})`);
      w.rt.crash('tor0');
      assert.ok(w.rt.runUntil(() => w.completed() >= 450, 3000), `${w.completed()} of 450 done`);
      w.rt.advance(50);
      const ctrl = w.rt.stateOf<ControllerState>(w.t.controller)!;
      assert.equal(ctrl.active, 1);
      assert.equal(ctrl.sessionNum, SWITCH_INITIAL_SESSION + 1);
      assert.deepEqual(ctrl.events.map((e) => e.kind), ['failover']);
      for (const r of w.t.replicas) {
        const s = w.rt.stateOf<NopaxosReplica>(r)!;
        assert.equal(s.sessNum, SWITCH_INITIAL_SESSION + 1);
        assert.equal(s.status, 'normal');
      }
      const res = checkHistory(kvModel(), w.history.history() as unknown as History<KvInput, KvOutput>, { maxSteps: 5_000_000 });
      assert.equal(res.verdict, 'linearizable', res.violation?.text ?? res.reason ?? '');

      // The crashed switch comes back with no session: it installs none of its own.
      w.rt.restart('tor0');
      w.rt.advance(5);
      assert.equal(w.rt.stateOf<OumControllerState>({ host: 'tor0', path: SWITCH_CPU_PATH })!.sessionNum, 0);
    });
  }
});
