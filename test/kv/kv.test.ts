// The key-value state machine answers as the checker's kv model does, executes each client request at most once through the client table, and rolls back exactly to its stable point.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyOp, undoOp, type KvData, type KvOp } from '../../apps/kv/kv.ts';
import { ClientTable } from '../../apps/kv/client-table.ts';
import { KvStateMachine } from '../../apps/kv/state-machine.ts';
import { randomOp } from '../../apps/kv/workload.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { seededRandom } from '../../actors/index.ts';

describe('kv operations', () => {
  it('get, put, append, cas and their undo', () => {
    const d: KvData = new Map();
    assert.deepEqual(applyOp(d, { op: 'get', key: 'a' }).result, { value: '' });
    const u1 = applyOp(d, { op: 'put', key: 'a', value: 'x' }).undo!;
    applyOp(d, { op: 'append', key: 'a', value: 'y' });
    assert.deepEqual(applyOp(d, { op: 'get', key: 'a' }).result, { value: 'xy' });
    assert.deepEqual(applyOp(d, { op: 'cas', key: 'a', from: 'x', to: 'z' }), { result: { ok: false }, undo: undefined });
    const cas = applyOp(d, { op: 'cas', key: 'a', from: 'xy', to: 'z' });
    assert.deepEqual(cas.result, { ok: true });
    undoOp(d, cas.undo!);
    assert.equal(d.get('a'), 'xy');
    undoOp(d, u1);
    assert.equal(d.has('a'), false);
  });

  it('a cas from the empty string applies to an absent key', () => {
    const d: KvData = new Map();
    assert.deepEqual(applyOp(d, { op: 'cas', key: 'k', from: '', to: 'v' }).result, { ok: true });
  });
});

describe('client table', () => {
  it('new, duplicate and stale requests', () => {
    const t = new ClientTable();
    assert.deepEqual(t.check('c', 1), { kind: 'new' });
    t.record('c', 1, { value: 'v' });
    assert.deepEqual(t.check('c', 1), { kind: 'duplicate', result: { value: 'v' } });
    t.record('c', 2, {});
    assert.deepEqual(t.check('c', 1), { kind: 'stale' });
    assert.throws(() => t.record('c', 2, {}), /not newer/);
  });
});

describe('kv state machine', () => {
  const req = (clientId: string, clientReqId: number, op: KvOp) => ({ clientId, clientReqId, op });

  it('executes a retried request once and answers it from the client table', () => {
    const sm = new KvStateMachine();
    assert.deepEqual(sm.execute(1, req('c', 1, { op: 'append', key: 'k', value: 'a' })), { kind: 'executed', result: {} });
    assert.deepEqual(sm.execute(2, req('c', 1, { op: 'append', key: 'k', value: 'a' })), { kind: 'duplicate', result: {} });
    assert.equal(sm.data.get('k'), 'a');
    assert.equal(sm.executedCount, 1);
    assert.throws(() => sm.execute(4, req('c', 2, { op: 'get', key: 'k' })), /next is 3/);
  });

  it('rolls back data, client table and execution counts above the stable point only', () => {
    const sm = new KvStateMachine();
    sm.execute(1, req('c', 1, { op: 'put', key: 'k', value: '1' }));
    sm.stabilize(1);
    sm.execute(2, req('c', 2, { op: 'put', key: 'k', value: '2' }));
    sm.skip(3);
    sm.execute(4, req('d', 1, { op: 'append', key: 'k', value: 'x' }));
    sm.rollbackTo(1);
    assert.equal(sm.data.get('k'), '1');
    assert.equal(sm.lastExecuted, 1);
    assert.deepEqual(sm.clients.check('c', 2), { kind: 'new' });
    assert.equal(sm.executedCount, 1);
    // The same request may execute again after its rollback.
    sm.execute(2, req('c', 2, { op: 'put', key: 'k', value: '2' }));
    assert.throws(() => sm.rollbackTo(0), /below the stable point/);
  });

  it('truncates its per-slot records up to the stable point and still catches a second execution', () => {
    const sm = new KvStateMachine();
    sm.execute(1, req('c', 1, { op: 'put', key: 'k', value: '1' }));
    sm.execute(2, req('c', 2, { op: 'append', key: 'k', value: '2' }));
    sm.execute(3, req('d', 1, { op: 'get', key: 'k' }));
    assert.throws(() => sm.truncate(2), /above the stable point/);
    sm.stabilize(3);
    sm.truncate(2);
    assert.equal(sm.executedBase, 2);
    assert.deepEqual(sm.executedRequests.map((r) => r?.clientId), ['d']);
    assert.equal(sm.executedAt(2), undefined);
    assert.equal(sm.executedAt(3)?.clientId, 'd');
    assert.deepEqual([...sm.executions.keys()], ['d#1']);
    assert.equal(sm.data.get('k'), '12');
    // A client table that let an old request through again (as a bug would) is caught.
    sm.clients.undo({ clientId: 'c', prev: undefined });
    assert.throws(() => sm.execute(4, req('c', 2, { op: 'append', key: 'k', value: '2' })), /at-most-once/);
  });

  it('restores a snapshot: data, client table, and the slot it was taken after', () => {
    const a = new KvStateMachine();
    a.execute(1, req('c', 1, { op: 'put', key: 'k', value: '1' }));
    a.execute(2, req('d', 1, { op: 'cas', key: 'k', from: '1', to: '2' }));
    const snap = JSON.parse(JSON.stringify(a.snapshot())) as ReturnType<KvStateMachine['snapshot']>; // as it crosses hosts
    const b = new KvStateMachine();
    b.execute(1, req('e', 1, { op: 'put', key: 'x', value: 'y' }));
    b.restore(snap, 2);
    assert.deepEqual(b.snapshot(), a.snapshot());
    assert.equal(b.lastExecuted, 2);
    assert.equal(b.stableUpTo, 2);
    assert.equal(b.data.get('x'), undefined);
    // A retry of a request executed before the snapshot is answered from it, not executed again.
    assert.deepEqual(b.execute(3, req('d', 1, { op: 'cas', key: 'k', from: '1', to: '2' })), { kind: 'duplicate', result: { ok: true } });
    assert.throws(() => b.rollbackTo(1), /below the stable point/);
  });
});

describe('workload and history', () => {
  it('the workload is a function of the seed', () => {
    const ops = (seed: number) => { const r = seededRandom(seed, 'c'); return Array.from({ length: 20 }, (_, i) => randomOp(r.next, 'c', i, new Map())); };
    assert.deepEqual(ops(1), ops(1));
    assert.notDeepEqual(ops(1), ops(2));
  });

  it('records invoke, ok and unknown in the checker format', () => {
    const h = new KvHistory();
    const a = h.invoke('c1', { op: 'put', key: 'k', value: 'v' }, 1);
    const b = h.invoke('c2', { op: 'get', key: 'k' }, 2);
    h.ok(a, {}, 3);
    h.unknown(b);
    const hist = h.history();
    assert.equal(hist.model, 'kv');
    assert.deepEqual(hist.operations.map((o) => [o.client, o.returnTime]), [['c1', 3], ['c2', null]]);
    assert.throws(() => h.ok(a, {}, 4), /not open/);
    assert.match(h.toJSON(), /"invokeTime":1,"returnTime":3/);
  });
});
