// The steps every fault-plan scenario runner shares (apps/kv/scenario.ts for the baselines,
// apps/nopaxos/scenario.ts for NOPaxos): play the plan's events at their times, heal, restart
// what is down, wait for the clients, and turn what went wrong into violations.
import { seededRandom, type SimRuntime } from '../../actors/index.ts';
import type { KvHistory } from '../history/history.ts';
import { checkHistory } from '../linearizability/checker.ts';
import type { History } from '../linearizability/history.ts';
import { kvModel, type KvInput, type KvOutput } from '../linearizability/models.ts';

/** Run `body`; an error it throws becomes a violation. False if it threw. */
export function guarded(violations: string[], body: () => void): boolean {
  try {
    body();
    return true;
  } catch (err) {
    violations.push((err as Error).message);
    return false;
  }
}

/** Drop about half the messages of type `msgType` (a stream seeded by the event) until the returned function is called. */
export function dropHalfOf(rt: SimRuntime, seed: number, eventId: number, msgType: string): () => void {
  const rr = seededRandom(seed, `drop-${eventId}`);
  return rt.network.addFilter((env) => (env.msg.type === msgType && rr.next() < 0.5 ? 'drop' : 'deliver'));
}

/**
 * Apply each event at its time, then heal at `healAtMs`: the network heals, every filter goes,
 * drops and duplicates stop, and each host `restartable()` names that is down restarts.
 */
export function playThenHeal<E extends { readonly atMs: number }>(
  rt: SimRuntime, plan: { readonly events: readonly E[]; readonly healAtMs: number }, apply: (e: E) => void, restartable: () => Iterable<string>,
): void {
  for (const e of plan.events) {
    if (e.atMs > rt.now()) rt.advance(e.atMs - rt.now());
    apply(e);
  }
  if (plan.healAtMs > rt.now()) rt.advance(plan.healAtMs - rt.now());
  rt.heal();
  rt.network.clearFilters();
  rt.network.setDefaults({ dropRate: 0, duplicateRate: 0 });
  for (const h of restartable()) if (!rt.system.hosts.get(h)!.up) rt.restart(h);
}

/** Liveness: every operation completes within `settleMs` of the heal. */
export function awaitCompletion(rt: SimRuntime, completed: () => number, total: number, settleMs: number, violations: string[]): void {
  if (!rt.runUntil(() => completed() >= total, settleMs)) {
    violations.push(`liveness: ${completed()} of ${total} operations completed ${settleMs} ms after the faults ended`);
  }
}

/** Every actor failure of the run, as violations. */
export function failureViolations(rt: SimRuntime, violations: string[]): void {
  for (const fl of rt.system.failureLog) violations.push(`${fl.actor.host}/${fl.actor.path} failed on ${fl.msgType}: ${(fl.error as Error).message}`);
}

/** The kv history's verdict: true or false, or null with a violation when the search gave up. */
export function checkKvHistory(history: KvHistory, maxSteps: number, violations: string[]): boolean | null {
  const res = checkHistory(kvModel(), history.history() as unknown as History<KvInput, KvOutput>, { maxSteps });
  if (res.verdict === 'linearizable') return true;
  if (res.verdict === 'not-linearizable') {
    violations.push(res.violation?.text ?? 'not linearizable');
    return false;
  }
  violations.push(`linearizability unknown (${res.reason})`);
  return null;
}
