// SequencerRestartedIntoItsOldSession: a sequencer that restarts has forgotten its sessions, and a
// late copy of the start of the session it stamped in before (the network delays and duplicates
// control messages too) would have it number that session anew from 1: the same (session,
// msgNum) for two different messages. Session starts are meant for one life of a sequencer (its
// host's incarnation, from its pongs), and a pong of another life in the current session tells
// the controller that the sequencer restarted: either way the group moves to a new session.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { checkKvHistory, failureViolations, guarded } from '../../apps/kv/fault-run.ts';
import type { NopaxosClientState } from '../../apps/nopaxos/client.ts';
import type { ControllerState } from '../../apps/nopaxos/controller.ts';
import { NopaxosInvariants } from '../../apps/nopaxos/invariants.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosTopology } from '../../apps/nopaxos/topology.ts';
import type { OumStartSession } from '../../apps/oum/messages.ts';

function run(lateCopy: (start: OumStartSession) => OumStartSession) {
  const history = new KvHistory();
  const clients = 3;
  const perClient = 200;
  const topo = nopaxosTopology({ replicas: 3, clients, opsPerClient: perClient, history, thinkMs: 1 });
  const rt = runSim(topo.topology, { seed: 1, logLevel: 'silent', network: { latencyMs: 0.05 } });
  const replicas = (): (NopaxosReplica | undefined)[] => topo.replicas.map((r) => rt.stateOf<NopaxosReplica>(r));
  const invariants = new NopaxosInvariants(replicas);
  rt.onStep(() => invariants.check());
  const violations: string[] = [];
  let start: OumStartSession | undefined;
  rt.network.addFilter((env, info) => {
    if (env.msg.type === 'OumStartSession' && info.toHost === 'seq1') start ??= env.msg as OumStartSession;
    return 'deliver';
  });
  const controller = (): ControllerState => rt.stateOf<ControllerState>(topo.controller!)!;
  const ran = guarded(violations, () => {
    rt.advance(50);
    rt.crash('seq0'); // the controller fails over to seq1, in session 1
    rt.advance(100);
    assert.equal(controller().sessionNum, 1);
    rt.crash('seq1');
    rt.advance(0.5);
    rt.restart('seq1');
    rt.send(topo.sequencers[1]!, lateCopy(start!));
    rt.advance(100);
    rt.restart('seq0');
    const completed = (): number => topo.clients.reduce((k, c) => k + (rt.stateOf<NopaxosClientState>(c)?.d.completed ?? 0), 0);
    if (!rt.runUntil(() => completed() >= clients * perClient, 20_000)) violations.push(`${completed()} of ${clients * perClient} operations completed`);
  });
  failureViolations(rt, violations);
  const linearizable = ran ? checkKvHistory(history, 10_000_000, violations) : null;
  return { violations, linearizable, start: start!, events: controller().events.map((e) => [e.kind, e.sequencer, e.sessionNum]) };
}

describe('NOPaxos sequencer lives', () => {
  it('SequencerRestartedIntoItsOldSession: a late session start meant for its life before is refused', () => {
    const r = run((s) => s);
    assert.equal(r.start.incarnation, 0, 'the start named the life the standby had (it was pinged)');
    assert.deepEqual(r.violations, []);
    assert.equal(r.linearizable, true);
    assert.deepEqual(r.events, [['failover', 1, 1], ['sequencer-restarted', 1, 2]]);
  });

  it('SequencerRestartedIntoItsOldSession: one that names no life is taken, and its pong of a new life gives it a new session', () => {
    const r = run(({ type, sessionNum }) => ({ type, sessionNum }));
    assert.deepEqual(r.violations, []);
    assert.equal(r.linearizable, true);
    assert.deepEqual(r.events, [['failover', 1, 1], ['sequencer-restarted', 1, 2]]);
  });
});
