// Multi-Paxos with a stable leader: requests commit after f followers accept them, followers execute what is committed, lost and duplicated messages are repaired, and batching puts many requests in one slot; every history is linearizable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import { KvHistory } from '../../apps/history/history.ts';
import type { ClientState } from '../../apps/paxos/client.ts';
import type { PaxosReplica } from '../../apps/paxos/replica.ts';
import { paxosTopology, type PaxosOptions } from '../../apps/paxos/topology.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import { kvModel } from '../../apps/linearizability/models.ts';

function world(opts: PaxosOptions & { seed?: number; network?: LinkOptions }) {
  const history = new KvHistory();
  const topo = paxosTopology({ history, ...opts });
  const rt = runSim(topo.topology, { seed: opts.seed ?? 1, logLevel: 'silent', network: { latencyMs: 0.05, ...opts.network } });
  const replica = (i: number) => rt.stateOf<PaxosReplica>(topo.replicas[i]!)!;
  const completed = () => topo.clients.reduce((n, c) => n + rt.stateOf<ClientState>(c)!.d.completed, 0);
  const total = (opts.clients ?? 1) * (opts.opsPerClient ?? 0);
  const runUntilDone = (ms: number) => assert.ok(rt.runUntil(() => completed() >= total, ms), `${completed()} of ${total} completed`);
  const linearizable = () => {
    const res = checkHistory(kvModel(), history.history() as never, { maxSteps: 5_000_000 });
    assert.equal(res.verdict, 'linearizable', res.violation?.text ?? '');
  };
  /** Every replica executed the same slots into the same state. */
  const agree = () => {
    const leader = replica(0);
    for (let i = 1; i < topo.replicas.length; i++) {
      const r = replica(i);
      assert.equal(r.executedOp, leader.executedOp, `replica ${i} executed as far as the leader`);
      assert.deepEqual([...r.app.data].sort(), [...leader.app.data].sort(), `replica ${i} has the leader's state`);
      for (let op = 1; op <= leader.executedOp; op++) {
        assert.deepEqual(r.log.get(op)!.map((q) => `${q.clientId}#${q.clientReqId}`), leader.log.get(op)!.map((q) => `${q.clientId}#${q.clientReqId}`));
      }
    }
  };
  return { topo, rt, replica, completed, runUntilDone, linearizable, agree, history };
}

describe('Multi-Paxos', () => {
  it('OneOp', () => {
    // Goal: one request is prepared in slot 1, committed with f PrepareOKs, executed by the leader and answered.
    const w = world({ clients: 1, opsPerClient: 1 });
    w.runUntilDone(10);
    assert.equal(w.replica(0).commitNum, 1);
    assert.equal(w.replica(0).app.executedCount, 1);
    w.rt.advance(100);
    w.agree();
  });

  it('ManyOps', () => {
    // Goal: many clients' requests commit in one order that every follower executes once the commit point reaches them.
    const w = world({ clients: 4, opsPerClient: 25 });
    w.runUntilDone(1000);
    w.rt.advance(100);
    assert.equal(w.replica(0).app.executedCount, 100);
    w.agree();
    w.linearizable();
  });

  it('LossyNetwork', () => {
    // Goal: with 10% of messages lost and 10% duplicated, resent Prepares and client retries still commit everything exactly once.
    const w = world({ clients: 4, opsPerClient: 25, seed: 3, network: { latencyMs: 0.05, jitterMs: 0.05, dropRate: 0.1, duplicateRate: 0.1 } });
    w.runUntilDone(20_000);
    w.rt.network.setDefaults({ dropRate: 0, duplicateRate: 0 });
    w.rt.advance(500);
    assert.equal(w.replica(0).app.executedCount, 100);
    for (let i = 0; i < 5; i++) assert.equal(w.replica(i).app.maxExecutions, 1);
    // A second execution throws in the state machine (at-most-once violated): no actor may have failed.
    assert.deepEqual(w.rt.system.failureLog.map((f) => String(f.error)), []);
    w.agree();
    w.linearizable();
  });

  it('Batching', () => {
    // Goal: with batching, a loaded leader puts many requests in one slot, so it needs far fewer Prepares than requests.
    const w = world({ clients: 16, opsPerClient: 20, batchSize: 16 });
    w.runUntilDone(2000);
    w.rt.advance(100);
    const leader = w.replica(0);
    assert.equal(leader.app.executedCount, 320);
    assert.ok(leader.prepares < 320 / 2, `${leader.prepares} Prepares for 320 requests`);
    w.agree();
    w.linearizable();
  });
});
