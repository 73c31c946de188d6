// Workloads for the kv clients: a closed loop of random operations over a few keys, drawn
// from the client's seeded ctx.random (so a seed replays it exactly). Values are unique per
// client and operation, so a history shows exactly which write a read saw.
import type { KvOp } from './kv.ts';

export interface WorkloadOptions {
  /** Keys are k0 .. k(keys-1). */
  readonly keys?: number;
  /** Fractions of get, put, append; the rest are compare-and-set. */
  readonly getFraction?: number;
  readonly putFraction?: number;
  readonly appendFraction?: number;
}

export const DEFAULT_WORKLOAD: Required<WorkloadOptions> = { keys: 5, getFraction: 0.4, putFraction: 0.25, appendFraction: 0.2 };

/**
 * The `seq`-th operation of client `clientTag`. `lastSeen` holds the last value this client saw
 * per key, so that a compare-and-set has a fair chance to apply.
 */
export function randomOp(random: () => number, clientTag: string, seq: number, lastSeen: ReadonlyMap<string, string>, opts: WorkloadOptions = {}): KvOp {
  const o = { ...DEFAULT_WORKLOAD, ...opts };
  if (!(o.keys >= 1)) throw new RangeError('a workload needs at least one key');
  const key = `k${Math.floor(random() * o.keys)}`;
  const value = `${clientTag}.${seq}`;
  const x = random();
  if (x < o.getFraction) return { op: 'get', key };
  if (x < o.getFraction + o.putFraction) return { op: 'put', key, value };
  if (x < o.getFraction + o.putFraction + o.appendFraction) return { op: 'append', key, value: `${value};` };
  return { op: 'cas', key, from: lastSeen.get(key) ?? '', to: value };
}
