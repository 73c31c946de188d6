// StaleViewChangeAfterRecovery: replicas keep no disk, so one that crashes forgets that it voted to
// leave its view. Here r2 votes for view 1 (its ViewChange late on the way), crashes, recovers
// into view 0 (the others are still there) and acknowledges operations with the leader r0. When
// r2's old vote reaches r1, the leader of view 1, it must not count: merged with r1's own log,
// which missed those operations (r1 is cut off), it would start view 1 without them. The new
// leader counts a vote only once its sender confirms that it is still the life that cast it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { checkKvHistory, failureViolations, guarded } from '../../apps/kv/fault-run.ts';
import type { NopaxosClientState } from '../../apps/nopaxos/client.ts';
import { NopaxosInvariants } from '../../apps/nopaxos/invariants.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosTopology } from '../../apps/nopaxos/topology.ts';

function staleVoteRun(crash: boolean): { violations: string[]; linearizable: boolean | null; view1: boolean } {
  const history = new KvHistory();
  const clients = 3;
  const perClient = 120;
  const topo = nopaxosTopology({ replicas: 3, clients, opsPerClient: perClient, history, thinkMs: 25, timeouts: { syncMs: 100 } });
  const rt = runSim(topo.topology, { seed: 1, logLevel: 'silent', network: { latencyMs: 0.05 } });
  const replicas = (): (NopaxosReplica | undefined)[] => topo.replicas.map((r) => rt.stateOf<NopaxosReplica>(r));
  const invariants = new NopaxosInvariants(replicas);
  rt.onStep(() => invariants.check());
  const violations: string[] = [];
  // r2 stops hearing the leader's syncs, so that it alone suspects r0 (at t = 2000) and votes for
  // view 1; its ViewChange and ViewChangeRequest of view 1 take 500 ms to arrive.
  let dropSyncToR2 = true;
  rt.network.addFilter((env, info) => {
    const m = env.msg as { type: string; view?: number };
    if (dropSyncToR2 && m.type === 'SyncPrepare' && info.fromHost === 'r0' && info.toHost === 'r2') return 'drop';
    if (info.fromHost === 'r2' && (m.type === 'ViewChange' || m.type === 'ViewChangeRequest') && m.view === 1 && info.nowMs < 2000.5) return { delayMs: 500 };
    return 'deliver';
  });
  const ran = guarded(violations, () => {
    rt.advance(1000.5);
    // r1 stays in view 0 with the log it has: cut off from the leader and the sequencers.
    rt.cut('r0', 'r1');
    for (const s of topo.hosts.sequencers) rt.cut(s, 'r1');
    rt.advance(2000.01 - rt.now());
    assert.equal(replicas()[2]?.status, 'viewChange', 'r2 voted for view 1 before its crash');
    dropSyncToR2 = false;
    if (crash) {
      rt.crash('r2');
      rt.advance(0.01);
      rt.restart('r2');
    }
    rt.advance(2000);
    rt.heal();
    const completed = (): number => topo.clients.reduce((k, c) => k + (rt.stateOf<NopaxosClientState>(c)?.d.completed ?? 0), 0);
    if (!rt.runUntil(() => completed() >= clients * perClient, 20_000)) violations.push(`${completed()} of ${clients * perClient} operations completed`);
    rt.advance(2500);
  });
  failureViolations(rt, violations);
  const linearizable = ran ? checkKvHistory(history, 10_000_000, violations) : null;
  return { violations, linearizable, view1: replicas().every((r) => r !== undefined && r.view >= 1) };
}

describe('NOPaxos view change after a recovery', () => {
  it('StaleViewChangeAfterRecovery: the vote of a replica\'s life before its crash does not count', () => {
    const r = staleVoteRun(true);
    assert.deepEqual(r.violations, []);
    assert.equal(r.linearizable, true);
    assert.ok(r.view1, 'the view change to view 1 happened');
  });
});
