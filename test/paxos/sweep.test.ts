// The Multi-Paxos sweep: seeds of `switchboard sweep paxos`, each with its seed's fault plan (drops, duplicates, reordering, partitions of followers and of the leader, follower crashes and restarts, bursts of lost messages of one type) and workload; every run must finish, keep the followers' committed slots equal to the leader's, give a linearizable history and replay to the same trace.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSweep } from '../../cli/commands/sweep.ts';
import { scenarios } from '../../cli/scenarios.ts';
import { checkPaxosLogs, randomPaxosFaultPlan } from '../../apps/paxos/scenario.ts';
import type { PaxosReplica } from '../../apps/paxos/replica.ts';

describe('Multi-Paxos sweep', () => {
  it('60 seeds with random fault plans', () => {
    const r = runSweep('paxos', scenarios['paxos']!, 1, 60, { recheckEvery: 20 });
    assert.deepEqual(r.failures, []);
  });

  it('plans never crash the leader, nor more than f followers', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const p = randomPaxosFaultPlan(seed);
      const crashed = new Set(p.events.filter((e) => e.kind === 'crash').map((e) => e.host));
      assert.ok(!crashed.has('r0'), `seed ${seed} crashes the leader`);
      assert.ok(crashed.size <= (p.replicas - 1) / 2, `seed ${seed} crashes ${crashed.size} followers of ${p.replicas}`);
    }
  });

  it('the log check catches a follower that committed something else', () => {
    const req = (id: number) => ({ type: 'Request' as const, op: { op: 'get' as const, key: 'k' }, clientId: 'c', clientReqId: id, client: { host: 'c0', path: 'x' } });
    const leader = { idx: 0, commitNum: 2, log: new Map([[1, [req(1)]], [2, [req(2)]]]) } as unknown as PaxosReplica;
    const good = { idx: 1, commitNum: 2, log: new Map([[1, [req(1)]], [2, [req(2)]]]) } as unknown as PaxosReplica;
    const bad = { idx: 2, commitNum: 2, log: new Map([[1, [req(1)]], [2, [req(3)]]]) } as unknown as PaxosReplica;
    checkPaxosLogs(leader, [good, undefined]);
    assert.throws(() => checkPaxosLogs(leader, [bad]), /replica 2 committed c#3 in slot 2/);
  });
});
