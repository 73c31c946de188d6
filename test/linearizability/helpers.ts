// Shared by the linearizability tests: where the testdata lives, an independent (slow, simple)
// reference checker to compare verdicts with, and a verifier for the checker's witnesses.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckResult } from '../../apps/linearizability/checker.ts';
import { parseEdnHistory, parseJepsenLog, type History, type Operation } from '../../apps/linearizability/history.ts';
import type { AnyModel } from '../../apps/linearizability/models.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The shared testdata folder (SWITCHBOARD_TESTDATA overrides ../shared/testdata). */
export const testdataRoot = process.env['SWITCHBOARD_TESTDATA'] ?? path.resolve(repoRoot, '../shared/testdata');
export const linDir = path.join(testdataRoot, 'linearizability');

export interface ExpectedRow { file: string; model: string; linearizable: boolean }

export function readExpected(): ExpectedRow[] {
  const rows = readFileSync(path.join(linDir, 'expected.tsv'), 'utf8').trim().split('\n').slice(1);
  return rows.map((row) => {
    const [file, model, linearizable] = row.split('\t');
    return { file: file!, model: model!, linearizable: linearizable === 'true' };
  });
}

export function loadTestdata(file: string): History<unknown, unknown> {
  const text = readFileSync(path.join(linDir, file), 'utf8');
  return file.startsWith('kv/') ? parseEdnHistory(text) : parseJepsenLog(text);
}

/**
 * A reference checker written apart from the real one: a depth-first search over "which operations
 * have taken effect", recomputing the candidates from scratch each time, with a memo of string
 * keys. Returns undefined when it runs out of `maxNodes`.
 */
export function referenceCheck(model: AnyModel, ops: Operation<any, any>[], maxNodes = 200_000): boolean | undefined {
  const groups = new Map<string, Operation<any, any>[]>();
  for (const op of ops) {
    const key = model.partitionKey === undefined ? '' : model.partitionKey(op.input);
    groups.set(key, [...(groups.get(key) ?? []), op]);
  }
  let nodes = 0;
  for (const group of groups.values()) {
    const n = group.length;
    const done = new Array<boolean>(n).fill(false);
    const knownTotal = group.filter((op) => op.returnTime !== null).length;
    const seen = new Set<string>();
    const dfs = (state: unknown, knownDone: number): boolean | undefined => {
      if (knownDone === knownTotal) return true;
      if (++nodes > maxNodes) return undefined;
      const key = done.map((d) => (d ? '1' : '0')).join('') + '|' + JSON.stringify(state);
      if (seen.has(key)) return false;
      seen.add(key);
      let firstReturn = Infinity;
      for (let i = 0; i < n; i++) if (!done[i] && group[i]!.returnTime !== null) firstReturn = Math.min(firstReturn, group[i]!.returnTime!);
      for (let i = 0; i < n; i++) {
        const op = group[i]!;
        if (done[i] || op.invokeTime > firstReturn) continue;
        const r = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
        if (!r.ok) continue;
        done[i] = true;
        const sub = dfs(r.next, knownDone + (op.returnTime === null ? 0 : 1));
        done[i] = false;
        if (sub !== false) return sub;
      }
      return false;
    };
    const verdict = dfs(model.init(), 0);
    if (verdict !== true) return verdict;
  }
  return true;
}

/**
 * Checks a witness: every partition's linearization contains each operation with a known outcome
 * once, respects real time (an operation that returned before another was invoked comes first),
 * and replays on the model. Returns a reason, or undefined when the witness holds.
 */
export function verifyWitness(model: AnyModel, history: History<any, any>, result: CheckResult): string | undefined {
  const ops = history.operations;
  for (const part of result.partitionResults) {
    const order = part.linearization;
    if (order === undefined) return `partition ${part.key}: no linearization`;
    const inPart = ops.filter((op) => model.partitionKey === undefined || model.partitionKey(op.input) === part.key);
    const used = new Set(order);
    if (used.size !== order.length) return `partition ${part.key}: an operation appears twice`;
    for (const op of inPart) if (op.returnTime !== null && !used.has(op.id)) return `partition ${part.key}: #${op.id} is missing`;
    for (let i = 0; i < order.length; i++) {
      for (let j = i + 1; j < order.length; j++) {
        const a = ops[order[i]!]!;
        const b = ops[order[j]!]!;
        if (b.returnTime !== null && b.returnTime < a.invokeTime) return `#${b.id} returned before #${a.id} was invoked but comes after it`;
      }
    }
    let state = model.init();
    for (const id of order) {
      const op = ops[id]!;
      const r = model.step(state, op.input, op.returnTime === null ? undefined : op.output);
      if (!r.ok) return `#${id} (${model.describeOperation(op.input, op.output)}) cannot happen in state ${model.describeState(state)}`;
      state = r.next;
    }
  }
  return undefined;
}
