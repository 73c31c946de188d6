// Property tests: histories made by running a sequential object, with every operation's interval
// drawn at random around the moment it took effect, are always linearizable (and the witness
// holds); changing one read to a value nobody wrote is always caught; and on small random
// histories the checker agrees with an independent brute-force reference.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkHistory, decodeHistory } from '../../apps/linearizability/checker.ts';
import type { History, Operation } from '../../apps/linearizability/history.ts';
import { etcdModel, kvModel, registerModel, type AnyModel } from '../../apps/linearizability/models.ts';
import { referenceCheck, verifyWitness } from './helpers.ts';

interface Drawn {
  input: unknown;
  before: number; // invokeTime = point - before
  after: number; // returnTime = point + after
  unknown: boolean; // outcome unknown ...
  happens: boolean; // ... and did it take effect?
  client: number;
}

const timing = { before: fc.integer({ min: 0, max: 40 }), after: fc.integer({ min: 0, max: 40 }), unknown: fc.boolean(), happens: fc.boolean(), client: fc.integer({ min: 0, max: 7 }) };
const rarely = (b: fc.Arbitrary<boolean>): fc.Arbitrary<boolean> => fc.tuple(b, fc.integer({ min: 0, max: 5 })).map(([x, k]) => x && k === 0);

const registerOp = fc.record({
  input: fc.oneof(fc.constant({ op: 'read' }), fc.integer({ min: 0, max: 3 }).map((value) => ({ op: 'write', value }))),
  ...timing, unknown: rarely(fc.boolean()),
});
const kvOp = fc.record({
  input: fc.tuple(fc.constantFrom('get', 'put', 'append', 'cas'), fc.constantFrom('a', 'b'), fc.constantFrom('x', 'y', 'z', ''), fc.constantFrom('x', 'xy', '')).map(([op, key, v, w]) => {
    switch (op) {
      case 'get': return { op, key };
      case 'cas': return { op, key, from: w, to: v };
      default: return { op, key, value: v };
    }
  }),
  ...timing, unknown: rarely(fc.boolean()),
});

/** The value a read returns in a state (the kv model keeps its hash beside the text). */
function textOf(state: unknown): unknown {
  return typeof state === 'object' && state !== null && 'text' in state ? (state as { text: string }).text : state;
}

/** Runs the operations in order on the model; the k-th takes effect at time 10k. */
function run(model: AnyModel, drawn: Drawn[]): History<unknown, unknown> {
  const states = new Map<string, unknown>();
  const operations: Operation<unknown, unknown>[] = drawn.map((d, k) => {
    const input = model.decodeInput(d.input);
    const key = model.partitionKey?.(input) ?? '';
    const state = states.has(key) ? states.get(key) : model.init();
    const point = 10 * k + 50;
    const op: Operation<unknown, unknown> = { id: k, client: d.client, input, invokeTime: point - d.before, returnTime: d.unknown ? null : point + d.after };
    if (d.unknown && !d.happens) return op;
    // The output the object gives.
    const kind = (input as { op: string }).op;
    const output = kind === 'read' || kind === 'get' ? { value: textOf(state) } : kind === 'cas' ? { ok: model.step(state, input, { ok: true } as never).ok } : {};
    const r = model.step(state, input, output as never);
    assert.ok(r.ok);
    states.set(key, r.next);
    if (!d.unknown) op.output = output;
    return op;
  });
  return { operations };
}

function mutateOneRead(h: History<unknown, unknown>, index: number, impossible: unknown): History<unknown, unknown> | undefined {
  const reads = h.operations.filter((op) => op.returnTime !== null && ['read', 'get'].includes((op.input as { op: string }).op));
  if (reads.length === 0) return undefined;
  const target = reads[index % reads.length]!;
  return { operations: h.operations.map((op) => (op === target ? { ...op, output: { value: impossible } } : op)) };
}

describe('sequential executions are linearizable', () => {
  const cases: [string, AnyModel, fc.Arbitrary<Drawn>, unknown][] = [
    ['register', registerModel(), registerOp, 99],
    ['etcd', etcdModel(), registerOp, 99],
    ['kv', kvModel(), kvOp, '#'],
  ];
  for (const [name, model, op, impossible] of cases) {
    it(`${name}: any concurrent intervals around the effect are linearizable`, () => {
      fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (drawn) => {
        const h = decodeHistory(model, run(model, drawn));
        const result = checkHistory(model, h, { witness: true });
        assert.equal(result.verdict, 'linearizable');
        assert.equal(verifyWitness(model, h, result), undefined);
      }), { numRuns: Number(process.env["LINCHECK_PROPERTY_RUNS"] ?? 150) });
    });

    it(`${name}: a read changed to a value nobody wrote is caught`, () => {
      fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.nat(), (drawn, pick) => {
        const mutated = mutateOneRead(run(model, drawn), pick, impossible);
        fc.pre(mutated !== undefined);
        const result = checkHistory(model, decodeHistory(model, mutated!));
        assert.equal(result.verdict, 'not-linearizable');
        assert.ok(result.violation!.text.includes(String(impossible)));
      }), { numRuns: Number(process.env["LINCHECK_PROPERTY_RUNS"] ?? 150) });
    });
  }
});

describe('agreement with the reference checker', () => {
  it('etcd: small histories with random outputs get the reference verdict', () => {
    const randomOp = fc.record({
      input: fc.oneof(
        fc.constant({ op: 'read' }),
        fc.integer({ min: 0, max: 2 }).map((value) => ({ op: 'write', value })),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })).map(([from, to]) => ({ op: 'cas', from, to }))),
      read: fc.constantFrom(null, 0, 1, 2),
      ok: fc.boolean(),
      invokeTime: fc.integer({ min: 0, max: 20 }),
      length: fc.integer({ min: 0, max: 10 }),
      unknown: rarely(fc.boolean()),
    });
    fc.assert(fc.property(fc.array(randomOp, { maxLength: 8 }), (drawn) => {
      const model = etcdModel();
      const operations: Operation<unknown, unknown>[] = drawn.map((d, id) => {
        const op: Operation<unknown, unknown> = { id, client: id, input: d.input, invokeTime: d.invokeTime, returnTime: d.unknown ? null : d.invokeTime + d.length };
        if (!d.unknown) op.output = d.input.op === 'read' ? { value: d.read } : d.input.op === 'cas' ? { ok: d.ok } : {};
        return op;
      });
      const h = decodeHistory(model, { operations });
      const expected = referenceCheck(model, h.operations, 1_000_000);
      assert.notEqual(expected, undefined);
      assert.equal(checkHistory(model, h).verdict, expected ? 'linearizable' : 'not-linearizable');
    }), { numRuns: Number(process.env["LINCHECK_PROPERTY_RUNS"] ?? 1500) });
  });

  it('kv: small histories with random outputs get the reference verdict', () => {
    const randomOp = fc.record({
      input: kvOp.map((d) => d.input),
      read: fc.constantFrom('', 'x', 'xy', 'y', 'xx', 'z'),
      ok: fc.boolean(),
      invokeTime: fc.integer({ min: 0, max: 20 }),
      length: fc.integer({ min: 0, max: 10 }),
      unknown: rarely(fc.boolean()),
    });
    fc.assert(fc.property(fc.array(randomOp, { maxLength: 9 }), (drawn) => {
      const model = kvModel();
      const operations: Operation<unknown, unknown>[] = drawn.map((d, id) => {
        const op: Operation<unknown, unknown> = { id, client: id, input: d.input, invokeTime: d.invokeTime, returnTime: d.unknown ? null : d.invokeTime + d.length };
        const kind = (d.input as { op: string }).op;
        if (!d.unknown) op.output = kind === 'get' ? { value: d.read } : kind === 'cas' ? { ok: d.ok } : {};
        return op;
      });
      const h = decodeHistory(model, { operations });
      const expected = referenceCheck(model, h.operations, 1_000_000);
      assert.notEqual(expected, undefined);
      assert.equal(checkHistory(model, h).verdict, expected ? 'linearizable' : 'not-linearizable');
    }), { numRuns: Number(process.env['LINCHECK_PROPERTY_RUNS'] ?? 1500) });
  });
});
