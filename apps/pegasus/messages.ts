// Messages of Pegasus (OSDI 2020), named as in the paper and its reference code
// (NUS-Systems-Lab/pegasus): one packet format whose header the switch parses (op, keyhash,
// client id, server id, load, version, server bitmap) followed by the key-value payload, and
// the control messages between the controller and the storage servers.
//
// Header fields we add to the reference's, the first four each for a failure it does not handle:
//   replicated  the switch's verdict "this key is an rkey" on a write (the TLA+ spec's
//               `replicated` flag): a server applies a write only if it agrees, which fences
//               writes routed under an older directory while rkeys are added or removed;
//   rf          the rkey's replication factor (pushes after a write go to rf-1 servers);
//   rack        the destination rack of a PUT_FWD (chain replication across racks);
//   from        the host that sent a PUT_FWD (a failed server's late forwards are fenced);
//   group       an RC_REQ the switch replicates to several servers (multicast): the writer sends
//               one push, not one per replica (see pushGroup in switch-program.ts).
import { Type, type TSchema } from '@sinclair/typebox';
import type { ActorRef } from '../../actors/index.ts';
import { KvOpSchema } from '../kv/kv.ts';
import type { LoadMsg } from '../workload/client.ts';
import type { ClientEntry } from '../kv-hash/store.ts';
import type { ControlReply } from '../../switch-model/index.ts';

export type PegasusOp = 'GET' | 'PUT' | 'DEL' | 'REP_R' | 'REP_W' | 'RC_REQ' | 'RC_ACK' | 'PUT_FWD';

/** Op codes as the switch parses them (the reference's numbering where it has one). */
export const OP_CODE: Readonly<Record<PegasusOp, number>> = {
  GET: 0, PUT: 1, DEL: 2, REP_R: 3, REP_W: 4, RC_REQ: 5, RC_ACK: 6, PUT_FWD: 7,
};

/** A reply whose client id is this goes no further than the switch (a chain acknowledgement). */
export const NO_CLIENT = 0xffff;

export interface Pegasus {
  readonly type: 'Pegasus';
  readonly op: PegasusOp;
  readonly keyhash: number;
  readonly clientId: number;
  /** Requests: the server it goes to. Replies and acks: the server that sends it. */
  readonly serverId: number;
  /** The sender's load (replies), for the least-loaded read policy. */
  readonly load: number;
  /** Writes: stamped by the head switch. Replies: the version the server holds or wrote. */
  readonly ver: number;
  /** Writes to an rkey: the replica set as the switch had it. Replies: 1 << serverId. */
  readonly bitmap: number;
  readonly replicated: number;
  readonly rf: number;
  readonly rack: number;
  readonly from: string;
  readonly key: string;
  readonly value: string;
  readonly valueBytes: number;
  readonly session: number;
  readonly reqId: number;
  readonly sizeBytes: number;
  /** RC_REQ: the multicast group the switch copies it to (instead of serverId); 0 or unset: none. */
  readonly group?: number;
  /** PUT_FWD: the incarnation of the sender's host (fences reject a failed incarnation, not a rejoined one). */
  readonly inc?: number;
}

// ---- controller <-> servers -----------------------------------------------------------------

export interface Ping { readonly type: 'Ping'; readonly seq: number }
/** `at`: the server's clock when it answered; a lease it is granted runs from then. */
export interface Pong { readonly type: 'Pong'; readonly seq: number; readonly rack: number; readonly serverId: number; readonly incarnation: number; readonly at: number }
/**
 * The controller holds the server live: it may serve until `at` + `leaseMs` by its own clock
 * (`at` from its Pong, so the time the Pong took only shortens the lease). The controller
 * fails a server over only once every lease it granted it has run out.
 */
export interface Lease { readonly type: 'Lease'; readonly incarnation: number; readonly at: number; readonly leaseMs: number }
/** A server whose host restarted says so (and again at every Ping until it rejoins); it serves nothing meanwhile. */
export interface Hello { readonly type: 'Hello'; readonly rack: number; readonly serverId: number; readonly incarnation: number }
/**
 * You were failed over while alive (answering late, or cut off from the controller): drop your
 * state, take the next incarnation (above the fence) and rejoin like a restarted server.
 */
export interface Retire { readonly type: 'Retire'; readonly incarnation: number }

export type EntryList = readonly (readonly [number, ClientEntry])[];
/** key, version, value, value bytes */
export type ItemList = readonly (readonly [string, number, string, number])[];

/** Adding rkeys, phase 1: treat `keys` as replicated from now on; answer with what goes with them. */
export interface RkeyPrepare { readonly type: 'RkeyPrepare'; readonly round: number; readonly keys: readonly string[] }
export interface RkeyPrepared {
  readonly type: 'RkeyPrepared'; readonly round: number; readonly rack: number; readonly serverId: number;
  /** The client-table entries of the keys; the items of the keys this server holds. Part `chunk` of `chunks` (transfer.ts). */
  readonly entries: EntryList; readonly items: ItemList; readonly chunk: number; readonly chunks: number;
}
/** Adding rkeys, phase 2: client-table entries of the keys, from every server, to merge (in parts). */
export interface RkeyEntries { readonly type: 'RkeyEntries'; readonly round: number; readonly entries: EntryList; readonly chunk: number; readonly chunks: number }
/** Removing rkeys, phase 1: no longer replicated; answer with the items and entries. */
export interface RkeyRelease { readonly type: 'RkeyRelease'; readonly round: number; readonly keys: readonly string[] }
export interface RkeyReleased {
  readonly type: 'RkeyReleased'; readonly round: number; readonly rack: number; readonly serverId: number;
  readonly entries: EntryList; readonly items: ItemList; readonly chunk: number; readonly chunks: number;
}
/** Removing rkeys, phase 2 (to each home): the newest items and the entries (in parts). */
export interface WriteBack {
  readonly type: 'WriteBack'; readonly round: number; readonly items: ItemList; readonly entries: EntryList; readonly chunk: number; readonly chunks: number;
}
/**
 * Reject forwarded writes from these hosts (failed servers) from now on: [host, below] rejects
 * the host's incarnations below `below` (the failed one and earlier), not a later one that rejoined.
 */
export interface Fence { readonly type: 'Fence'; readonly round: number; readonly hosts: readonly (readonly [string, number])[] }
/** Take over failed indices (`ids`): fetch state from `sources` before serving anything. */
export interface Recover {
  readonly type: 'Recover'; readonly round: number; readonly ids: readonly number[];
  readonly sources: readonly { readonly ref: ActorRef<FetchState>; readonly keys: readonly string[] | null }[];
}
/**
 * Rejoin, phase 1, to the server that serves `id` for a failed server: stop serving `id` (drop
 * every request addressed to it from now on) and answer with a snapshot of everything held.
 */
export interface Handover { readonly type: 'Handover'; readonly round: number; readonly id: number }
export interface HandedOver {
  readonly type: 'HandedOver'; readonly round: number; readonly rack: number; readonly serverId: number;
  /** Part `chunk` of `chunks` (transfer.ts); rkeys and fences are in part 0 only. */
  readonly chunk: number; readonly chunks: number;
  readonly items: ItemList; readonly entries: EntryList; readonly replicated: readonly string[];
  readonly fenced: readonly (readonly [string, number])[];
}
/** A rejoin was abandoned: serve `id` again (a later round than the Handover's). */
export interface Reclaim { readonly type: 'Reclaim'; readonly round: number; readonly id: number }
/** Rejoin, phase 2, to the restarted server (this incarnation only): replace the state with the snapshot; still serve nothing. */
export interface Install {
  readonly type: 'Install'; readonly round: number; readonly incarnation: number;
  /** Part `chunk` of `chunks` (transfer.ts); rkeys and fences are in part 0 only. */
  readonly chunk: number; readonly chunks: number;
  readonly items: ItemList; readonly entries: EntryList; readonly replicated: readonly string[];
  readonly fenced: readonly (readonly [string, number])[]; readonly chain: readonly number[];
}
/** Rejoin, phase 3: serve again (the switch maps the id back to this server next). */
export interface Serve { readonly type: 'Serve'; readonly round: number; readonly incarnation: number }
/**
 * A rack joins the chain again, as its tail: start over empty under the next incarnation (this
 * one's successor), with these fences and this chain; apply the writes forwarded from now on
 * and serve nothing else until a Recover of this server's own ids has brought the rest.
 */
export interface Join {
  readonly type: 'Join'; readonly round: number; readonly incarnation: number; readonly chain: readonly number[];
  readonly fenced: readonly (readonly [string, number])[];
}
/** Send back the whole store (keys null) or these keys, with the client table, as source `part` of the recovery. */
export interface FetchState { readonly type: 'FetchState'; readonly round: number; readonly part: number; readonly keys: readonly string[] | null; readonly replyTo: ActorRef<StateChunk> }
/** Part `chunk` of `chunks` (transfer.ts) of source `part`'s answer. */
export interface StateChunk {
  readonly type: 'StateChunk'; readonly round: number; readonly part: number; readonly chunk: number; readonly chunks: number;
  readonly items: ItemList; readonly entries: EntryList;
}
/** The racks of the chain, head first: servers forward along it, clients write to the head and read at the tail. */
export interface ChainConfig { readonly type: 'ChainConfig'; readonly round: number; readonly racks: readonly number[] }
/** The requests a server answers with an Ack (a client acknowledges ChainConfig too). */
export const ACKED = ['Fence', 'Recover', 'Install', 'Serve', 'Reclaim', 'Join', 'RkeyEntries', 'WriteBack', 'ChainConfig'] as const;
export type Acked = (typeof ACKED)[number];
/**
 * A server's acknowledgement of the controller's request `of` in `round`; a client's (rack
 * CLIENT_ACK, serverId its client id) of a ChainConfig. It names the request: one operation may
 * send one server several in turn, and a late copy of the ack of one must not end the wait for
 * the next.
 */
export interface Ack { readonly type: 'Ack'; readonly round: number; readonly of: Acked; readonly rack: number; readonly serverId: number; readonly host: string }
/** The `rack` of a client's Ack. */
export const CLIENT_ACK = 255;
/** A client (re)started: it knows only the chain it was configured with, and asks for the current one. */
export interface ChainQuery { readonly type: 'ChainQuery'; readonly clientId: number }
/** Every report period: the hottest keys this server saw (sampled). */
export interface HotKeys {
  readonly type: 'HotKeys'; readonly rack: number; readonly serverId: number;
  /** key, keyhash, sampled reads, sampled writes */
  readonly keys: readonly (readonly [string, number, number, number])[];
}

// ---- timers ----------------------------------------------------------------------------------

export interface ReportTimeout { readonly type: 'ReportTimeout' }
/** A server's next part of a state transfer (one a turn: its Pings are answered in between). */
export interface SendTimeout { readonly type: 'SendTimeout' }
/** The controller's next round of pushes of newly added rkeys. */
export interface PaceTimeout { readonly type: 'PaceTimeout' }
export interface ProbeTimeout { readonly type: 'ProbeTimeout' }
export interface RetryTimeout { readonly type: 'RetryTimeout' }
export interface EpochTimeout { readonly type: 'EpochTimeout' }

// ---- from outside (tests, scenarios) ---------------------------------------------------------

export interface AddRkeys { readonly type: 'AddRkeys'; readonly keys: readonly string[] }
export interface RemoveRkeys { readonly type: 'RemoveRkeys'; readonly keys: readonly string[] }

export type ServerMsg =
  | Pegasus | Ping | RkeyPrepare | RkeyEntries | RkeyRelease | WriteBack | Fence | Recover | FetchState | StateChunk
  | ChainConfig | ReportTimeout | SendTimeout | Handover | Reclaim | Install | Serve | Retire | Lease | Join;
export type ClientMsg = Pegasus | ChainConfig | LoadMsg;
export type ControllerMsg =
  | Pong | Hello | RkeyPrepared | RkeyReleased | Ack | HandedOver | HotKeys | ControlReply | ProbeTimeout | RetryTimeout | EpochTimeout | PaceTimeout
  | AddRkeys | RemoveRkeys | ChainQuery;

// ---- schemas -----------------------------------------------------------------------------------

const Int = (max: number) => Type.Integer({ minimum: 0, maximum: max });
const Key = Type.String({ maxLength: 256 });
const Value = Type.String({ maxLength: 64 * 1024 });
const Host = Type.String({ maxLength: 200 });
const Ref = Type.Object({ host: Host, path: Type.String({ maxLength: 200 }) });
/** Versions: epoch and counter below 2^53 (switch-program.ts EPOCH_SHIFT). */
const Ver = Int(Number.MAX_SAFE_INTEGER);
const Round = Int(Number.MAX_SAFE_INTEGER);
const Entry = Type.Object({ reqId: Int(Number.MAX_SAFE_INTEGER), key: Key, ver: Ver, value: Value, valueBytes: Int(1 << 20) });
const Entries = Type.Array(Type.Tuple([Int(Number.MAX_SAFE_INTEGER), Entry]), { maxItems: 1_000_000 });
const Items = Type.Array(Type.Tuple([Key, Ver, Value, Int(1 << 20)]), { maxItems: 10_000_000 });
const Keys = Type.Array(Key, { maxItems: 4096 });
const Fences = Type.Array(Type.Tuple([Host, Round]), { maxItems: 4096 });
/** Parts of one transfer, at most: one item each, of a store of a million keys. */
const MAX_CHUNKS = 1 << 20;
const Chunk = Int(MAX_CHUNKS - 1);
const Chunks = Type.Integer({ minimum: 1, maximum: MAX_CHUNKS });
const Op = Type.Union((Object.keys(OP_CODE) as PegasusOp[]).map((o) => Type.Literal(o)));

export const pegasusSchemas: Record<string, TSchema> = {
  Pegasus: Type.Object({
    type: Type.Literal('Pegasus'), op: Op, keyhash: Int(0xffffffff), clientId: Int(0xffff), serverId: Int(0xffff), load: Int(0xffff),
    ver: Ver, bitmap: Int(0xffffffff), replicated: Int(1), rf: Int(255), rack: Int(255), from: Host, key: Key, value: Value,
    valueBytes: Int(1 << 20), session: Int(0xffff), reqId: Int(Number.MAX_SAFE_INTEGER), sizeBytes: Int(1 << 21),
    group: Type.Optional(Int(0xffff)), inc: Type.Optional(Round),
  }),
  Ping: Type.Object({ type: Type.Literal('Ping'), seq: Round }),
  Pong: Type.Object({ type: Type.Literal('Pong'), seq: Round, rack: Int(255), serverId: Int(0xffff), incarnation: Round, at: Type.Number({ minimum: 0 }) }),
  Lease: Type.Object({ type: Type.Literal('Lease'), incarnation: Round, at: Type.Number({ minimum: 0 }), leaseMs: Type.Number({ minimum: 0 }) }),
  Hello: Type.Object({ type: Type.Literal('Hello'), rack: Int(255), serverId: Int(0xffff), incarnation: Round }),
  RkeyPrepare: Type.Object({ type: Type.Literal('RkeyPrepare'), round: Round, keys: Keys }),
  RkeyPrepared: Type.Object({
    type: Type.Literal('RkeyPrepared'), round: Round, rack: Int(255), serverId: Int(0xffff), entries: Entries, chunk: Chunk, chunks: Chunks,
    items: Type.Array(Type.Tuple([Key, Ver, Value, Int(1 << 20)]), { maxItems: 4096 }),
  }),
  RkeyEntries: Type.Object({ type: Type.Literal('RkeyEntries'), round: Round, entries: Entries, chunk: Chunk, chunks: Chunks }),
  RkeyRelease: Type.Object({ type: Type.Literal('RkeyRelease'), round: Round, keys: Keys }),
  RkeyReleased: Type.Object({
    type: Type.Literal('RkeyReleased'), round: Round, rack: Int(255), serverId: Int(0xffff), entries: Entries, items: Items, chunk: Chunk, chunks: Chunks,
  }),
  WriteBack: Type.Object({ type: Type.Literal('WriteBack'), round: Round, items: Items, entries: Entries, chunk: Chunk, chunks: Chunks }),
  Fence: Type.Object({ type: Type.Literal('Fence'), round: Round, hosts: Fences }),
  Recover: Type.Object({
    type: Type.Literal('Recover'), round: Round, ids: Type.Array(Int(0xffff), { maxItems: 256 }),
    sources: Type.Array(Type.Object({ ref: Ref, keys: Type.Union([Keys, Type.Null()]) }), { maxItems: 1024 }),
  }),
  FetchState: Type.Object({ type: Type.Literal('FetchState'), round: Round, part: Int(1024), keys: Type.Union([Keys, Type.Null()]), replyTo: Ref }),
  StateChunk: Type.Object({ type: Type.Literal('StateChunk'), round: Round, part: Int(1024), chunk: Chunk, chunks: Chunks, items: Items, entries: Entries }),
  ChainConfig: Type.Object({ type: Type.Literal('ChainConfig'), round: Round, racks: Type.Array(Int(255), { maxItems: 255 }) }),
  ChainQuery: Type.Object({ type: Type.Literal('ChainQuery'), clientId: Int(0xffff) }),
  Ack: Type.Object({ type: Type.Literal('Ack'), round: Round, of: Type.Union(ACKED.map((t) => Type.Literal(t))), rack: Int(255), serverId: Int(0xffff), host: Host }),
  HotKeys: Type.Object({
    type: Type.Literal('HotKeys'), rack: Int(255), serverId: Int(0xffff),
    keys: Type.Array(Type.Tuple([Key, Int(0xffffffff), Round, Round]), { maxItems: 1024 }),
  }),
  Handover: Type.Object({ type: Type.Literal('Handover'), round: Round, id: Int(0xffff) }),
  HandedOver: Type.Object({
    type: Type.Literal('HandedOver'), round: Round, rack: Int(255), serverId: Int(0xffff), chunk: Chunk, chunks: Chunks, items: Items, entries: Entries, replicated: Keys, fenced: Fences,
  }),
  Reclaim: Type.Object({ type: Type.Literal('Reclaim'), round: Round, id: Int(0xffff) }),
  Install: Type.Object({
    type: Type.Literal('Install'), round: Round, incarnation: Round, chunk: Chunk, chunks: Chunks, items: Items, entries: Entries, replicated: Keys, fenced: Fences,
    chain: Type.Array(Int(255), { maxItems: 255 }),
  }),
  Serve: Type.Object({ type: Type.Literal('Serve'), round: Round, incarnation: Round }),
  Retire: Type.Object({ type: Type.Literal('Retire'), incarnation: Round }),
  Join: Type.Object({ type: Type.Literal('Join'), round: Round, incarnation: Round, chain: Type.Array(Int(255), { maxItems: 255 }), fenced: Fences }),
  AddRkeys: Type.Object({ type: Type.Literal('AddRkeys'), keys: Keys }),
  RemoveRkeys: Type.Object({ type: Type.Literal('RemoveRkeys'), keys: Keys }),
  LoadInvoke: Type.Object({ type: Type.Literal('LoadInvoke'), op: KvOpSchema }),
};

/** Bytes of the headers (Ethernet, IP, UDP and Pegasus) of every packet. */
export const HEADER_BYTES = 64;
