// Gap agreement under lost protocol messages, synchronization, view change and session change, scenario by scenario as in the reference suite: exact packets are dropped, then the replicas' logs are compared.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertLogsAgree, assertPrefixesAgree, dropRandomly, dropRequests, dropType, noops, world } from './helpers.ts';

const followers = ['r1', 'r2', 'r3', 'r4'];
const all = ['r0', ...followers];

describe('NOPaxos gap agreement with lost protocol messages', () => {
  it('ReplicaGapRequestTimeout', () => {
    // Goal: with requests to followers and their GapRequests lost at random, followers keep asking until the leader answers; no gap is ever committed.
    for (const seed of [1, 2, 3]) {
      const w = world({ clients: 4, opsPerClient: 4, seed });
      w.rt.network.addFilter(dropRandomly(seed, 4, (env, info) => env.msg.type === 'Request' && followers.includes(info.toHost)));
      w.rt.network.addFilter(dropRandomly(seed + 100, 2, (env, info) => env.msg.type === 'GapRequest' && info.toHost === 'r0'));
      w.runUntilDone(500);
      w.rt.advance(100);
      assert.ok(w.replica(0).lastOp >= 16);
      for (let i = 0; i < 5; i++) assert.deepEqual(noops(w.replica(i)), [], `seed ${seed}: replica ${i} has no NO-OP`);
      // A follower that lost the last requests learns of them only from later traffic or the next sync.
      assertPrefixesAgree(w);
      assert.equal(w.replica(0).app.executedCount, 16);
    }
  });

  it('LeaderGapRequestTimeout', () => {
    // Goal: requests lost at the leader, whose GapRequests to the others are all lost too, become NO-OPs after the gap request timeout; the followers overwrite what they had.
    const w = world({ clients: 4, opsPerClient: 4 });
    w.rt.network.addFilter(dropRequests(['r0'], [5, 10]));
    w.rt.network.addFilter(dropType('GapRequest', 'r0'));
    w.runUntilDone(500);
    w.rt.advance(50);
    for (let i = 0; i < 5; i++) {
      assert.equal(w.replica(i).lastOp, 18, `replica ${i} log length`);
      assert.equal(noops(w.replica(i)).length, 2, `replica ${i} has two NO-OPs`);
    }
    assertLogsAgree(w, 18);
    assert.equal(w.replica(0).app.executedCount, 16);
  });

  it('GapCommitTimeout', () => {
    // Goal: the leader resends GapCommit until f replicas acknowledge it, though the first GapCommits and later replies are lost.
    const w = world({ clients: 4, opsPerClient: 4 });
    w.rt.network.addFilter(dropRequests(['r0', 'r1'], [5, 10]));
    w.rt.network.addFilter(dropType('GapRequest', 'r0'));
    w.rt.network.addFilter(dropType('GapCommit', 'r0', undefined, [1, 4]));
    w.rt.network.addFilter(dropType('GapCommitReply', undefined, undefined, [5, 8]));
    w.runUntilDone(800);
    w.rt.advance(100);
    assertLogsAgree(w, 18);
    for (let i = 0; i < 5; i++) assert.equal(noops(w.replica(i)).length, 2, `replica ${i} has two NO-OPs`);
    assert.equal(w.replica(0).app.executedCount, 16);
  });

  it('RandomGap', () => {
    // Goal: with requests and gap messages lost at random, every operation completes and the logs agree, whatever mix of fetches and NO-OPs results.
    for (const seed of [11, 12, 13, 14]) {
      const w = world({ clients: 4, opsPerClient: 4, seed });
      w.rt.network.addFilter(dropRandomly(seed, 4, (env, info) => env.msg.type === 'Request' && all.includes(info.toHost)));
      w.rt.network.addFilter(dropRandomly(seed + 7, 3, (env) => env.msg.type === 'GapRequest' || env.msg.type === 'GapReply'));
      w.runUntilDone(800);
      w.rt.advance(200);
      assertPrefixesAgree(w);
      assert.equal(w.replica(0).app.executedCount, 16, `seed ${seed}`);
    }
  });
});

describe('NOPaxos synchronization, view change, session change', () => {
  it('Synchronization', () => {
    // Goal: followers that missed a GapCommit get the NO-OP from the leader's SyncPrepare, and after synchronization every replica has executed every operation.
    const w = world({ clients: 4, opsPerClient: 4 });
    w.rt.network.addFilter(dropRequests(['r0'], [5, 10]));
    w.rt.network.addFilter(dropType('GapRequest', 'r0'));
    w.rt.network.addFilter(dropType('GapCommit', 'r0', ['r1', 'r2']));
    w.runUntilDone(500);
    w.rt.advance(2000);
    for (let i = 0; i < 5; i++) {
      const r = w.replica(i);
      assert.equal(r.lastOp, 18);
      assert.equal(r.lastCommittedOp, 18, `replica ${i} committed everything`);
      assert.equal(r.app.executedCount, 16, `replica ${i} executed every operation`);
      assert.equal(noops(r).length, 2);
    }
    assertLogsAgree(w, 18);
  });

  it('ViewChange', () => {
    // Goal: followers that hear no SyncPrepare suspect the leader and move to view 1, whose leader merges the logs (NO-OPs included); clients finish in the new view and every replica executes everything.
    const w = world({ clients: 4, opsPerClient: 4 });
    w.rt.network.addFilter(dropRequests(['r0'], [5, 10]));
    w.rt.network.addFilter(dropType('GapRequest', 'r0'));
    w.rt.network.addFilter(dropType('GapCommit', 'r0', ['r1', 'r2']));
    w.rt.network.addFilter(dropType('SyncPrepare', 'r0'));
    w.runUntilDone(500);
    // The clients send their last 4 operations each at 2500 ms, in the second view.
    w.rt.advance(2500 - w.rt.now());
    assert.equal(w.replica(1).view, 1, 'the followers moved to view 1');
    invokeMore(w, 4);
    assert.ok(w.rt.runUntil(() => w.completed() >= 32, 1000), `completed ${w.completed()} of 32`);
    w.rt.advance(1500);
    for (let i = 0; i < 5; i++) {
      const r = w.replica(i);
      assert.equal(r.view, 1, `replica ${i} is in view 1`);
      assert.equal(r.status, 'normal');
      assert.equal(r.app.executedCount, 32, `replica ${i} executed every operation`);
      assert.equal(noops(r).length, 2);
    }
    assertLogsAgree(w, 34, 1);
  });

  it('SessionChange', () => {
    // Goal: a new OUM session (the controller's sessionChange) makes every replica report SESSION-TERMINATED and change view into the new session; operations before and after complete and the logs agree.
    const w = world({ clients: 4, opsPerClient: 2 });
    w.rt.network.addFilter(dropRequests(['r0'], [5, 10]));
    w.rt.network.addFilter(dropType('GapRequest', 'r0'));
    w.rt.network.addFilter(dropType('GapCommit', 'r0', ['r1', 'r2']));
    // Two operations each, the sequencer's session changes at 500 ms, six more each at 800 ms.
    w.runUntilDone(400);
    w.rt.advance(500 - w.rt.now());
    w.topo.sessionChange(w.rt);
    w.rt.advance(300);
    invokeMore(w, 6);
    assert.ok(w.rt.runUntil(() => w.completed() >= 32, 1000), `completed ${w.completed()} of 32`);
    w.rt.advance(2000);
    for (let i = 0; i < 5; i++) {
      const r = w.replica(i);
      assert.equal(r.sessNum, 1, `replica ${i} is in session 1`);
      assert.equal(r.view, 0, 'the leader stays');
      assert.equal(r.app.executedCount, 32, `replica ${i} executed every operation`);
      assert.equal(noops(r).length, 2);
    }
    assertLogsAgree(w, 34);
  });
});

/** Ask every client for `k` more operations (puts to distinct keys). */
function invokeMore(w: ReturnType<typeof world>, k: number): void {
  w.topo.clients.forEach((c, i) => {
    for (let j = 0; j < k; j++) w.rt.send(c, { type: 'Invoke', op: { op: 'append', key: `x${i}`, value: `${j};` } });
  });
}
