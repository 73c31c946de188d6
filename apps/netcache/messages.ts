// Messages of the NetCache baseline (SOSP 2017): one packet format the switch parses (op,
// keyhash, ids, version) with the key-value payload; the switch answers cached reads itself.
// The controller fills the cache through the server that owns a key.
import { Type, type TSchema } from '@sinclair/typebox';
import type { ActorRef } from '../../actors/index.ts';
import type { ControlReply, PacketIn } from '../../switch-model/index.ts';
import { KvOpSchema } from '../kv/kv.ts';
import { RefSchema } from '../oum/messages.ts';
import type { LoadMsg } from '../workload/client.ts';

/** GET/PUT from clients; REP_R/REP_W from servers (or REP_R from the switch's cache); CACHE_FILL from a server to the switch. */
export type NetCacheOp = 'GET' | 'PUT' | 'REP_R' | 'REP_W' | 'CACHE_FILL';

export const OP_CODE: Readonly<Record<NetCacheOp, number>> = { GET: 0, PUT: 1, REP_R: 2, REP_W: 3, CACHE_FILL: 4 };

export interface NetCache {
  readonly type: 'NetCache';
  readonly op: NetCacheOp;
  readonly keyhash: number;
  readonly clientId: number;
  readonly serverId: number;
  /** Writes: stamped by the switch. Replies and fills: the version the server holds. */
  readonly ver: number;
  /** 1 when the switch's cache answered. */
  readonly cached: number;
  readonly key: string;
  readonly value: string;
  readonly valueBytes: number;
  readonly session: number;
  readonly reqId: number;
  readonly sizeBytes: number;
  /** CACHE_FILL: the insertion it fills (FillRequest.fillGen); the switch takes no other. */
  readonly fillGen?: number;
}

/** Controller -> server: what version of `key` do you hold? */
export interface FillPrepare { readonly type: 'FillPrepare'; readonly key: string }
/** The version the server holds, and its value's size (a value the switch cannot hold is not cached). */
export interface FillVersion { readonly type: 'FillVersion'; readonly key: string; readonly ver: number; readonly valueBytes: number }
/**
 * Controller -> server: send `key`'s value to the switch (CACHE_FILL), marked with this
 * insertion's generation (the slot's fillGen register), so that a fill of an earlier insertion
 * that arrives late is not taken for this one's.
 */
export interface FillRequest { readonly type: 'FillRequest'; readonly key: string; readonly fillGen: number }
/**
 * Controller -> server: keep `epoch` as issued (-1: only tell the highest). The switch stamps
 * versions epoch * 2^32 + n; the controller reserves an epoch at a majority of the servers before
 * the switch stamps in it, so that after a switch or controller restart it can pick one above
 * every epoch used.
 */
export interface EpochReserve { readonly type: 'EpochReserve'; readonly epoch: number; readonly server: number; readonly replyTo: ActorRef<EpochReserved> }
/** The highest epoch the server knows reserved or in a version it holds. */
export interface EpochReserved { readonly type: 'EpochReserved'; readonly asked: number; readonly server: number; readonly highest: number }
export interface RetryTimeout { readonly type: 'RetryTimeout' }
export interface EpochTimeout { readonly type: 'EpochTimeout' }

export type ServerMsg = NetCache | FillPrepare | FillRequest | EpochReserve;
export type ClientMsg = NetCache | LoadMsg;
export type ControllerMsg = PacketIn | ControlReply | FillVersion | EpochReserved | RetryTimeout | EpochTimeout;

export const HEADER_BYTES = 64;

/** Versions are epoch * EPOCH_SPAN + n, below 2^53 (exact as numbers): epochs up to 2^21 - 1. */
export const EPOCH_SPAN = 2 ** 32;
export const MAX_EPOCH = 2 ** 21 - 1;

const Int = (max: number) => Type.Integer({ minimum: 0, maximum: max });
const Key = Type.String({ maxLength: 256 });

export const netcacheSchemas: Record<string, TSchema> = {
  NetCache: Type.Object({
    type: Type.Literal('NetCache'), op: Type.Union((Object.keys(OP_CODE) as NetCacheOp[]).map((o) => Type.Literal(o))),
    keyhash: Int(0xffffffff), clientId: Int(0xffff), serverId: Int(0xffff), ver: Int(Number.MAX_SAFE_INTEGER), cached: Int(1), key: Key,
    value: Type.String({ maxLength: 64 * 1024 }), valueBytes: Int(1 << 20), session: Int(0xffff), reqId: Int(Number.MAX_SAFE_INTEGER),
    sizeBytes: Int(1 << 21), fillGen: Type.Optional(Int(0xffffffff)),
  }),
  FillPrepare: Type.Object({ type: Type.Literal('FillPrepare'), key: Key }),
  FillVersion: Type.Object({ type: Type.Literal('FillVersion'), key: Key, ver: Int(Number.MAX_SAFE_INTEGER), valueBytes: Int(1 << 20) }),
  FillRequest: Type.Object({ type: Type.Literal('FillRequest'), key: Key, fillGen: Int(0xffffffff) }),
  EpochReserve: Type.Object({ type: Type.Literal('EpochReserve'), epoch: Type.Integer({ minimum: -1, maximum: MAX_EPOCH }), server: Int(0xffff), replyTo: RefSchema }),
  EpochReserved: Type.Object({ type: Type.Literal('EpochReserved'), asked: Type.Integer({ minimum: -1, maximum: MAX_EPOCH }), server: Int(0xffff), highest: Int(MAX_EPOCH) }),
  LoadInvoke: Type.Object({ type: Type.Literal('LoadInvoke'), op: KvOpSchema }),
};
