// The anti-replay window on its own: every (incarnation, sequence) passes once, late datagrams
// within the window still pass, older ones and earlier incarnations never do.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayGuard, ReplayWindow } from '../../transport/udp/replay-guard.ts';

describe('udp replay window', () => {
  it('accepts each sequence once, in any order within the window', () => {
    const w = new ReplayWindow(8);
    assert.equal(w.accept(5, 3), 'first');
    assert.equal(w.accept(5, 1), 'fresh');
    assert.equal(w.accept(5, 7), 'fresh');
    assert.equal(w.accept(5, 2), 'fresh');
    for (const s of [1, 2, 3, 7]) assert.equal(w.accept(5, s), 'duplicate', `sequence ${s}`);
  });

  it('refuses what fell out of the window, and forgets slots it moved past', () => {
    const w = new ReplayWindow(8);
    w.accept(1, 1);
    assert.equal(w.accept(1, 9), 'fresh');
    assert.equal(w.accept(1, 1), 'too-old');
    assert.equal(w.accept(1, 2), 'fresh', 'slot of 2 was never used');
    assert.equal(w.accept(1, 100), 'fresh', 'a jump clears the window');
    assert.equal(w.accept(1, 95), 'fresh');
    assert.equal(w.accept(1, 95), 'duplicate');
    assert.equal(w.accept(1, 92), 'too-old');
  });

  it('starts over for a new incarnation and refuses an earlier one', () => {
    const w = new ReplayWindow(8);
    w.accept(10, 500);
    assert.equal(w.accept(11, 1), 'first');
    assert.equal(w.accept(11, 1), 'duplicate');
    assert.equal(w.accept(10, 501), 'old-incarnation');
  });

  it('keeps senders apart and bounds how many it remembers', () => {
    const g = new ReplayGuard(8, 2);
    assert.equal(g.accept('a', 1, 1), 'first');
    assert.equal(g.accept('b', 1, 1), 'first');
    assert.equal(g.accept('a', 1, 1), 'duplicate');
    assert.equal(g.accept('c', 1, 1), 'first'); // forgets 'a', the first heard
    assert.equal(g.accept('b', 1, 1), 'duplicate');
    assert.equal(g.accept('a', 1, 1), 'first');
  });
});
