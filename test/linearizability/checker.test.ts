// The checker on small hand-made histories of each model: linearizable and not, concurrent
// operations, unknown outcomes, time and step limits, explanations and the HTML view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, decodeHistory, type CheckResult } from '../../apps/linearizability/checker.ts';
import type { History, Operation } from '../../apps/linearizability/history.ts';
import { renderHtml } from '../../apps/linearizability/html.ts';
import { etcdModel, kvModel, registerModel, type AnyModel } from '../../apps/linearizability/models.ts';
import { loadTestdata, verifyWitness } from './helpers.ts';

/** [client, input, output (undefined: unknown outcome), invokeTime, returnTime (null: unknown)] */
type Row = [number, unknown, unknown, number, number | null];

function history(rows: Row[]): History<unknown, unknown> {
  return {
    operations: rows.map(([client, input, output, invokeTime, returnTime], id): Operation<unknown, unknown> => {
      const op: Operation<unknown, unknown> = { id, client, input, invokeTime, returnTime };
      if (returnTime !== null) op.output = output;
      return op;
    }),
  };
}

function check(model: AnyModel, rows: Row[]): CheckResult {
  const h = decodeHistory(model, history(rows));
  const result = checkHistory(model, h, { witness: true });
  if (result.verdict === 'linearizable') assert.equal(verifyWitness(model, h, result), undefined);
  return result;
}

const R = { op: 'read' };
const W = (value: unknown) => ({ op: 'write', value });
const CAS = (from: unknown, to: unknown) => ({ op: 'cas', from, to });
const V = (value: unknown) => ({ value });

describe('register model', () => {
  it('SequentialReadsAndWrites: a read sees the last write', () => {
    assert.equal(check(registerModel(), [[0, W(1), {}, 0, 1], [1, R, V(1), 2, 3]]).verdict, 'linearizable');
    assert.equal(check(registerModel(), [[0, W(1), {}, 0, 1], [1, R, V(2), 2, 3]]).verdict, 'not-linearizable');
  });

  it('EmptyRegister: a read before any write sees null', () => {
    assert.equal(check(registerModel(), [[0, R, V(null), 0, 1]]).verdict, 'linearizable');
    assert.equal(check(registerModel(), [[0, R, V(0), 0, 1]]).verdict, 'not-linearizable');
  });

  it('ConcurrentWrite: a read overlapping a write may see either value', () => {
    const rows = (seen: unknown): Row[] => [[0, W(1), {}, 0, 1], [1, W(2), {}, 2, 10], [2, R, V(seen), 3, 4], [3, R, V(1), 5, 6]];
    // Seeing 2 and then 1 is not possible: once a read saw 2, the write of 2 took effect.
    assert.equal(check(registerModel(), rows(2)).verdict, 'not-linearizable');
    assert.equal(check(registerModel(), rows(1)).verdict, 'linearizable');
  });

  it('StaleRead: a read that starts after a write returned must see it', () => {
    const result = check(registerModel(), [[0, W(1), {}, 0, 1], [0, W(2), {}, 2, 3], [1, R, V(1), 4, 5]]);
    assert.equal(result.verdict, 'not-linearizable');
    assert.match(result.violation!.text, /read → 1/);
    assert.deepEqual(result.violation!.prefix, [0, 1]);
    assert.equal(result.violation!.deadline, 2);
  });

  it('UnknownWrite: a timed-out write may take effect late, or never', () => {
    // The write of 2 never answered: reads may see it long after, or never.
    assert.equal(check(registerModel(), [[0, W(1), {}, 0, 1], [1, W(2), undefined, 2, null], [2, R, V(1), 3, 4], [2, R, V(2), 50, 51]]).verdict, 'linearizable');
    assert.equal(check(registerModel(), [[0, W(1), {}, 0, 1], [1, W(2), undefined, 2, null], [2, R, V(1), 3, 4]]).verdict, 'linearizable');
    // But not before it was invoked, and only once.
    assert.equal(check(registerModel(), [[2, R, V(2), 0, 1], [1, W(2), undefined, 2, null]]).verdict, 'not-linearizable');
    assert.equal(check(registerModel(), [[1, W(2), undefined, 0, null], [0, W(1), {}, 1, 2], [2, R, V(2), 3, 4], [2, R, V(1), 5, 6], [2, R, V(2), 7, 8]]).verdict, 'not-linearizable');
  });

  it('TouchingIntervals: operations whose times touch count as concurrent', () => {
    assert.equal(check(registerModel(), [[0, W(1), {}, 0, 5], [1, R, V(null), 5, 6]]).verdict, 'linearizable');
    assert.equal(check(registerModel(), [[0, W(1), {}, 0, 5], [1, R, V(null), 6, 7]]).verdict, 'not-linearizable');
  });
});

describe('etcd model', () => {
  it('CasSucceeds: a cas applies only when the register holds `from`', () => {
    assert.equal(check(etcdModel(), [[0, W(1), {}, 0, 1], [0, CAS(1, 2), { ok: true }, 2, 3], [1, R, V(2), 4, 5]]).verdict, 'linearizable');
    assert.equal(check(etcdModel(), [[0, W(1), {}, 0, 1], [0, CAS(3, 2), { ok: true }, 2, 3]]).verdict, 'not-linearizable');
  });

  it('CasFails: a failed cas says the register held something else', () => {
    assert.equal(check(etcdModel(), [[0, W(1), {}, 0, 1], [0, CAS(3, 2), { ok: false }, 2, 3], [1, R, V(1), 4, 5]]).verdict, 'linearizable');
    assert.equal(check(etcdModel(), [[0, W(1), {}, 0, 1], [0, CAS(1, 2), { ok: false }, 2, 3]]).verdict, 'not-linearizable');
    // A cas on the empty register fails unless `from` is nil.
    assert.equal(check(etcdModel(), [[0, CAS(null, 2), { ok: true }, 0, 1], [1, R, V(2), 2, 3]]).verdict, 'linearizable');
  });

  it('UnknownCas: a cas whose outcome is unknown may or may not have applied', () => {
    const base: Row[] = [[0, W(1), {}, 0, 1], [1, CAS(1, 5), undefined, 2, null]];
    assert.equal(check(etcdModel(), [...base, [2, R, V(5), 3, 4]]).verdict, 'linearizable');
    assert.equal(check(etcdModel(), [...base, [2, R, V(1), 3, 4]]).verdict, 'linearizable');
    assert.equal(check(etcdModel(), [...base, [2, R, V(7), 3, 4]]).verdict, 'not-linearizable');
  });

  it('ConcurrentCas: of two concurrent cas from the same value one wins', () => {
    const rows = (a: boolean, b: boolean): Row[] => [[0, W(0), {}, 0, 1], [1, CAS(0, 1), { ok: a }, 2, 5], [2, CAS(0, 2), { ok: b }, 3, 6]];
    assert.equal(check(etcdModel(), rows(true, false)).verdict, 'linearizable');
    assert.equal(check(etcdModel(), rows(false, true)).verdict, 'linearizable');
    assert.equal(check(etcdModel(), rows(true, true)).verdict, 'not-linearizable');
    assert.equal(check(etcdModel(), rows(false, false)).verdict, 'not-linearizable');
  });
});

describe('kv model', () => {
  const get = (key: string) => ({ op: 'get', key });
  const put = (key: string, value: string) => ({ op: 'put', key, value });
  const append = (key: string, value: string) => ({ op: 'append', key, value });
  const cas = (key: string, from: string, to: string) => ({ op: 'cas', key, from, to });

  it('AppendOrder: a get sees the appends in one order', () => {
    const rows = (seen: string): Row[] => [[0, append('k', 'a'), {}, 0, 10], [1, append('k', 'b'), {}, 1, 10], [2, get('k'), V(seen), 11, 12]];
    assert.equal(check(kvModel(), rows('ab')).verdict, 'linearizable');
    assert.equal(check(kvModel(), rows('ba')).verdict, 'linearizable');
    assert.equal(check(kvModel(), rows('a')).verdict, 'not-linearizable');
  });

  it('KeysAreIndependent: each key is checked alone, and the failing key is named', () => {
    const result = check(kvModel(), [
      [0, put('x', '1'), {}, 0, 1], [1, put('y', '2'), {}, 0, 1],
      [0, get('x'), V('1'), 2, 3], [1, get('y'), V('1'), 2, 3],
    ]);
    assert.equal(result.verdict, 'not-linearizable');
    assert.equal(result.partitions.total, 2);
    assert.equal(result.violation!.partition, 'y');
    assert.match(result.violation!.text, /key "y"/);
  });

  it('EmptyKeys: a key starts as the empty string; a nil get reads it', () => {
    assert.equal(check(kvModel(), [[0, get('k'), V(null), 0, 1], [0, get('k'), V(''), 2, 3]]).verdict, 'linearizable');
  });

  it('Cas: compare-and-set on a key', () => {
    assert.equal(check(kvModel(), [[0, put('k', 'a'), {}, 0, 1], [0, cas('k', 'a', 'b'), { ok: true }, 2, 3], [1, get('k'), V('b'), 4, 5]]).verdict, 'linearizable');
    assert.equal(check(kvModel(), [[0, put('k', 'a'), {}, 0, 1], [0, cas('k', 'x', 'b'), { ok: true }, 2, 3]]).verdict, 'not-linearizable');
    assert.equal(check(kvModel(), [[0, put('k', 'a'), {}, 0, 1], [0, cas('k', 'x', 'b'), { ok: false }, 2, 3]]).verdict, 'linearizable');
  });

  it('UnknownAppend: an append that never answered may show up in later gets', () => {
    assert.equal(check(kvModel(), [[0, append('k', 'a'), undefined, 0, null], [1, get('k'), V(''), 1, 2], [1, get('k'), V('a'), 3, 4]]).verdict, 'linearizable');
    assert.equal(check(kvModel(), [[0, append('k', 'a'), undefined, 0, null], [1, get('k'), V('a'), 1, 2], [1, get('k'), V(''), 3, 4]]).verdict, 'not-linearizable');
  });
});

describe('limits', () => {
  const model = kvModel();
  const hard = decodeHistory(model, loadTestdata('kv/kv-large-1.txt'));

  it('TimeLimit: running out of time gives unknown, not a verdict', () => {
    let t = 0;
    const result = checkHistory(model, hard, { timeoutMs: 5, now: () => (t += 1) });
    assert.equal(result.verdict, 'unknown');
    assert.equal(result.reason, 'timeout');
    assert.ok(result.partitions.checked < result.partitions.total);
  });

  it('StepLimit: a step budget gives unknown too, deterministically', () => {
    const a = checkHistory(model, hard, { maxSteps: 1000 });
    const b = checkHistory(model, hard, { maxSteps: 1000 });
    assert.equal(a.verdict, 'unknown');
    assert.equal(a.reason, 'step-limit');
    assert.deepEqual(a, b);
    assert.ok(a.steps <= 1000);
  });

  it('NeverWrong: with any budget a violation is reported as not linearizable or unknown', () => {
    const bad = decodeHistory(model, loadTestdata('kv/kv-large-2.txt'));
    for (const maxSteps of [10, 1000, 30_000, 100_000, Infinity]) {
      const verdict = checkHistory(model, bad, { maxSteps }).verdict;
      assert.notEqual(verdict, 'linearizable', `maxSteps ${maxSteps}`);
    }
    assert.equal(checkHistory(model, bad).verdict, 'not-linearizable');
  });

  it('a time limit without a clock is a programming error', () => {
    assert.throws(() => checkHistory(model, hard, { timeoutMs: 5 }), /clock/);
  });
});

describe('edge cases', () => {
  it('an empty history is linearizable', () => {
    assert.equal(check(registerModel(), []).verdict, 'linearizable');
    assert.equal(check(kvModel(), []).partitions.total, 0);
  });

  it('a history of unknown outcomes only is linearizable', () => {
    assert.equal(check(etcdModel(), [[0, W(1), undefined, 0, null], [1, R, undefined, 1, null]]).verdict, 'linearizable');
  });

  it('more than 32 operations in a partition (bitsets of several words)', () => {
    // 70 writes, each overlapping the next: write i may land after write i+1.
    const rows: Row[] = [];
    for (let i = 0; i < 70; i++) rows.push([i % 3, W(i), {}, 2 * i, 2 * i + 3]);
    rows.push([9, R, V(68), 137, 150]);
    assert.equal(check(registerModel(), rows).verdict, 'linearizable');
    rows.push([9, R, V(67), 151, 152]);
    assert.equal(check(registerModel(), rows).verdict, 'not-linearizable');
  });
});

describe('HTML view', () => {
  it('draws every operation of the failing partition and marks the failing point', () => {
    const model = etcdModel();
    const h = decodeHistory(model, loadTestdata('jepsen-etcd/etcd_000.log'));
    const result = checkHistory(model, h);
    const html = renderHtml([{ title: 'etcd_000.log', model, history: h, result }]);
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /not-linearizable/);
    assert.match(html, /no linearization past here/);
    assert.equal((html.match(/<rect /g) ?? []).length, h.operations.length);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/); // self-contained
  });

  it('escapes what it shows', () => {
    const model = kvModel();
    const h = decodeHistory(model, history([[0, { op: 'put', key: '<k>', value: '"&' }, {}, 0, 1], [1, { op: 'get', key: '<k>' }, V('<x>'), 2, 3]]));
    const html = renderHtml([{ title: '<t>', model, history: h, result: checkHistory(model, h) }]);
    assert.doesNotMatch(html, /<k>|<x>|<t>/);
  });
});
