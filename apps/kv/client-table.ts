// The client table (Viewstamped Replication, NOPaxos section 5): for each client, the number
// of its latest request that was executed and the result. A client has one request
// outstanding at a time and numbers them 1, 2, 3...; so a request numbered below the latest
// is stale (its answer was already taken), the latest one again is a retry (answer from the
// table, do not execute twice), and a higher one is new. This is what makes execution
// at-most-once although clients retry and the network duplicates.
import type { KvResult } from './kv.ts';

export interface ClientTableEntry {
  readonly reqId: number;
  readonly result: KvResult;
}

export type ClientCheck =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate'; readonly result: KvResult }
  | { readonly kind: 'stale' };

/** What undoes one record: the client's entry before it. */
export interface ClientTableUndo {
  readonly clientId: string;
  readonly prev: ClientTableEntry | undefined;
}

/** Bound on the clients a table remembers (a limit on everything). */
export const MAX_CLIENTS = 1_000_000;

export class ClientTable {
  private readonly entries = new Map<string, ClientTableEntry>();

  get size(): number {
    return this.entries.size;
  }

  check(clientId: string, reqId: number): ClientCheck {
    const e = this.entries.get(clientId);
    if (e === undefined || reqId > e.reqId) return { kind: 'new' };
    if (reqId === e.reqId) return { kind: 'duplicate', result: e.result };
    return { kind: 'stale' };
  }

  /** Record the execution of a new request; returns what undoes it. */
  record(clientId: string, reqId: number, result: KvResult): ClientTableUndo {
    const prev = this.entries.get(clientId);
    if (prev !== undefined && !(reqId > prev.reqId)) {
      throw new Error(`client table: request ${reqId} of ${clientId} is not newer than ${prev.reqId}`);
    }
    if (prev === undefined && this.entries.size >= MAX_CLIENTS) throw new Error(`client table: more than ${MAX_CLIENTS} clients`);
    this.entries.set(clientId, { reqId, result });
    return { clientId, prev };
  }

  undo(u: ClientTableUndo): void {
    if (u.prev === undefined) this.entries.delete(u.clientId);
    else this.entries.set(u.clientId, u.prev);
  }

  get(clientId: string): ClientTableEntry | undefined {
    return this.entries.get(clientId);
  }

  /** Every client's entry, ordered by client id (a snapshot's content: the same table gives the same list). */
  list(): [string, ClientTableEntry][] {
    return [...this.entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Replace the whole table (installing a snapshot). */
  replaceAll(entries: readonly (readonly [string, ClientTableEntry])[]): void {
    if (entries.length > MAX_CLIENTS) throw new Error(`client table: more than ${MAX_CLIENTS} clients`);
    this.entries.clear();
    for (const [id, e] of entries) this.entries.set(id, e);
  }
}
