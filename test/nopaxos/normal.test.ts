// The normal case and gap agreement, scenario by scenario as in the reference suite (nopaxos/tests/nopaxos-test.cc): exact packets are dropped, then the replicas' logs are compared.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertLinearizable, assertLogsAgree, assertPrefixesAgree, dropRandomly, dropRequests, noops, world } from './helpers.ts';

describe('NOPaxos normal case', () => {
  it('OneOp', () => {
    // Goal: one request reaches every replica in slot 1, only the leader executes it, the client gets the leader's result.
    const w = world({ clients: 1, opsPerClient: 1 });
    w.runUntilDone(100);
    w.rt.advance(50);
    assert.equal(w.history.completed, 1);
    for (let i = 0; i < 5; i++) {
      const r = w.replica(i);
      assert.equal(r.lastOp, 1);
      assert.equal(r.log[0]!.state, 'received');
      assert.equal(r.app.lastExecuted, i === 0 ? 1 : 0, `only the leader executes (replica ${i})`);
    }
    assertLogsAgree(w, 1);
  });

  it('ManyOps', () => {
    // Goal: ten requests in a row land in slots 1..10 at every replica, in order, executed by the leader alone.
    const w = world({ clients: 1, opsPerClient: 10 });
    w.runUntilDone(100);
    w.rt.advance(10);
    assertLogsAgree(w, 10);
    assert.equal(w.replica(0).app.lastExecuted, 10);
    for (let i = 1; i < 5; i++) assert.equal(w.replica(i).app.lastExecuted, 0);
    assert.deepEqual(noops(w.replica(0)), []);
  });
});

describe('NOPaxos gap agreement', () => {
  it('ReplicaGap', () => {
    // Goal: requests lost on the way to non-leader replicas are fetched from the leader (GapRequest), so no slot becomes a NO-OP.
    const w = world({ clients: 2, opsPerClient: 6 });
    w.rt.network.addFilter(dropRequests(['r1', 'r2', 'r3', 'r4'], [3, 5, 8]));
    w.runUntilDone(100);
    w.rt.advance(20);
    assertLogsAgree(w, 12);
    for (let i = 0; i < 5; i++) assert.deepEqual(noops(w.replica(i)), []);
    assert.equal(w.replica(0).app.lastExecuted, 12);
    assert.ok(w.replica(1).stats.gapRequests > 0);
  });

  it('LeaderGap', () => {
    // Goal: requests lost on the way to the leader are found at the other replicas, with no gap agreement.
    const w = world({ clients: 2, opsPerClient: 6 });
    w.rt.network.addFilter(dropRequests(['r0'], [3, 5, 8]));
    w.runUntilDone(100);
    w.rt.advance(20);
    assertLogsAgree(w, 12);
    assert.deepEqual(noops(w.replica(0)), []);
    assert.equal(w.replica(0).stats.gapCommits, 0);
    assert.equal(w.replica(0).app.lastExecuted, 12);
  });

  it('LeaderReplicaGap', () => {
    // Goal: the same requests lost at the leader and one replica are still found at the others.
    const w = world({ clients: 4, opsPerClient: 4 });
    w.rt.network.addFilter(dropRequests(['r0', 'r1'], [5, 6, 10]));
    w.runUntilDone(100);
    w.rt.advance(20);
    assertLogsAgree(w, 16);
    for (let i = 0; i < 5; i++) assert.deepEqual(noops(w.replica(i)), []);
  });

  it('ReplicaGapBurst', () => {
    // Goal: a follower that loses several requests in a row under load asks for the later ones ahead, from the other followers (not the leader), while its log waits for the first; every lost request is found, none becomes a NO-OP.
    const w = world({ clients: 16, opsPerClient: 20 });
    w.rt.network.addFilter(dropRequests(['r1'], [40, 41, 42, 43]));
    const askedOf = new Map<string, number>();
    w.rt.network.addFilter((env, info) => {
      if (env.msg.type === 'GapRequest' && info.fromHost === 'r1') askedOf.set(info.toHost, (askedOf.get(info.toHost) ?? 0) + 1);
      return 'deliver';
    });
    w.runUntilDone(200);
    w.rt.advance(20);
    assertLogsAgree(w, 320);
    for (let i = 0; i < 5; i++) assert.deepEqual(noops(w.replica(i)), []);
    assert.equal(w.replica(1).stats.gapPrefetches, 3, 'the three holes behind the first are asked for ahead');
    const ofFollowers = ['r2', 'r3', 'r4'].reduce((n, h) => n + (askedOf.get(h) ?? 0), 0);
    assert.equal(ofFollowers, 3, `asked of the other followers: ${JSON.stringify([...askedOf])}`);
  });

  it('RandomGapUnderLoad', () => {
    // Goal: with many clients, requests and gap messages lost at random, holes are asked for ahead and answered by peers, and still every operation completes, the logs agree and the history is linearizable.
    let prefetched = 0;
    for (const seed of [21, 22]) {
      const w = world({ clients: 24, opsPerClient: 25, seed });
      w.rt.network.addFilter(dropRandomly(seed, 20, (env) => env.msg.type === 'Request'));
      w.rt.network.addFilter(dropRandomly(seed + 7, 5, (env) => env.msg.type === 'GapRequest' || env.msg.type === 'GapReply'));
      w.runUntilDone(3000);
      w.rt.advance(100);
      assertPrefixesAgree(w);
      assertLinearizable(w);
      prefetched += w.replicas().reduce((n, r) => n + (r?.stats.gapPrefetches ?? 0), 0);
    }
    assert.ok(prefetched > 0, 'some holes were asked for ahead');
  });

  it('CommittedGap', () => {
    // Goal: requests lost at every replica become NO-OPs by gap agreement, and the clients' retries complete.
    const w = world({ clients: 4, opsPerClient: 4 });
    w.rt.network.addFilter(dropRequests(['r0', 'r1', 'r2', 'r3', 'r4'], [5, 10]));
    w.runUntilDone(500);
    w.rt.advance(20);
    assertLogsAgree(w, 18);
    for (let i = 0; i < 5; i++) assert.equal(noops(w.replica(i)).length, 2, `replica ${i} has two NO-OPs`);
    assert.equal(w.replica(0).app.lastExecuted, 18);
    assert.equal(w.replica(0).app.executedCount, 16);
  });
});
