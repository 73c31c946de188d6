// What every kv storage server here keeps: a versioned store (a write applies only if its
// version is at least the stored one, so servers never go back, whatever order writes arrive
// in) and a client table for at-most-once writes, keyed by (client, session): each session has
// one request outstanding and numbers them 1, 2, 3..., so a request numbered below the latest is
// stale, the latest again is a retry (answer from the table), a higher one is new.

export interface Item {
  ver: number;
  value: string;
  valueBytes: number;
}

export interface ClientEntry {
  readonly reqId: number;
  readonly key: string;
  /** The version the write got, and what it wrote (a retry down a chain resends it as it was). */
  readonly ver: number;
  readonly value: string;
  readonly valueBytes: number;
}

export type ClientCheck = 'new' | 'duplicate' | 'stale';

/** Bounds (a limit on everything). */
export const MAX_ITEMS = 50_000_000;
export const MAX_SESSIONS = 10_000_000;

export function sessionKey(clientId: number, session: number): number {
  return clientId * 65_536 + session;
}

export class VersionedStore {
  readonly items = new Map<string, Item>();

  /** A store that starts holding `initial` (key, value bytes) at version 0, with no value characters. */
  constructor(initial?: readonly (readonly [string, number])[]) {
    if (initial) for (const [key, valueBytes] of initial) this.items.set(key, { ver: 0, value: '', valueBytes });
  }

  get(key: string): Item | undefined {
    return this.items.get(key);
  }

  /** The stored version of `key` (0 if never written). */
  version(key: string): number {
    return this.items.get(key)?.ver ?? 0;
  }

  /** Apply a write if `ver` is at least the stored version; returns whether it applied. */
  apply(key: string, ver: number, value: string, valueBytes: number): boolean {
    const it = this.items.get(key);
    if (it === undefined) {
      if (this.items.size >= MAX_ITEMS) throw new Error(`store: more than ${MAX_ITEMS} items`);
      this.items.set(key, { ver, value, valueBytes });
      return true;
    }
    if (ver < it.ver) return false;
    it.ver = ver;
    it.value = value;
    it.valueBytes = valueBytes;
    return true;
  }
}

export class ClientTable {
  readonly entries = new Map<number, ClientEntry>();

  check(sk: number, reqId: number): ClientCheck {
    const e = this.entries.get(sk);
    if (e === undefined || reqId > e.reqId) return 'new';
    return reqId === e.reqId ? 'duplicate' : 'stale';
  }

  get(sk: number): ClientEntry | undefined {
    return this.entries.get(sk);
  }

  record(sk: number, entry: ClientEntry): void {
    if (!this.entries.has(sk) && this.entries.size >= MAX_SESSIONS) throw new Error(`client table: more than ${MAX_SESSIONS} sessions`);
    this.entries.set(sk, entry);
  }

  /** Keep the newer of the stored entry and `entry` (merging tables from other servers). */
  merge(sk: number, entry: ClientEntry): void {
    const e = this.entries.get(sk);
    if (e === undefined || entry.reqId > e.reqId) this.record(sk, entry);
  }
}

/**
 * The sim cost model of a storage server (DESIGN.md "Performance"): virtual CPU time per
 * message received, per message sent, per operation executed, and per byte of value moved. The
 * same for every system compared, so differences come from where requests go, not from the
 * servers. About 10 us per small request: a server does some 100,000 requests per second.
 */
export interface StorageCosts {
  readonly recvMs: number;
  readonly sendMs: number;
  readonly executeMs: number;
  readonly perByteMs: number;
}

export const DEFAULT_STORAGE_COSTS: StorageCosts = { recvMs: 0.004, sendMs: 0.002, executeMs: 0.004, perByteMs: 0.000_002 };

/** Meters what one handler did; serviceTimeMs takes the total. */
export class StorageMeter {
  private totalMs = 0;
  constructor(readonly costs: StorageCosts = DEFAULT_STORAGE_COSTS) {}
  recv(bytes = 0): void { this.totalMs += this.costs.recvMs + bytes * this.costs.perByteMs; }
  send(bytes = 0): void { this.totalMs += this.costs.sendMs + bytes * this.costs.perByteMs; }
  execute(): void { this.totalMs += this.costs.executeMs; }
  take(): number {
    const t = this.totalMs;
    this.totalMs = 0;
    return t;
  }
}
