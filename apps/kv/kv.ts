// The key-value state machine replicated by every protocol here (NOPaxos, Multi-Paxos,
// unreplicated): a map from keys to strings, every key the empty string at first, with get,
// put, append and compare-and-set. The operations and results have the shapes of the
// linearizability checker's kv model (apps/linearizability/models.ts), so recorded histories
// are checked as they are.
//
// Pure and deterministic: `applyOp` returns the result and an undo record, so a replica that
// executed ahead of commit (a NOPaxos leader) can roll back exactly.
import { Type } from '@sinclair/typebox';

export type KvOp =
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'append'; readonly key: string; readonly value: string }
  | { readonly op: 'cas'; readonly key: string; readonly from: string; readonly to: string };

/** get: {value}; put and append: {}; cas: {ok}. */
export interface KvResult {
  readonly value?: string;
  readonly ok?: boolean;
}

/** Limits on what a request may carry (checked by the schemas on every frame from outside). */
export const MAX_KEY_BYTES = 256;
export const MAX_VALUE_BYTES = 64 * 1024;

const Key = Type.String({ maxLength: MAX_KEY_BYTES });
const Value = Type.String({ maxLength: MAX_VALUE_BYTES });

export const KvOpSchema = Type.Union([
  Type.Object({ op: Type.Literal('get'), key: Key }),
  Type.Object({ op: Type.Literal('put'), key: Key, value: Value }),
  Type.Object({ op: Type.Literal('append'), key: Key, value: Value }),
  Type.Object({ op: Type.Literal('cas'), key: Key, from: Value, to: Value }),
]);

export const KvResultSchema = Type.Object({ value: Type.Optional(Type.String()), ok: Type.Optional(Type.Boolean()) });

/** What undoes one operation: the key's value before it (undefined: the key was absent). */
export interface KvUndo {
  readonly key: string;
  readonly prev: string | undefined;
}

export type KvData = Map<string, string>;

/** Apply `op` to `data` (in place). `undo` is undefined for operations that changed nothing. */
export function applyOp(data: KvData, op: KvOp): { result: KvResult; undo: KvUndo | undefined } {
  switch (op.op) {
    case 'get':
      return { result: { value: data.get(op.key) ?? '' }, undo: undefined };
    case 'put': {
      const prev = data.get(op.key);
      data.set(op.key, op.value);
      return { result: {}, undo: { key: op.key, prev } };
    }
    case 'append': {
      const prev = data.get(op.key);
      data.set(op.key, (prev ?? '') + op.value);
      return { result: {}, undo: { key: op.key, prev } };
    }
    case 'cas': {
      const prev = data.get(op.key);
      if ((prev ?? '') !== op.from) return { result: { ok: false }, undo: undefined };
      data.set(op.key, op.to);
      return { result: { ok: true }, undo: { key: op.key, prev } };
    }
  }
}

export function undoOp(data: KvData, undo: KvUndo): void {
  if (undo.prev === undefined) data.delete(undo.key);
  else data.set(undo.key, undo.prev);
}

/** Does `op` change state? (Reads may be answered without ordering in some protocols.) */
export function isWrite(op: KvOp): boolean {
  return op.op !== 'get';
}

export function describeOp(op: KvOp): string {
  switch (op.op) {
    case 'get': return `get(${op.key})`;
    case 'put': return `put(${op.key}, ${op.value})`;
    case 'append': return `append(${op.key}, ${op.value})`;
    case 'cas': return `cas(${op.key}, ${op.from} -> ${op.to})`;
  }
}
