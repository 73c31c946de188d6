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
import { nopaxosStandbyTopology } from '../../apps/nopaxos/switch-standby.ts';
import type { OumStartSession } from '../../apps/oum/messages.ts';
import type { Envelope } from '../../transport/types.ts';

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

describe('NOPaxos in-switch sequencer lives', () => {
  for (const how of ['SessionChange', 'Failover'] as const) {
    it(`SwitchRestartedAfterANamelessStart (${how}): a session start that names no life is taken only by the switch's first life`, () => {
      // Before the controller's first probe it knows no switch's life, and its start names none.
      // The switch takes it and stamps; r2 hears none of it (cut); the switch restarts, and the
      // network's late copy of the start reaches its new life, which must not number the session
      // again: r2 would take those numbers for the requests the others hold in those slots.
      const history = new KvHistory();
      const t = nopaxosStandbyTopology({ replicas: 3, switches: 2, clients: 3, opsPerClient: 150, thinkMs: 0.2, history, mode: 'fused' });
      const rt = runSim(t.topology, { seed: 1, logLevel: 'silent', network: { latencyMs: 0.05 } });
      const invariants = new NopaxosInvariants(() => t.replicas.map((r) => rt.stateOf<NopaxosReplica>(r)));
      rt.onStep(() => invariants.check());
      const late = new WeakSet<Envelope>();
      let target: string | undefined;
      rt.network.addFilter((env, info) => {
        if (late.has(env)) {
          late.delete(env);
          return { delayMs: 2 };
        }
        if (env.msg.type === 'OumStartSession' && target === undefined) {
          target = info.toHost;
          late.add(env);
          rt.network.endpoint(info.fromHost).send(env);
        }
        return 'deliver';
      });
      const violations: string[] = [];
      const completed = (): number => t.clients.reduce((k, c) => k + rt.stateOf<NopaxosClientState>(c)!.d.completed, 0);
      const ran = guarded(violations, () => {
        rt.advance(2);
        assert.deepEqual(rt.stateOf<ControllerState>(t.controller)!.lives, [undefined, undefined], 'no life known yet');
        rt.send(t.controller, { type: how });
        assert.ok(rt.runUntil(() => target !== undefined, 50));
        rt.cut('r2', target!);
        rt.advance(1);
        rt.crash(target!);
        rt.advance(0.2);
        rt.restart(target!);
        rt.heal('r2', target!);
        if (!rt.runUntil(() => completed() >= 450, 10_000)) violations.push(`${completed()} of 450 operations completed`);
      });
      failureViolations(rt, violations);
      assert.deepEqual(violations, []);
      assert.equal(ran ? checkKvHistory(history, 10_000_000, violations) : null, true);
      assert.ok(rt.stateOf<ControllerState>(t.controller)!.events.some((e) => e.kind === 'sequencer-restarted'), 'the restarted switch got a new session');
    });
  }
});
