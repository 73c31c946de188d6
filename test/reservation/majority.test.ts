// MajorityReservation: a number is taken once a majority keeps it and knows nothing higher; a
// query (-1) or a higher answer reports the highest a majority knows; answers to another
// request do not count.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { majorityOf, MajorityReservation } from '../../apps/reservation/majority.ts';

describe('MajorityReservation', () => {
  it('takes the number once a majority keeps it', () => {
    const r = new MajorityReservation(4, majorityOf(5));
    assert.deepEqual(r.answer(0, 4, 4), { kind: 'waiting' });
    assert.deepEqual(r.answer(0, 4, 4), { kind: 'waiting' }, 'a keeper counts once');
    assert.deepEqual(r.answer(1, 3, 4), { kind: 'waiting' }, 'an answer to another request');
    assert.deepEqual(r.answer(1, 4, 4), { kind: 'waiting' });
    assert.equal(r.answered(1), true);
    assert.equal(r.answered(2), false);
    assert.deepEqual(r.answer(3, 4, 4), { kind: 'taken', num: 4 });
  });

  it('reports the highest a majority knows to a query, or when one knows a higher number', () => {
    const q = new MajorityReservation(-1, majorityOf(3));
    q.answer(0, -1, 2);
    assert.deepEqual(q.answer(2, -1, 7), { kind: 'higher', top: 7 });
    const r = new MajorityReservation(3, majorityOf(3));
    r.answer(0, 3, 3);
    assert.deepEqual(r.answer(1, 3, 5), { kind: 'higher', top: 5 });
  });
});
