// NOPaxos under failures the reference suite does not cover: a crashed or partitioned leader, replicas that crash and recover with no state, duplicated packets, and a sequencer that fails under load. Every run checks the invariants after each step, the logs of the replicas, and the clients' history for linearizability.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NopaxosClientState } from '../../apps/nopaxos/client.ts';
import { SEQUENCER_FAIL_AFTER_MS, type ControllerState } from '../../apps/nopaxos/controller.ts';
import { oneSequencerPerSession } from '../../apps/nopaxos/scenario.ts';
import type { HostSequencerState } from '../../apps/oum/host-sequencer.ts';
import { assertLinearizable, assertLogsAgree, assertPrefixesAgree, world } from './helpers.ts';

describe('NOPaxos failures', () => {
  it('LeaderCrash', () => {
    // Goal: when the leader's host crashes, the followers stop hearing SyncPrepare, elect the next leader by a view change, and the clients finish there.
    const w = world({ clients: 3, opsPerClient: 30, seed: 5 });
    w.rt.runUntil(() => w.completed() >= 30, 500);
    w.rt.crash('r0');
    w.runUntilDone(5000);
    w.rt.advance(1500);
    for (let i = 1; i < 5; i++) {
      assert.equal(w.replica(i).view, 1, `replica ${i} is in view 1`);
      assert.equal(w.replica(i).status, 'normal');
    }
    assertLogsAgree(w, w.replica(1).lastOp, 1);
    assertLinearizable(w);
  });

  it('ReplicaCrashRecovery', () => {
    // Goal: a follower and then the leader crash and restart with empty state; each recovers (Recovery with a nonce, f+1 answers including the leader's, a copy of its log) before taking part again, and ends with the same log as the others.
    const w = world({ clients: 3, opsPerClient: 80, seed: 6 });
    w.rt.runUntil(() => w.completed() >= 30, 500);
    w.rt.crash('r3');
    w.rt.runUntil(() => w.completed() >= 60, 500);
    w.rt.restart('r3');
    assert.equal(w.replica(3).status, 'recovering');
    assert.ok(w.rt.runUntil(() => w.replica(3).status === 'normal', 500), 'the follower recovers');
    assert.equal(w.replica(3).stats.recoveries >= 1, true);
    w.rt.runUntil(() => w.completed() >= 120, 500);
    // Now the leader: its Recovery tells the others their leader lost its state.
    w.rt.crash('r0');
    w.rt.advance(5);
    w.rt.restart('r0');
    assert.ok(w.rt.runUntil(() => w.replica(0).status === 'normal', 1000), 'the old leader recovers');
    assert.equal(w.replica(0).view, 1, 'it recovered into the new view');
    w.runUntilDone(3000);
    w.rt.advance(2500);
    for (let i = 0; i < 5; i++) assert.equal(w.replica(i).status, 'normal');
    assertLogsAgree(w, w.replica(1).lastOp, 1);
    for (let i = 0; i < 5; i++) assert.equal(w.replica(i).lastCommittedOp, w.replica(1).lastOp, `replica ${i} committed the whole log`);
    assertLinearizable(w);
  });

  it('PartitionedLeader', () => {
    // Goal: a leader cut off from the other replicas keeps executing requests that can never commit; the others move to view 1 without it, and when the partition heals it rolls back what it executed ahead and adopts the new view's log.
    const w = world({ clients: 3, opsPerClient: 40, seed: 7 });
    w.rt.runUntil(() => w.completed() >= 15, 500);
    for (const r of ['r1', 'r2', 'r3', 'r4']) w.rt.cut('r0', r);
    // For a while the followers lose the requests too: only the old leader has (and executes) them.
    const until = w.rt.now() + 20;
    const stop = w.rt.network.addFilter((env, info) => (env.msg.type === 'Request' && info.toHost !== 'r0' && info.nowMs < until ? 'drop' : 'deliver'));
    w.rt.advance(3000);
    stop();
    assert.equal(w.replica(1).view, 1, 'the followers moved on');
    w.rt.heal();
    w.runUntilDone(3000);
    w.rt.advance(2500);
    assert.equal(w.replica(0).view, 1, 'the old leader joined the new view');
    assert.ok(w.replica(0).stats.rollbacks > 0, 'the old leader rolled back what it executed ahead of commit');
    assertLogsAgree(w, w.replica(1).lastOp, 1);
    assertLinearizable(w);
  });

  it('DuplicatedPackets', () => {
    // Goal: with every packet possibly delivered twice (and reordered by jitter), each request still executes at most once and the logs agree.
    const w = world({ clients: 4, opsPerClient: 40, seed: 8, network: { latencyMs: 0.05, jitterMs: 0.05, duplicateRate: 0.3 } });
    w.runUntilDone(3000);
    w.rt.advance(2500);
    assertLogsAgree(w, w.replica(0).lastOp);
    for (let i = 0; i < 5; i++) assert.equal(w.replica(i).app.maxExecutions, 1);
    // A second execution throws in the state machine (at-most-once violated): no actor may have failed.
    assert.deepEqual(w.rt.system.failureLog.map((f) => String(f.error)), []);
    assertLinearizable(w);
  });

  it('PausedController', () => {
    // Goal: a controller paused for longer than its failure timeout, whose sequencer's answers
    // are read only after its overdue probe (as a stopped process does), does not take its own
    // pause for the sequencer's silence: no new session, and the workload completes.
    const w = world({ clients: 4, opsPerClient: 150, seed: 9 });
    w.rt.runUntil(() => w.completed() >= 100, 1000);
    const ctrlHost = w.topo.controller!.host;
    const resumeAt = w.rt.now() + 50;
    w.rt.network.addFilter((env, info) => (info.toHost === ctrlHost && env.msg.type === 'OumPong' && w.rt.now() < resumeAt
      ? { delayMs: resumeAt - w.rt.now() + 0.5 } : 'deliver'));
    w.rt.pause(ctrlHost, 50);
    w.rt.advance(80);
    w.runUntilDone(5000);
    const ctrl = w.rt.stateOf<ControllerState>(w.topo.controller!)!;
    assert.deepEqual(ctrl.events, [], 'no failover, no session change');
    assertLinearizable(w);
  });

  it('SequencerFailoverUnderLoad', () => {
    // Goal: when the sequencer's host fails under load, the controller notices within its probe timeout, starts session 1 on the standby and reroutes the clients; the replicas change session and requests flow again within 150 ms.
    const w = world({ clients: 4, opsPerClient: 150, seed: 9 });
    w.rt.runUntil(() => w.completed() >= 100, 1000);
    const failedAt = w.rt.now();
    const before = w.completed();
    w.rt.crash('seq0');
    assert.ok(w.rt.runUntil(() => w.completed() > before + 4, 1000), 'requests flow again');
    const resumeMs = w.rt.now() - failedAt;
    assert.ok(resumeMs <= 150, `resumed after ${resumeMs} ms`);
    w.runUntilDone(5000);
    w.rt.advance(2500);
    const ctrl = w.rt.stateOf<ControllerState>(w.topo.controller!)!;
    assert.equal(ctrl.events.length, 1);
    assert.deepEqual([ctrl.events[0]!.kind, ctrl.events[0]!.sequencer, ctrl.events[0]!.sessionNum], ['failover', 1, 1]);
    for (let i = 0; i < 5; i++) assert.equal(w.replica(i).sessNum, 1, `replica ${i} is in session 1`);
    const retries = w.topo.clients.reduce((n, c) => n + w.rt.stateOf<NopaxosClientState>(c)!.resent, 0);
    assert.ok(retries > 0, 'clients resent on the new route');
    assertLogsAgree(w, w.replica(0).lastOp);
    assertPrefixesAgree(w);
    assertLinearizable(w);
  });

  it('RestartedController', () => {
    // Goal: a controller that restarts after a failover (it lost which sequencer is active and
    // which sessions were used) asks a majority of the replicas for the highest session reserved,
    // finds the standby stamping in it and adopts it, with no new session; a later session
    // change then takes the next number.
    const w = world({ clients: 4, opsPerClient: 150, seed: 11 });
    w.rt.onStep(oneSequencerPerSession(w.rt, w.topo.sequencers));
    w.rt.runUntil(() => w.completed() >= 60, 1000);
    w.topo.failover(w.rt);
    w.rt.runUntil(() => w.completed() >= 100, 1000);
    const viewChanges = w.replica(1).stats.viewChanges;
    w.rt.crash('ctrl');
    w.rt.advance(5);
    w.rt.restart('ctrl');
    const events = (): number => w.rt.stateOf<ControllerState>(w.topo.controller!)?.events.length ?? 0;
    assert.ok(w.rt.runUntil(() => events() === 1, 100), 'the restarted controller takes a sequencer');
    w.rt.runUntil(() => w.completed() >= 140, 1000);
    assert.equal(w.replica(1).stats.viewChanges, viewChanges, 'no view change for the restart');
    w.topo.sessionChange(w.rt);
    w.runUntilDone(5000);
    w.rt.advance(2500);
    const ctrl = w.rt.stateOf<ControllerState>(w.topo.controller!)!;
    assert.deepEqual(ctrl.events.map((e) => [e.kind, e.sequencer, e.sessionNum]), [['controller-restarted', 1, 1], ['session-change', 1, 2]]);
    for (let i = 0; i < 5; i++) assert.equal(w.replica(i).sessNum, 2, `replica ${i} is in session 2`);
    assertLogsAgree(w, w.replica(0).lastOp);
    assertLinearizable(w);
  });

  it('RestartedControllerSlowToReachTheSequencer', () => {
    // Goal: a restarted controller whose first answers from the active sequencer take longer
    // than a few probes (a fresh process connecting over a busy machine) still adopts it, with
    // no new session, since the sequencer answered within the failure-detection time.
    const w = world({ clients: 4, opsPerClient: 120, seed: 14 });
    w.rt.onStep(oneSequencerPerSession(w.rt, w.topo.sequencers));
    w.rt.runUntil(() => w.completed() >= 60, 1000);
    const viewChanges = w.replica(1).stats.viewChanges;
    w.rt.crash('ctrl');
    w.rt.advance(5);
    // The sequencer's pongs take 15 ms: three probes, within the 20 ms failure time.
    const slow = w.rt.network.addFilter((env) => (env.msg.type === 'OumPong' ? { delayMs: 15 } : 'deliver'));
    w.rt.restart('ctrl');
    const ctrl = (): ControllerState | undefined => w.rt.stateOf<ControllerState>(w.topo.controller!);
    assert.ok(w.rt.runUntil(() => (ctrl()?.events.length ?? 0) === 1, 100), 'the restarted controller takes a sequencer');
    slow();
    assert.deepEqual(ctrl()!.events.map((e) => [e.kind, e.sequencer, e.sessionNum]), [['controller-restarted', 0, 0]]);
    w.runUntilDone(5000);
    assert.equal(w.replica(1).stats.viewChanges, viewChanges, 'no view change for the restart');
    assertLinearizable(w);
  });

  it('ControllerCrashRightAfterInstall', () => {
    // Goal: the controller installs session 1 on the standby and crashes; the standby crashes
    // too before any replica saw session 1. The restarted controller still does not use session
    // 1 again: the replicas had reserved it before it was installed.
    const w = world({ clients: 4, opsPerClient: 100, seed: 12 });
    w.rt.onStep(oneSequencerPerSession(w.rt, w.topo.sequencers));
    w.rt.runUntil(() => w.completed() >= 60, 1000);
    w.rt.network.addFilter((env, info) => (info.fromHost === 'seq1' ? 'drop' : 'deliver'));
    w.topo.failover(w.rt);
    const seq1 = (): HostSequencerState | undefined => w.rt.stateOf<HostSequencerState>(w.topo.sequencers[1]!);
    assert.ok(w.rt.runUntil(() => seq1()?.sessionNum === 1, 50), 'the standby took session 1');
    w.rt.crash('ctrl');
    w.rt.crash('seq1');
    for (let i = 0; i < 5; i++) assert.equal(w.replica(i).sessNum, 0, `replica ${i} never saw session 1`);
    w.rt.advance(5);
    w.rt.restart('ctrl');
    w.runUntilDone(5000);
    const ctrl = w.rt.stateOf<ControllerState>(w.topo.controller!)!;
    assert.deepEqual(ctrl.events.map((e) => [e.kind, e.sequencer, e.sessionNum]), [['controller-restarted', 0, 2]]);
    assertLinearizable(w);
  });

  it('RestartedControllerFindsEverySequencerElsewhere', () => {
    // Goal: session 1 was reserved and installed on the standby, which restarted (losing it)
    // while the controller was down; when both sequencers answer in other sessions, the
    // restarted controller installs session 2 at once rather than wait out the failure time.
    const w = world({ clients: 4, opsPerClient: 100, seed: 15 });
    w.rt.onStep(oneSequencerPerSession(w.rt, w.topo.sequencers));
    w.rt.runUntil(() => w.completed() >= 60, 1000);
    const cut = w.rt.network.addFilter((env, info) => (info.fromHost === 'seq1' ? 'drop' : 'deliver'));
    w.topo.failover(w.rt);
    const seq1 = (): HostSequencerState | undefined => w.rt.stateOf<HostSequencerState>(w.topo.sequencers[1]!);
    assert.ok(w.rt.runUntil(() => seq1()?.sessionNum === 1, 50), 'the standby took session 1');
    w.rt.crash('ctrl');
    w.rt.crash('seq1');
    cut();
    w.rt.advance(5);
    w.rt.restart('seq1');
    const restartedAt = w.rt.now();
    w.rt.restart('ctrl');
    w.runUntilDone(5000);
    const ctrl = w.rt.stateOf<ControllerState>(w.topo.controller!)!;
    assert.deepEqual(ctrl.events.map((e) => [e.kind, e.sessionNum]), [['controller-restarted', 2]]);
    const tookMs = ctrl.events[0]!.atMs - restartedAt;
    assert.ok(tookMs < SEQUENCER_FAIL_AFTER_MS, `installed after ${tookMs} ms, not at once`);
    assertLinearizable(w);
  });

  it('ReservationSurvivesReplicaRecovery', () => {
    // Goal: a replica that recovers takes the highest reservation of the f+1 that answer it, so
    // the reservation stays on a majority: with 3 replicas, session 1 is reserved while r2 is
    // down (at r0 and r1 only) and installed on the standby, which crashes (with the controller)
    // before any replica saw it; r2 recovers (from r0 and r1), r0 crashes and recovers (from r1
    // and r2), r1 crashes, and the restarted controller, hearing only r0 and r2, goes past session 1.
    const w = world({ replicas: 3, clients: 2, opsPerClient: 200, seed: 13 });
    w.rt.onStep(oneSequencerPerSession(w.rt, w.topo.sequencers));
    w.rt.runUntil(() => w.completed() >= 40, 1000);
    w.rt.crash('r2');
    w.rt.network.addFilter((env, info) => (info.fromHost === 'seq1' ? 'drop' : 'deliver'));
    w.topo.failover(w.rt);
    const seq1 = (): HostSequencerState | undefined => w.rt.stateOf<HostSequencerState>(w.topo.sequencers[1]!);
    assert.ok(w.rt.runUntil(() => seq1()?.sessionNum === 1, 50), 'the standby took session 1');
    assert.deepEqual([w.replica(0).reservedSession, w.replica(1).reservedSession], [1, 1]);
    w.rt.crash('ctrl');
    w.rt.crash('seq1');
    w.rt.restart('r2');
    assert.ok(w.rt.runUntil(() => w.replica(2).status === 'normal', 1000), 'r2 recovers');
    w.rt.crash('r0');
    w.rt.advance(5);
    w.rt.restart('r0');
    assert.ok(w.rt.runUntil(() => w.replica(0).status === 'normal', 1000), 'r0 recovers');
    assert.deepEqual([w.replica(0).sessNum, w.replica(2).sessNum], [0, 0], 'no replica saw session 1');
    assert.deepEqual([w.replica(0).reservedSession, w.replica(2).reservedSession], [1, 1], 'both took the reservation from their RecoveryResponses');
    w.rt.crash('r1');
    w.rt.restart('ctrl');
    assert.ok(w.rt.runUntil(() => (w.rt.stateOf<ControllerState>(w.topo.controller!)?.events.length ?? 0) > 0, 200));
    const ctrl = w.rt.stateOf<ControllerState>(w.topo.controller!)!;
    assert.deepEqual(ctrl.events.map((e) => [e.kind, e.sequencer, e.sessionNum]), [['controller-restarted', 0, 2]]);
    w.rt.restart('r1');
    w.runUntilDone(5000);
    assertLinearizable(w);
  });
});
