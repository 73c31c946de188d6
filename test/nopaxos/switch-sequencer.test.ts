// NOPaxos sequenced by the in-switch OUM sequencer (apps/nopaxos/switch-topology.ts), as in the paper's main experiments: the group runs through the switch, survives lost packets on the switch's links by gap agreement, moves to a new session the switch's controller installs, and every history is linearizable with the invariants held at every step.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import type { History } from '../../apps/linearizability/history.ts';
import { kvModel, type KvInput, type KvOutput } from '../../apps/linearizability/models.ts';
import type { NopaxosClientState } from '../../apps/nopaxos/client.ts';
import { entryKey, NopaxosInvariants } from '../../apps/nopaxos/invariants.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosSwitchTopology, SWITCH_INITIAL_SESSION, type NopaxosSwitchOptions } from '../../apps/nopaxos/switch-topology.ts';

function run(opts: NopaxosSwitchOptions & { seed?: number }) {
  const history = new KvHistory();
  const t = nopaxosSwitchTopology({ replicas: 5, history, ...opts });
  const rt = runSim(t.topology, { seed: opts.seed ?? 1, logLevel: 'silent', network: { latencyMs: 0.05 } });
  const replicas = (): (NopaxosReplica | undefined)[] => t.replicas.map((r) => rt.stateOf<NopaxosReplica>(r));
  const inv = new NopaxosInvariants(replicas);
  rt.onStep(() => inv.check());
  const completed = (): number => t.clients.reduce((n, c) => n + rt.stateOf<NopaxosClientState>(c)!.d.completed, 0);
  const total = (opts.clients ?? 1) * (opts.opsPerClient ?? 0);
  return {
    t, rt, history, replicas, completed, total,
    runUntilDone(withinMs: number): void {
      assert.ok(rt.runUntil(() => completed() >= total, withinMs), `${completed()} of ${total} done within ${withinMs} ms`);
    },
    assertLinearizable(): void {
      const res = checkHistory(kvModel(), history.history() as unknown as History<KvInput, KvOutput>, { maxSteps: 5_000_000 });
      assert.equal(res.verdict, 'linearizable', res.violation?.text ?? res.reason ?? '');
    },
    assertLogsAgree(): void {
      const rs = replicas() as NopaxosReplica[];
      const upTo = Math.min(...rs.map((r) => r.lastOp));
      for (const r of rs) for (let op = 1; op <= upTo; op++) assert.equal(entryKey(r.log[op - 1]), entryKey(rs[0]!.log[op - 1]), `slot ${op} of replica ${r.idx}`);
    },
  };
}

describe('NOPaxos through the in-switch sequencer', () => {
  it('orders the requests of many clients on several machines', () => {
    // Goal: requests stamped by the switch reach every replica in one order, with no gaps.
    const w = run({ clients: 12, clientHosts: 4, opsPerClient: 30 });
    w.runUntilDone(200);
    w.rt.advance(20);
    const rs = w.replicas() as NopaxosReplica[];
    for (const r of rs) {
      assert.equal(r.sessNum, SWITCH_INITIAL_SESSION);
      assert.equal(r.lastOp, 360);
      assert.equal(r.log.filter((e) => e.state === 'noop').length, 0);
    }
    w.assertLogsAgree();
    w.assertLinearizable();
  });

  it('recovers lost stamped requests by gap agreement', () => {
    // Goal: with 3 % of the packets on the switch's links lost, every client still finishes and the logs agree.
    const w = run({ clients: 6, opsPerClient: 40, switchLink: { latencyMs: 0.025, dropRate: 0.03 } });
    w.runUntilDone(5000);
    w.rt.advance(2500);
    const rs = w.replicas() as NopaxosReplica[];
    assert.ok(rs.reduce((n, r) => n + r.stats.gapRequests, 0) > 0, 'some gaps were asked for');
    w.assertLogsAgree();
    w.assertLinearizable();
  });

  it('moves to a new session installed through the switch\'s controller', () => {
    // Goal: a session change on the switch (one register write) makes the replicas change view to session 2, and the clients carry on.
    const w = run({ clients: 4, opsPerClient: 60, thinkMs: 0.5 });
    w.rt.advance(10);
    const before = w.completed();
    assert.ok(before > 0 && before < w.total);
    w.t.sessionChange(w.rt, SWITCH_INITIAL_SESSION + 1);
    w.runUntilDone(2000);
    w.rt.advance(1200);
    for (const r of w.replicas() as NopaxosReplica[]) {
      assert.equal(r.sessNum, SWITCH_INITIAL_SESSION + 1);
      assert.equal(r.status, 'normal');
      assert.ok(r.stats.viewChanges >= 1);
    }
    w.assertLogsAgree();
    w.assertLinearizable();
  });
});
