// The checker against the real Jepsen and Porcupine histories of the shared testdata: every file
// that expected.tsv lists gets its verdict; the others get a verdict whose evidence we verify
// (a witness for "linearizable", a checked explanation for "not linearizable").
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkHistory, decodeHistory } from '../../apps/linearizability/checker.ts';
import { modelByName } from '../../apps/linearizability/models.ts';
import { linDir, loadTestdata, readExpected, referenceCheck, verifyWitness } from './helpers.ts';

const expected = readExpected();
const listed = new Set(expected.map((row) => row.file));
const allFiles = ['jepsen-etcd', 'kv'].flatMap((dir) => readdirSync(path.join(linDir, dir)).sort().map((f) => `${dir}/${f}`));
const modelFor = (file: string): string => (file.startsWith('kv/') ? 'kv' : 'etcd');

describe('testdata with listed verdicts', () => {
  it('lists files that exist', () => {
    assert.ok(expected.length >= 70);
    for (const row of expected) assert.ok(allFiles.includes(row.file), row.file);
  });

  for (const row of expected) {
    it(`${row.file} is ${row.linearizable ? '' : 'not '}linearizable`, () => {
      const model = modelByName(row.model)!;
      const history = decodeHistory(model, loadTestdata(row.file));
      const result = checkHistory(model, history, { witness: true });
      assert.equal(result.verdict, row.linearizable ? 'linearizable' : 'not-linearizable');
      if (row.linearizable) assert.equal(verifyWitness(model, history, result), undefined);
      else assert.ok(result.violation !== undefined && result.violation.text.length > 0);
    });
  }
});

describe('testdata with withheld verdicts', () => {
  const withheld = allFiles.filter((f) => !listed.has(f));
  it('exist (the etcd files past the listed ones and the two large kv histories)', () => {
    assert.ok(withheld.length > 0);
  });

  for (const file of withheld) {
    it(`${file} gets a verdict backed by evidence`, () => {
      const model = modelByName(modelFor(file))!;
      const history = decodeHistory(model, loadTestdata(file));
      const result = checkHistory(model, history, { witness: true });
      assert.notEqual(result.verdict, 'unknown');
      if (result.verdict === 'linearizable') {
        assert.equal(verifyWitness(model, history, result), undefined);
        return;
      }
      // Evidence for a violation: the prefix replays, the operation that must come next returned
      // before any other pending one can help, and no pending operation fits the state.
      const v = result.violation!;
      let state = model.init();
      for (const id of v.prefix) {
        const op = history.operations[id]!;
        const r = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
        assert.ok(r.ok);
        state = r.next;
      }
      for (const p of v.pending) {
        const op = history.operations[p.id]!;
        const r = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
        assert.ok(!r.ok || (op.returnTime === null && model.equals(r.next, state)), `#${p.id} could come next`);
      }
    });
  }
});

describe('the reference checker agrees', () => {
  // The reference search is slow: compare on every etcd file where it finishes within its budget.
  it('on the etcd histories', () => {
    const model = modelByName('etcd')!;
    let compared = 0;
    for (const file of allFiles.filter((f) => f.startsWith('jepsen-etcd/'))) {
      const history = decodeHistory(model, loadTestdata(file));
      const reference = referenceCheck(model, history.operations, 20_000);
      if (reference === undefined) continue;
      compared++;
      assert.equal(checkHistory(model, history).verdict, reference ? 'linearizable' : 'not-linearizable', file);
    }
    assert.ok(compared >= 50, `compared ${compared}`);
  });

  it('on the small kv histories', () => {
    const model = modelByName('kv')!;
    for (const file of ['kv/c01-ok.txt', 'kv/c01-bad.txt', 'kv/c10-ok.txt', 'kv/c10-bad.txt']) {
      const history = decodeHistory(model, loadTestdata(file));
      const reference = referenceCheck(model, history.operations, 500_000);
      assert.notEqual(reference, undefined, file);
      assert.equal(checkHistory(model, history).verdict, reference ? 'linearizable' : 'not-linearizable', file);
    }
  });

  it('on the key of kv-large-2 where the checker finds a violation', () => {
    const model = modelByName('kv')!;
    const history = decodeHistory(model, loadTestdata('kv/kv-large-2.txt'));
    const result = checkHistory(model, history);
    assert.equal(result.verdict, 'not-linearizable');
    const key = result.violation!.partition!;
    const ops = history.operations.filter((op) => model.partitionKey!(op.input) === key);
    assert.equal(referenceCheck(model, ops, 1_000_000), false);
  });
});
