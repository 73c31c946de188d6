// The host-based sequencer stamps each group's messages with (session, msgNum) rising by one from 1, multicasts them, restarts numbering on a higher session only, and answers liveness probes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probe, runSim, Topology, type ActorRef, type Msg } from '../../actors/index.ts';
import { hostSequencer, type HostSequencerState, type SequencerMsg } from '../../apps/oum/host-sequencer.ts';
import { oumHeader, type OumMessage, type OumPong } from '../../apps/oum/messages.ts';

interface Data { readonly type: 'Data'; readonly n: number }
type Stamped = OumMessage<Data>;

function world(initialSession?: number) {
  const t = new Topology('oum');
  for (const h of ['seq', 'a', 'b', 'c']) t.host(h);
  const seq = t.actor('seq', 'oum/sequencer', hostSequencer(initialSession === undefined ? {} : { initialSession }));
  const rt = runSim(t, { seed: 7, logLevel: 'silent' });
  const a = probe<Stamped>(rt, 'a');
  const b = probe<Stamped>(rt, 'b');
  const c = probe<Stamped | OumPong>(rt, 'c');
  rt.send(seq, { type: 'OumSetGroup', group: 1, members: [a.ref, b.ref] as ActorRef<Msg>[] });
  const data = (n: number): SequencerMsg => ({ type: 'Data', n, oum: oumHeader(1) }) as OumMessage<Data>;
  return { rt, seq, a, b, c, data };
}

describe('host sequencer', () => {
  it('stamps msgNum 1, 2, 3 in its session and sends a copy to every member', async () => {
    const w = world(4);
    for (let n = 0; n < 3; n++) w.rt.send(w.seq, w.data(n));
    for (const p of [w.a, w.b]) {
      const got = await p.receiveN(3);
      assert.deepEqual(got.map((m) => [m.oum.sessionNum, m.oum.msgNum, m.n]), [[4, 1, 0], [4, 2, 1], [4, 3, 2]]);
    }
  });

  it('a standby stamps nothing until a session starts; a new session restarts at 1; a lower one is refused', async () => {
    const w = world();
    w.rt.send(w.seq, w.data(0));
    await w.a.expectNoMsg(5);
    w.rt.send(w.seq, { type: 'OumStartSession', sessionNum: 2 });
    w.rt.send(w.seq, w.data(1));
    w.rt.send(w.seq, w.data(2));
    assert.deepEqual((await w.a.receiveN(2)).map((m) => m.oum.msgNum), [1, 2]);
    w.rt.send(w.seq, { type: 'OumStartSession', sessionNum: 2 });
    w.rt.send(w.seq, { type: 'OumStartSession', sessionNum: 3 });
    w.rt.send(w.seq, w.data(3));
    const m = await w.a.expectMsg();
    assert.deepEqual([m.oum.sessionNum, m.oum.msgNum], [3, 1]);
    const s = w.rt.stateOf<HostSequencerState>(w.seq)!;
    assert.equal(s.dropped['no-session'], 1);
    assert.equal(s.dropped['session-not-higher'], 1);
  });

  it('drops messages of unknown groups and answers pings with its session', async () => {
    const w = world(0);
    w.rt.send(w.seq, { type: 'Data', n: 1, oum: oumHeader(9) } as OumMessage<Data>);
    w.rt.send(w.seq, { type: 'OumPing', seq: 5, replyTo: w.c.ref as ActorRef<OumPong> });
    const pong = await w.c.expectMsg('OumPong');
    assert.deepEqual(pong, { type: 'OumPong', seq: 5, sessionNum: 0, incarnation: 0 });
    assert.equal(w.rt.stateOf<HostSequencerState>(w.seq)!.dropped['unknown-group'], 1);
  });

  it('after a restart, ignores a session start meant for its life before: that session may be one it numbered already', async () => {
    const w = world();
    w.rt.send(w.seq, { type: 'OumStartSession', sessionNum: 2, incarnation: 0 });
    w.rt.send(w.seq, w.data(1));
    assert.deepEqual((await w.a.expectMsg()).oum.msgNum, 1);
    w.rt.crash('seq');
    w.rt.restart('seq');
    w.rt.send(w.seq, { type: 'OumSetGroup', group: 1, members: [w.a.ref, w.b.ref] as ActorRef<Msg>[] });
    // A late copy of the start of session 2: refused, so 2 is not numbered from 1 again.
    w.rt.send(w.seq, { type: 'OumStartSession', sessionNum: 2, incarnation: 0 });
    w.rt.send(w.seq, { type: 'OumPing', seq: 1, replyTo: w.c.ref as ActorRef<OumPong> });
    assert.deepEqual(await w.c.expectMsg('OumPong'), { type: 'OumPong', seq: 1, sessionNum: -1, incarnation: 1 });
    // One that names no life is meant for the first: refused too.
    w.rt.send(w.seq, { type: 'OumStartSession', sessionNum: 2 });
    w.rt.advance(0.1);
    assert.equal(w.rt.stateOf<HostSequencerState>(w.seq)!.dropped['session-for-another-life'], 2);
    // One meant for this life is taken.
    w.rt.send(w.seq, { type: 'OumStartSession', sessionNum: 3, incarnation: 1 });
    w.rt.send(w.seq, w.data(2));
    const m = await w.a.expectMsg();
    assert.deepEqual([m.oum.sessionNum, m.oum.msgNum], [3, 1]);
  });
});
