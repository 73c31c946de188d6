// Every message that crosses hosts in a NOPaxos, Multi-Paxos or unreplicated run (recovery, failover and batching included) matches the schema its topology declares, so the same topology runs over the distributed transports, which refuse anything else; and the invariant checker does catch a violation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim, type SimRuntime, type Topology } from '../../actors/index.ts';
import type { PacketFilter } from '../../transport/memory/sim-network.ts';
import { NopaxosInvariants } from '../../apps/nopaxos/invariants.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosTopology } from '../../apps/nopaxos/topology.ts';
import { paxosTopology } from '../../apps/paxos/topology.ts';
import { unreplicatedTopology } from '../../apps/unreplicated/topology.ts';

function validating(t: Topology, problems: string[], seen: Set<string>): PacketFilter {
  return (env) => {
    seen.add(env.msg.type);
    const why = t.schemas.check(env.msg);
    if (why !== null && problems.length < 10) problems.push(why);
    return 'deliver';
  };
}

function run(t: Topology, drive: (rt: SimRuntime) => void): { problems: string[]; seen: Set<string> } {
  const rt = runSim(t, { seed: 2, logLevel: 'silent', network: { latencyMs: 0.05, dropRate: 0.02 } });
  const problems: string[] = [];
  const seen = new Set<string>();
  rt.network.addFilter(validating(t, problems, seen));
  drive(rt);
  return { problems, seen };
}

describe('message schemas', () => {
  it('NOPaxos messages match their schemas', () => {
    const topo = nopaxosTopology({ replicas: 3, clients: 2, opsPerClient: 100 });
    const { problems, seen } = run(topo.topology, (rt) => {
      rt.advance(20);
      rt.crash('r0');
      rt.advance(50);
      rt.restart('r0');
      rt.crash('seq0');
      rt.advance(3000);
    });
    assert.deepEqual(problems, []);
    for (const t of ['Request', 'Reply', 'ViewChange', 'StartView', 'Recovery', 'RecoveryResponse', 'StateTransferReply', 'SyncPrepare', 'OumRoute', 'OumPing']) {
      assert.ok(seen.has(t), `the run sent ${t}`);
    }
  });

  it('Multi-Paxos and unreplicated messages match their schemas', () => {
    const p = paxosTopology({ replicas: 3, clients: 8, opsPerClient: 20, batchSize: 4 });
    const u = unreplicatedTopology({ clients: 2, opsPerClient: 20 });
    for (const t of [p.topology, u.topology]) {
      const { problems } = run(t, (rt) => rt.advance(2000));
      assert.deepEqual(problems, []);
    }
  });
});

describe('invariant checker', () => {
  it('catches replicas that disagree on a committed slot, and execution that does not match the log', () => {
    const topo = nopaxosTopology({ replicas: 3, clients: 1, opsPerClient: 5 });
    const rt = runSim(topo.topology, { seed: 1, logLevel: 'silent' });
    rt.advance(1500);
    const rs = topo.replicas.map((r) => rt.stateOf<NopaxosReplica>(r)!);
    assert.equal(rs[1]!.lastCommittedOp, 5);
    const inv = new NopaxosInvariants(() => rs);
    inv.check();
    // Tamper with a committed slot at one replica: another replica committed something else there.
    const e = rs[2]!.log[2]!;
    rs[2]!.log[2] = { ...e, state: 'noop' };
    rs[2]!.logVersion++;
    const fresh = new NopaxosInvariants(() => rs);
    assert.throws(() => fresh.check(), /committed slot 3 holds NOOP, another replica committed|executed .* but the log now holds NOOP/);
  });
});
