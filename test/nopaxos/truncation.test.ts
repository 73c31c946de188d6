// NOPaxos log truncation (replica.ts, "checkpoints and log truncation"): replicas discard the
// committed log behind a checkpoint, keeping a tail; a replica that needs what the others
// discarded gets a snapshot. Every run checks the invariants after each step (which compare the
// slots the logs still hold and the checkpoints' states), and the faulty runs check the clients'
// history for linearizability.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import type { NopaxosClientState } from '../../apps/nopaxos/client.ts';
import { NopaxosInvariants } from '../../apps/nopaxos/invariants.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosTopology } from '../../apps/nopaxos/topology.ts';
import { assertLinearizable, assertLogsAgree, assertStatesAgree, dropRandomly, world, type World } from './helpers.ts';

/** Small tail and frequent syncs, so that short runs truncate many times. */
const SMALL = { logTail: 20, timeouts: { syncMs: 20 } } as const;

/** Run until every live replica has truncated past `slot`. */
function untilTruncatedPast(w: World, slot: number, withinMs: number): void {
  const ok = w.rt.runUntil(() => w.replicas().every((r) => r === undefined || r.logBase > slot), withinMs);
  assert.ok(ok, `log bases ${w.replicas().map((r) => r?.logBase).join(', ')} did not pass slot ${slot} within ${withinMs} ms`);
}

/** The requests each client had acknowledged so far: client id -> its highest completed request number (they count from 1). */
function acknowledged(w: World): Map<string, number> {
  const acks = new Map<string, number>();
  w.topo.clients.forEach((c) => {
    const s = w.rt.stateOf<NopaxosClientState>(c)!;
    acks.set(s.d.clientId, s.d.completed);
  });
  return acks;
}

describe('NOPaxos log truncation', () => {
  it('a long run keeps every replica\'s log bounded', () => {
    // Goal: over 200k operations at full load the logs (and the state machine's per-slot
    // records) stay within the tail plus about two sync periods, instead of growing with the run.
    // Without truncation every log ends at 204,800 slots. 3 replicas and no history, to keep it
    // short (it is still the longest NOPaxos test: the runtime takes ~1.7 M steps).
    const tail = 1000;
    const topo = nopaxosTopology({
      replicas: 3, clients: 32, opsPerClient: 6400, logTail: tail, timeouts: { syncMs: 10 }, workload: { keys: 50 }, controller: false,
    });
    const rt = runSim(topo.topology, { seed: 3, logLevel: 'silent', trace: false, network: { latencyMs: 0.05 } });
    const replicas = (): (NopaxosReplica | undefined)[] => topo.replicas.map((r) => rt.stateOf<NopaxosReplica>(r));
    const inv = new NopaxosInvariants(replicas);
    let maxLog = 0;
    let maxRecords = 0;
    rt.onStep(() => {
      inv.check();
      for (const r of replicas()) {
        if (r === undefined) continue;
        maxLog = Math.max(maxLog, r.log.length);
        maxRecords = Math.max(maxRecords, r.app.executedRequests.length, r.app.executions.size);
      }
    });
    const total = 32 * 6400;
    const completed = (): number => topo.clients.reduce((k, c) => k + (rt.stateOf<NopaxosClientState>(c)?.d.completed ?? 0), 0);
    assert.ok(rt.runUntil(() => completed() >= total, 10_000), `only ${completed()} of ${total} operations completed`);
    // At ~190 k ops/s a 10-ms sync period is ~1.9 k slots: the log holds the tail, the slots
    // committed since the checkpoint, and those not committed yet.
    const bound = 5000;
    assert.ok(maxLog <= bound, `a log reached ${maxLog} entries (bound ${bound})`);
    assert.ok(maxRecords <= bound, `the state machine kept ${maxRecords} per-slot records (bound ${bound})`);
    for (const r of replicas()) {
      assert.ok(r!.logBase > total - bound, `replica ${r!.idx} truncated only up to ${r!.logBase} of ${r!.lastOp}`);
      assert.ok(r!.stats.truncations > 50, `replica ${r!.idx} truncated ${r!.stats.truncations} times`);
    }
  });

  it('a replica restarted after the others truncated recovers from a snapshot', () => {
    // Goal: a follower crashes; by the time it restarts (empty), every other log starts far past
    // slot 1, so Recovery copies the leader's checkpoint and the log after it.
    const w = world({ clients: 3, opsPerClient: 250, thinkMs: 1, seed: 11, ...SMALL });
    w.rt.runUntil(() => w.completed() >= 60, 2000);
    w.rt.crash('r3');
    const crashedAt = w.replica(0).lastOp;
    untilTruncatedPast(w, crashedAt + 50, 3000);
    w.rt.restart('r3');
    assert.ok(w.rt.runUntil(() => w.replica(3).status === 'normal', 1000), 'the follower recovers');
    const r3 = w.replica(3);
    assert.ok(r3.stats.snapshotsInstalled >= 1, 'it installed a snapshot');
    assert.ok(r3.logBase > crashedAt, `its log starts after slot ${r3.logBase}`);
    w.runUntilDone(5000);
    w.rt.advance(200);
    assertLogsAgree(w, w.replica(0).lastOp);
    assertStatesAgree(w);
    assertLinearizable(w);
  });

  it('a view change after truncation keeps every acknowledged write', () => {
    // Goal: the next leader (r1) misses the syncs for a while and holds a request in a slot the
    // others committed as a NO-OP (only r1 got the request, and its answers to the GapRequests
    // and the GapCommit to it are lost); the others truncate past that slot, so no gap list
    // names it any more. Then the leader crashes. The new leader must take a snapshot before it
    // merges (startCatchUp): merging its own log as is would put the request back in a
    // committed NO-OP's slot (the invariant checker fails the run), and lose nothing acknowledged.
    const w = world({ clients: 3, opsPerClient: 300, thinkMs: 1, seed: 12, ...SMALL });
    w.rt.runUntil(() => w.completed() >= 100, 2000);
    const r0 = w.replica(0);
    const lostMsgNum = r0.receiver.nextMsgNum + 3;
    const session = r0.sessNum;
    let cutR1 = true;
    w.rt.network.addFilter((env, info) => {
      const m = env.msg as { type: string; oum?: { sessionNum: number; msgNum: number } };
      if (m.type === 'Request' && info.toHost !== 'r1' && m.oum?.msgNum === lostMsgNum && m.oum.sessionNum === session) return 'drop';
      if (!cutR1) return 'deliver';
      if (info.toHost === 'r1' && (m.type === 'SyncPrepare' || m.type === 'SyncCommit' || m.type === 'GapCommit')) return 'drop';
      return info.fromHost === 'r1' && m.type === 'GapReply' ? 'drop' : 'deliver';
    });
    assert.ok(w.rt.runUntil(() => r0.stats.gapCommits >= 1, 200), 'the leader committed a NO-OP for the request only r1 has');
    const gap = r0.lastOp;
    assert.equal(r0.entry(gap)?.state, 'noop');
    w.rt.runUntil(() => w.replica(1).lastOp >= gap, 100);
    assert.equal(w.replica(1).entry(gap)?.state, 'received', 'r1 holds the request in the NO-OP\'s slot');
    w.rt.runUntil(() => [0, 2, 3, 4].every((i) => w.replica(i).logBase > gap + 20), 400);
    assert.ok([0, 2, 3, 4].every((i) => w.replica(i).logBase > gap), 'the others truncated past the NO-OP');
    assert.ok(w.replica(1).lastCommittedOp < gap, 'r1 has not committed it');
    const acks = acknowledged(w);
    w.rt.crash('r0');
    cutR1 = false;
    w.runUntilDone(8000);
    w.rt.advance(300);
    const leader = w.replica(1);
    assert.ok(leader.amLeader() && leader.status === 'normal', 'r1 leads the new view');
    assert.ok(leader.stats.snapshotsInstalled >= 1, 'the new leader caught up from a snapshot');
    for (const [client, reqId] of acks) {
      const e = leader.app.clients.get(client);
      assert.ok(e !== undefined && e.reqId >= reqId, `client ${client}: request ${reqId} was acknowledged before the crash, the new leader executed up to ${e?.reqId}`);
    }
    assertLogsAgree(w, leader.lastOp, 1);
    assertStatesAgree(w, 1);
    assertLinearizable(w);
  });

  it('a snapshot bigger than one reply comes in parts, some lost on the way', () => {
    // Goal: with 2 items per state-transfer reply (as for UDP between machines) a checkpoint of
    // 20 keys and 3 clients goes in 12 parts; a restarted replica assembles them, although 5 %
    // of all messages are lost (a lost part costs a new round), and recovers.
    const w = world({ clients: 3, opsPerClient: 250, thinkMs: 1, seed: 14, maxTransferOps: 2, workload: { keys: 20 }, ...SMALL });
    w.rt.runUntil(() => w.completed() >= 60, 2000);
    w.rt.crash('r2');
    untilTruncatedPast(w, w.replica(0).lastOp + 50, 3000);
    const parts = new Set<number>();
    w.rt.network.addFilter((env) => {
      const m = env.msg as { type: string; parts?: number };
      if (m.type === 'StateTransferReply' && m.parts !== undefined) parts.add(m.parts);
      return 'deliver';
    });
    w.rt.network.addFilter(dropRandomly(14, 20, () => true));
    w.rt.restart('r2');
    assert.ok(w.rt.runUntil(() => w.replica(2).status === 'normal', 3000), 'the replica recovers');
    assert.ok(w.replica(2).stats.snapshotsInstalled >= 1, 'it installed a snapshot');
    assert.ok([...parts].some((n) => n >= 10), `the snapshot came in parts (${[...parts].join(', ')})`);
    w.runUntilDone(10_000);
    w.rt.advance(300);
    assertLogsAgree(w, w.replica(0).lastOp);
    assertStatesAgree(w);
    assertLinearizable(w);
  });

  it('a lagging follower whose missing entries the others truncated catches up by snapshot', () => {
    // Goal: a follower cut off for a while (less than the leader-suspicion timeout) comes back
    // behind every other log's base: its GapRequests cannot be answered from a log, the leader
    // points it at its sync point and the state transfer brings the checkpoint.
    const w = world({ clients: 3, opsPerClient: 250, thinkMs: 1, seed: 13, ...SMALL });
    w.rt.runUntil(() => w.completed() >= 60, 2000);
    w.rt.isolate('r4');
    const behind = w.replica(4).lastOp;
    w.rt.runUntil(() => [0, 1, 2, 3].every((i) => w.replica(i).logBase > behind + 50), 1000);
    assert.ok(w.replica(0).logBase > behind, 'the others truncated past the follower\'s log');
    w.rt.heal();
    assert.ok(w.rt.runUntil(() => w.replica(4).lastCommittedOp > w.replica(0).logBase, 1000), 'the follower catches up');
    const r4 = w.replica(4);
    assert.ok(r4.stats.snapshotsInstalled >= 1, 'it installed a snapshot');
    assert.equal(r4.stats.viewChanges, 0, 'without a view change');
    w.runUntilDone(5000);
    w.rt.advance(200);
    assertLogsAgree(w, w.replica(0).lastOp);
    assertStatesAgree(w);
    assertLinearizable(w);
  });
});
