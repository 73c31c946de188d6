// Messages of the Multi-Paxos baseline, with the names of the reference code base's
// Viewstamped Replication (specpaxos vr): the leader sends Prepare (Paxos phase 2a: accept
// this batch in this slot), followers answer PrepareOK (2b), and Commit tells them how far
// they may execute. The leader is stable (view 0): this is the baseline of the NOPaxos paper's
// throughput and latency figures, not a fault-tolerance study.
import { Type, type TSchema } from '@sinclair/typebox';
import type { ClientStart, Invoke, ThinkTimeout } from '../kv/driver.ts';
import { directSchemas, RequestSchema, type Reply, type Request, type RequestTimeout } from '../kv/direct-client.ts';

export type { Reply, Request };

export interface Prepare {
  readonly type: 'Prepare';
  readonly view: number;
  /** The slot; a slot holds one batch of requests. */
  readonly opNum: number;
  readonly requests: readonly Request[];
  /** The leader's commit point, piggybacked. */
  readonly commitNum: number;
}

export interface PrepareOK {
  readonly type: 'PrepareOK';
  readonly view: number;
  /** Every slot up to here is accepted (cumulative). */
  readonly opNum: number;
  readonly replicaIdx: number;
}

export interface Commit {
  readonly type: 'Commit';
  readonly view: number;
  readonly commitNum: number;
}

export interface ResendTimeout { readonly type: 'ResendTimeout' }
export interface CommitTimeout { readonly type: 'CommitTimeout' }

export type ReplicaMsg = Request | Prepare | PrepareOK | Commit | ResendTimeout | CommitTimeout;
export type ClientMsg = ClientStart | Invoke | ThinkTimeout | Reply | RequestTimeout;

/** A batch carries at most this many requests. */
export const MAX_BATCH = 1024;

const Nat = Type.Integer({ minimum: 0 });

export const paxosSchemas: Record<string, TSchema> = {
  ...directSchemas,
  Prepare: Type.Object({
    type: Type.Literal('Prepare'), view: Nat, opNum: Type.Integer({ minimum: 1 }),
    requests: Type.Array(RequestSchema, { maxItems: MAX_BATCH }), commitNum: Nat,
  }),
  PrepareOK: Type.Object({ type: Type.Literal('PrepareOK'), view: Nat, opNum: Nat, replicaIdx: Nat }),
  Commit: Type.Object({ type: Type.Literal('Commit'), view: Nat, commitNum: Nat }),
};
