// The OUM receiver hands out one session's messages in msgNum order, reports every lost number and a newer session, and resumes where `listen` says after a view change.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { oumHeader, stamp, type OumMessage } from '../../apps/oum/messages.ts';
import { advanceTo, createReceiver, listen, nextEvent, offer, receive, skip, waiting, type OumEvent } from '../../apps/oum/receiver.ts';

interface Data { readonly type: 'Data'; readonly n: number }
const msg = (sessionNum: number, msgNum: number): OumMessage<Data> =>
  stamp<Data>({ type: 'Data', n: msgNum, oum: oumHeader(0) }, sessionNum, msgNum);
const describeEv = (e: OumEvent<Data>): string =>
  e.type === 'Deliver' ? `deliver ${e.msg.oum.sessionNum}.${e.msg.oum.msgNum}`
    : e.type === 'DropNotification' ? `drop ${e.sessionNum}.${e.msgNum}` : `session-terminated ${e.sessionNum}`;

describe('OUM receiver: plain receive', () => {
  it('delivers in-order messages of its session', () => {
    const r = createReceiver<Data>(0);
    const evs = [1, 2, 3].flatMap((n) => receive(r, msg(0, n)).map(describeEv));
    assert.deepEqual(evs, ['deliver 0.1', 'deliver 0.2', 'deliver 0.3']);
    assert.equal(r.nextMsgNum, 4);
  });

  it('emits one DROP-NOTIFICATION per skipped msgNum, then delivers the message after the gap', () => {
    const r = createReceiver<Data>(2);
    receive(r, msg(2, 1));
    assert.deepEqual(receive(r, msg(2, 4)).map(describeEv), ['drop 2.2', 'drop 2.3', 'deliver 2.4']);
    assert.equal(r.stats.dropNotifications, 2);
  });

  it('ignores stale and duplicate messages', () => {
    const r = createReceiver<Data>(1);
    receive(r, msg(1, 1));
    assert.deepEqual(receive(r, msg(1, 1)), []);
    assert.deepEqual(receive(r, msg(0, 7)), []);
    assert.equal(r.stats.stale, 2);
  });

  it('reports SESSION-TERMINATED on a higher session and keeps its messages until listen', () => {
    const r = createReceiver<Data>(0);
    receive(r, msg(0, 1));
    assert.deepEqual(receive(r, msg(3, 2)).map(describeEv), ['session-terminated 3']);
    assert.deepEqual(receive(r, msg(3, 1)).map(describeEv), ['session-terminated 3']);
    listen(r, 3, 1);
    assert.equal(r.sessionNum, 3);
    assert.deepEqual([nextEvent(r), nextEvent(r), nextEvent(r)].map((e) => e && describeEv(e)), ['deliver 3.1', 'deliver 3.2', undefined]);
  });
});

describe('OUM receiver: drops resolved by the protocol', () => {
  it('reports the same drop until skip, and delivers the late message if it comes first', () => {
    const r = createReceiver<Data>(0);
    offer(r, msg(0, 1));
    offer(r, msg(0, 3));
    assert.equal(describeEv(nextEvent(r)!), 'deliver 0.1');
    assert.equal(describeEv(nextEvent(r)!), 'drop 0.2');
    assert.equal(describeEv(nextEvent(r)!), 'drop 0.2');
    // Reordered, not lost: it arrives late and is delivered in order.
    offer(r, msg(0, 2));
    assert.equal(describeEv(nextEvent(r)!), 'deliver 0.2');
    assert.equal(describeEv(nextEvent(r)!), 'deliver 0.3');
    offer(r, msg(0, 5));
    assert.equal(describeEv(nextEvent(r)!), 'drop 0.4');
    skip(r, 4);
    assert.equal(describeEv(nextEvent(r)!), 'deliver 0.5');
    assert.equal(nextEvent(r), undefined);
  });

  it('skip must name the number expected next', () => {
    const r = createReceiver<Data>(0);
    assert.throws(() => skip(r, 2), /expected next/);
  });

  it('advanceTo forgets what it passes; listen within the session can go back', () => {
    const r = createReceiver<Data>(0);
    for (const n of [2, 3, 6]) offer(r, msg(0, n));
    advanceTo(r, 4);
    assert.equal(waiting(r), 1);
    assert.equal(describeEv(nextEvent(r)!), 'drop 0.4');
    listen(r, 0, 2);
    assert.equal(r.nextMsgNum, 2);
  });

  it('listen to a newer session drops older sessions and keeps higher ones', () => {
    const r = createReceiver<Data>(0);
    offer(r, msg(0, 5));
    offer(r, msg(1, 1));
    offer(r, msg(2, 1));
    listen(r, 1, 1);
    assert.equal(describeEv(nextEvent(r)!), 'deliver 1.1');
    assert.equal(describeEv(nextEvent(r)!), 'session-terminated 2');
    assert.throws(() => listen(r, 0, 1), /older/);
  });

  it('bounds what it keeps', () => {
    const r = createReceiver<Data>(0, 1, 2);
    assert.equal(offer(r, msg(0, 3)), 'buffered');
    assert.equal(offer(r, msg(1, 1)), 'newer-session');
    assert.equal(offer(r, msg(0, 4)), 'overflow');
    assert.equal(r.stats.overflow, 1);
  });
});
