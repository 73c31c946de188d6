// Recording and reading histories: the recorder, the JSON format (round trip), the Jepsen and EDN
// parsers on the rules of the testdata README, and clear errors with line numbers for bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, decodeHistory } from '../../apps/linearizability/checker.ts';
import {
  formatJsonHistory, HistoryParseError, HistoryRecorder, parseEdnHistory, parseHistory, parseJepsenLog, parseJsonHistory,
} from '../../apps/linearizability/history.ts';
import { etcdModel, kvModel, registerModel } from '../../apps/linearizability/models.ts';

function parseError(fn: () => unknown, line: number | undefined, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HistoryParseError, String(err));
    assert.equal(err.line, line, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('HistoryRecorder', () => {
  it('records invocations, results, unknown outcomes and failures', () => {
    const rec = new HistoryRecorder<unknown, unknown>('etcd');
    const a = rec.invoke(0, { op: 'write', value: 1 }, 0);
    const b = rec.invoke(1, { op: 'read' }, 1);
    rec.ok(a, {}, 2);
    rec.ok(b, { value: 1 }, 3);
    const c = rec.invoke(0, { op: 'write', value: 2 }, 4);
    rec.unknown(c);
    const d = rec.invoke(0, { op: 'write', value: 3 }, 5);
    rec.failed(d); // did not happen: left out
    rec.invoke(1, { op: 'read' }, 6); // still open: unknown
    const h = rec.history();
    assert.equal(h.model, 'etcd');
    assert.deepEqual(h.operations.map((op) => [op.id, op.client, op.returnTime]), [[0, 0, 2], [1, 1, 3], [2, 0, null], [3, 1, null]]);
    assert.equal(checkHistory(etcdModel(), decodeHistory(etcdModel(), h)).verdict, 'linearizable');
  });

  it('refuses a second open operation per client and closing twice', () => {
    const rec = new HistoryRecorder<unknown, unknown>();
    const a = rec.invoke('c', { op: 'read' }, 0);
    assert.throws(() => rec.invoke('c', { op: 'read' }, 1), /still open/);
    rec.ok(a, { value: null }, 2);
    assert.throws(() => rec.ok(a, { value: null }, 3), /not open/);
  });
});

describe('JSON format', () => {
  it('round-trips through formatJsonHistory', () => {
    const rec = new HistoryRecorder<unknown, unknown>('kv');
    const a = rec.invoke(0, { op: 'put', key: 'k', value: 'v' }, 0);
    rec.ok(a, {}, 1);
    const b = rec.invoke(1, { op: 'get', key: 'k' }, 2);
    rec.unknown(b);
    const h = rec.history();
    const text = formatJsonHistory(h);
    const back = parseJsonHistory(text);
    assert.equal(back.model, 'kv');
    assert.deepEqual(back.operations.map(({ line: _line, ...op }) => op), h.operations);
    assert.deepEqual(back.operations.map((op) => op.line), [4, 5]);
  });

  it('accepts a bare array and "process" for "client"', () => {
    const h = parseJsonHistory('[{"process": 3, "input": {"op": "read"}, "output": {"value": null}, "invokeTime": 0, "returnTime": 1}]');
    assert.equal(h.operations[0]!.client, 3);
    assert.equal(checkHistory(registerModel(), decodeHistory(registerModel(), h)).verdict, 'linearizable');
  });

  it('reports syntax errors with line and column', () => {
    parseError(() => parseJsonHistory('{\n  "operations": [\n    {"client": 0,}\n  ]\n}'), 3, /line 3:18: invalid JSON/);
    parseError(() => parseJsonHistory('{"operations": [\n'), 2, /invalid JSON: unexpected end/);
    parseError(() => parseJsonHistory('{"operations": 3}'), 1, /"operations" array/);
  });

  it('reports bad operations with their index and line', () => {
    const text = '{"operations": [\n{"client": 0, "input": {"op": "read"}, "output": {"value": 1}, "invokeTime": 0, "returnTime": 1},\n{"client": 0, "input": {"op": "read"}, "invokeTime": 5, "returnTime": 2}\n]}';
    parseError(() => parseJsonHistory(text), 3, /operations\[1\]: "returnTime" is before "invokeTime"/);
    parseError(() => parseJsonHistory('[{"client": 0, "invokeTime": 0}]'), 1, /"input" is missing/);
    parseError(() => parseJsonHistory('[{"client": true, "input": 1, "invokeTime": 0}]'), 1, /"client" must be/);
  });

  it('has inputs and outputs checked by the model, with the line', () => {
    const text = '[\n{"client": 0, "input": {"op": "read"}, "output": {"value": 1}, "invokeTime": 0, "returnTime": 1},\n{"client": 0, "input": {"op": "cas", "from": 1}, "output": {"ok": true}, "invokeTime": 2, "returnTime": 3}\n]';
    parseError(() => decodeHistory(etcdModel(), parseJsonHistory(text)), 3, /operation 1: etcd cas: "to" must be/);
    parseError(() => decodeHistory(registerModel(), parseJsonHistory(text)), 3, /"op" must be one of "read", "write"/);
    parseError(() => decodeHistory(kvModel(), parseJsonHistory(text)), 2, /kv read|"op" must be one of/);
  });
});

describe('Jepsen etcd logs', () => {
  const log = (lines: string[]): string => lines.map((l) => `INFO  jepsen.util - ${l}`).join('\n');

  it('reads invocations, results, fails, infos and process ids', () => {
    const h = parseJepsenLog([
      'some other log output',
      log(['0\t:invoke\t:read\tnil', '1\t:invoke\t:write\t3', '0\t:ok\t:read\tnil', '1\t:ok\t:write\t3']),
      'INFO  jepsen.core - Run complete, writing',
      log(['2\t:invoke\t:cas\t[2 4]', '2\t:fail\t:cas\t[2 4]', '3\t:invoke\t:cas\t[3 1]', '3\t:info\t:cas\t:timed-out',
        '4    :invoke :read   nil', '4  :fail  :read  :timed-out', '4\t:invoke\t:write\t2', '5\t:invoke\t:read\tnil']),
    ].join('\n'));
    assert.deepEqual(h.operations.map((op) => [op.client, op.input, op.output, op.invokeTime, op.returnTime]), [
      [0, { op: 'read' }, { value: null }, 2, 4],
      [1, { op: 'write', value: 3 }, {}, 3, 5],
      [2, { op: 'cas', from: 2, to: 4 }, { ok: false }, 7, 8],
      [3, { op: 'cas', from: 3, to: 1 }, undefined, 9, null], // :info: unknown
      [4, { op: 'read' }, undefined, 11, null], // :fail :read :timed-out constrains nothing
      [4, { op: 'write', value: 2 }, undefined, 13, null], // never answered
      [5, { op: 'read' }, undefined, 14, null],
    ]);
    assert.equal(checkHistory(etcdModel(), decodeHistory(etcdModel(), h)).verdict, 'linearizable');
  });

  it('leaves out a write that failed (it did not happen), but not one that timed out', () => {
    const h = parseJepsenLog(log(['1\t:invoke\t:write\t3', '1\t:fail\t:write\t3', '0\t:invoke\t:read\tnil', '0\t:ok\t:read\tnil']));
    assert.equal(h.operations.length, 1);
    assert.equal(h.operations[0]!.id, 0);
    const t = parseJepsenLog(log(['1\t:invoke\t:write\t3', '1\t:fail\t:write\t:timed-out', '0\t:invoke\t:read\tnil', '0\t:ok\t:read\t3']));
    assert.deepEqual(t.operations.map((op) => op.returnTime), [null, 4]);
    assert.equal(checkHistory(etcdModel(), decodeHistory(etcdModel(), t)).verdict, 'linearizable');
  });

  it('reports malformed events with their line', () => {
    parseError(() => parseJepsenLog(log(['0\t:invoke\t:read\tnil', '0\t:ok\t:read\tfoo bar'])), 2, /malformed value/);
    parseError(() => parseJepsenLog(log(['0\t:invoke\t:frob\t1'])), 1, /malformed Jepsen event/);
    parseError(() => parseJepsenLog(log(['0\t:invoke\t:read\tnil', '0\t:invoke\t:read\tnil'])), 2, /still open/);
    parseError(() => parseJepsenLog(log(['0\t:ok\t:read\t1'])), 1, /no open operation/);
    parseError(() => parseJepsenLog(log(['0\t:invoke\t:read\tnil', '0\t:ok\t:write\t1'])), 2, /is :read/);
    parseError(() => parseJepsenLog(log(['0\t:invoke\t:cas\t[1 2]', '0\t:ok\t:cas\t[1 3]'])), 2, /does not match/);
    parseError(() => parseJepsenLog(log(['0\t:invoke\t:write\tnil'])), 1, /takes an integer/);
  });

  it('is the format parseHistory picks for "jepsen"', () => {
    assert.equal(parseHistory(log(['0\t:invoke\t:read\tnil']), 'jepsen').operations.length, 1);
  });
});

describe('EDN kv format', () => {
  it('reads kv events, keywords, strings with escapes, nil and :info', () => {
    const h = parseEdnHistory([
      '{:process 0, :type :invoke, :f :append, :key "0", :value "x \\"0\\" y"}',
      '; a comment',
      '',
      '{:process 1, :type :invoke, :f :get, :key "0", :value nil}',
      '{:process 0, :type :ok, :f :append, :key "0", :value "x \\"0\\" y"}',
      '{:process :nemesis, :type :info, :f :start, :value nil}',
      '{:process 1 :type :ok :f :get :key "0" :value "x \\"0\\" y"}',
      '{:process 2, :type :invoke, :f :cas, :key "0", :value ["a" "b"]}',
      '{:process 2, :type :fail, :f :cas, :key "0", :value ["a" "b"]}',
      '{:process 3, :type :invoke, :f :put, :key "1", :value "z"}',
      '{:process 3, :type :info, :f :put, :key "1", :value "z"}',
    ].join('\n'));
    assert.equal(h.model, 'kv');
    assert.deepEqual(h.operations.map((op) => [op.client, op.input, op.output, op.invokeTime, op.returnTime]), [
      [0, { op: 'append', key: '0', value: 'x "0" y' }, {}, 1, 5],
      [1, { op: 'get', key: '0' }, { value: 'x "0" y' }, 4, 7],
      [2, { op: 'cas', key: '0', from: 'a', to: 'b' }, { ok: false }, 8, 9],
      [3, { op: 'put', key: '1', value: 'z' }, undefined, 10, null],
    ]);
    assert.equal(checkHistory(kvModel(), decodeHistory(kvModel(), h)).verdict, 'linearizable');
  });

  it('reads register events without a key', () => {
    const h = parseEdnHistory('{:process 0, :type :invoke, :f :write, :value 3}\n{:process 0, :type :ok, :f :write, :value 3}\n{:process 1, :type :invoke, :f :read, :value nil}\n{:process 1, :type :ok, :f :read, :value 3}');
    assert.equal(checkHistory(etcdModel(), decodeHistory(etcdModel(), h)).verdict, 'linearizable');
  });

  it('reports malformed lines with line and column', () => {
    parseError(() => parseEdnHistory('{:process 0, :type :invoke, :f :get, :key "0", :value nil}\n{:process 0, :type :ok, :f :get, :key "0", :value "abc}'), 2, /line 2:\d+: unterminated string/);
    parseError(() => parseEdnHistory('{:process 0, :type :invoke, :f :get, :key "0"'), 1, /unexpected end of line/);
    parseError(() => parseEdnHistory('[1 2]'), 1, /must be a map/);
    parseError(() => parseEdnHistory('{:process 0, :type :begin, :f :get, :key "0"}'), 1, /:type must be/);
    parseError(() => parseEdnHistory('{:process 0, :type :invoke, :f :read, :key "0"}'), 1, /:f :read is not one of :get :put :append :cas/);
    parseError(() => parseEdnHistory('{:process 0, :type :invoke, :f :get, :key "0"} x'), 1, /unexpected text/);
    parseError(() => parseEdnHistory('{"process" 0}'), 1, /map keys must be keywords/);
    parseError(() => parseEdnHistory('{:process 0, :type :ok, :f :get, :key "0", :value nil}'), 1, /no open operation/);
  });
});

describe('histories recorded by the kv clients (apps/history)', () => {
  it('are checked with the kv model as they are', async () => {
    const { KvHistory } = await import('../../apps/history/history.ts');
    const rec = new KvHistory();
    const a = rec.invoke(0, { op: 'put', key: 'k', value: 'a' }, 0);
    const b = rec.invoke(1, { op: 'append', key: 'k', value: 'b' }, 1);
    rec.ok(a, {}, 2);
    rec.ok(b, {}, 3);
    const c = rec.invoke(0, { op: 'get', key: 'k' }, 4);
    rec.ok(c, { value: 'ab' }, 5);
    rec.unknown(rec.invoke(1, { op: 'cas', key: 'k', from: 'ab', to: 'c' }, 6));
    assert.equal(checkHistory(kvModel(), rec.history()).verdict, 'linearizable');
    const viaJson = decodeHistory(kvModel(), parseJsonHistory(rec.toJSON()));
    assert.equal(checkHistory(kvModel(), viaJson).verdict, 'linearizable');
  });
});
