// Messages of the consistent-hashing baseline: clients address each request to its key's home
// server (by the ring); the top-of-rack switch forwards by server id and the reply back by
// client id. No replication, no directory: the baseline Pegasus is measured against.
import { Type, type TSchema } from '@sinclair/typebox';
import type { LoadMsg } from '../workload/client.ts';
import { KvOpSchema } from '../kv/kv.ts';

export type KvOpCode = 'GET' | 'PUT';

export interface KvHashRequest {
  readonly type: 'KvHashRequest';
  readonly op: KvOpCode;
  readonly key: string;
  readonly keyhash: number;
  readonly clientId: number;
  readonly session: number;
  readonly reqId: number;
  readonly serverId: number;
  readonly value: string;
  readonly valueBytes: number;
  /** Bytes on the wire (header, key and value): links and switch ports are timed by it. */
  readonly sizeBytes: number;
}

export interface KvHashReply {
  readonly type: 'KvHashReply';
  readonly op: KvOpCode;
  readonly key: string;
  readonly clientId: number;
  readonly session: number;
  readonly reqId: number;
  readonly serverId: number;
  readonly value: string;
  readonly sizeBytes: number;
}

export type KvHashServerMsg = KvHashRequest;
export type KvHashClientMsg = KvHashReply | LoadMsg;

/** Bytes of the headers (Ethernet, IP, UDP and the application header) of every message. */
export const HEADER_BYTES = 64;

const Int = (max: number) => Type.Integer({ minimum: 0, maximum: max });
const Key = Type.String({ maxLength: 256 });
const Value = Type.String({ maxLength: 64 * 1024 });
const Op = Type.Union([Type.Literal('GET'), Type.Literal('PUT')]);

export const kvHashSchemas: Record<string, TSchema> = {
  KvHashRequest: Type.Object({
    type: Type.Literal('KvHashRequest'), op: Op, key: Key, keyhash: Int(0xffffffff), clientId: Int(65_535), session: Int(65_535),
    reqId: Int(Number.MAX_SAFE_INTEGER), serverId: Int(65_535), value: Value, valueBytes: Int(1 << 20), sizeBytes: Int(1 << 21),
  }),
  KvHashReply: Type.Object({
    type: Type.Literal('KvHashReply'), op: Op, key: Key, clientId: Int(65_535), session: Int(65_535), reqId: Int(Number.MAX_SAFE_INTEGER),
    serverId: Int(65_535), value: Value, sizeBytes: Int(1 << 21),
  }),
  LoadInvoke: Type.Object({ type: Type.Literal('LoadInvoke'), op: KvOpSchema }),
};
