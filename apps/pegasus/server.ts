// The Pegasus storage server (reference: emulation/apps/memcachekv/server.cc; TLA+ HandleWrite,
// HandleRead): a versioned key-value store that applies a write only if its version is at
// least the stored one, a client table for at-most-once writes, RC_REQ/RC_ACK replication, the
// load it piggybacks on every reply, and sampled request counts reported to the controller.
//
// Chain replication across racks: a server that applied a write (PUT, or PUT_FWD from the rack
// before) forwards it as PUT_FWD to the same server index in the next rack of the chain; the
// tail answers the client. A retry that finds the request in the client table is answered (at
// the tail) or forwarded again with the version it first got (elsewhere), never executed twice.
//
// What the reference leaves out and this server does:
//  - it checks the write's `replicated` flag against its own view of the rkeys (the TLA+
//    spec's guard), so that writes routed under an older directory are dropped while the
//    controller adds or removes rkeys (the client retries);
//  - it rejects forwarded writes from failed servers (Fence);
//  - it takes over failed indices by fetching their state first (Recover), serving nothing
//    meanwhile; a restarted server (ctx.incarnation > 0) comes back empty, says Hello and serves
//    nothing until it rejoins: the server that took its index over hands it back (Handover:
//    from then on it drops every request addressed to that index, and sends a snapshot), the
//    restarted server installs the snapshot (Install), then serves (Serve);
//  - it serves only under a lease from the controller (Lease, granted on its Pongs while the
//    controller holds it live): one the controller failed over while alive (it answered too
//    late, or was cut off) has stopped serving by then, whatever it can be told;
//  - such a server is told so (Retire) once it answers again: it drops its state and rejoins
//    like a restarted server, under the next incarnation (incarnationOf), which the fence of the
//    failed one lets through;
//  - a rack that left the chain joins it again as its tail (Join): each server starts over
//    empty under its next incarnation, applies the writes forwarded to it from then on, and
//    fetches everything else from another rack (Recover of its own ids) before it serves reads;
//  - only the tail rack serves reads: a rack that stops being the tail (one joins after it)
//    forwards writes it used to answer, and a read there could see one the new tail has not;
//    and only the head rack takes clients' writes (one that reaches another rack, from a client
//    that missed a chain change, would skip the racks before it).
//
// State goes in parts of at most transferBytes (transfer.ts). A sender answers a round with one
// split of one snapshot, kept until a later round (a resend of the request gets the same parts
// again, so a receiver that lost some completes from the resend without mixing two snapshots,
// whose splits may differ); a receiver acts only on every part of the round it is in.
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx } from '../../actors/index.ts';
import { ClientTable, sessionKey, type ClientEntry, StorageMeter, VersionedStore, type StorageCosts } from '../kv-hash/store.ts';
import {
  HEADER_BYTES, NO_CLIENT,
  type Ack, type Acked, type ChainConfig, type ControllerMsg, type EntryList, type FetchState, type HandedOver, type Handover, type Hello, type HotKeys,
  type Install, type ItemList, type Join, type Pegasus, type Recover, type Retire, type RkeyPrepared, type RkeyReleased, type ServerMsg, type StateChunk,
} from './messages.ts';
import { pushGroup } from './switch-program.ts';
import { allParts, DEFAULT_TRANSFER_BYTES, isComplete, listBytes, newParts, splitParts, takePart, type Parts } from './transfer.ts';

export interface PegasusServerConfig {
  readonly rack: number;
  readonly serverId: number;
  /** Servers per rack. */
  readonly servers: number;
  /** This server's port on its rack's switch: everything it sends to the data plane goes there. */
  readonly uplink: ActorRef<Pegasus>;
  readonly controller: ActorRef<ControllerMsg>;
  /** The racks of the chain at start, head first. */
  readonly chain: readonly number[];
  readonly costs?: StorageCosts;
  /** Sample one request in this many for hot-key reports (the reference: 1000). */
  readonly sampleEvery?: number;
  readonly reportMs?: number;
  /** Keys per report, at most. */
  readonly reportTop?: number;
  /** What the store holds at start: (key, value bytes), at version 0. */
  readonly items?: readonly (readonly [string, number])[];
  /** Estimated bytes of items and entries per message of a state transfer (transfer.ts). */
  readonly transferBytes?: number;
}

export const DEFAULT_SAMPLE_EVERY = 1000;
export const DEFAULT_REPORT_MS = 10;

/** The controller's requests that belong to an operation (its round) and change state. */
const ROUNDED: ReadonlySet<ServerMsg['type']> = new Set(['RkeyPrepare', 'RkeyEntries', 'RkeyRelease', 'WriteBack', 'Recover', 'Handover', 'Reclaim', 'Join']);

/**
 * Retirements (Retire) and joins (Join) a server may take per restart of its host. Its incarnation, which fences
 * and rejoins compare, is the host's (ctx.incarnation: a count in sim, the start time in ms
 * over the network) times this, plus its retirements and joins, so that a restart always ranks above
 * every retirement before it (and the product stays an exact integer until the year 2248).
 */
export const RETIRES_PER_RESTART = 1024;

/** The incarnation of a server whose host has `hostIncarnation` and that retired (or joined) `retires` times since. */
export function incarnationOf(hostIncarnation: number, retires = 0): number {
  return hostIncarnation * RETIRES_PER_RESTART + retires;
}

function mix(x: number): number {
  let h = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}


export interface PegasusServerState {
  /** Replaced as a whole when a restarted server installs a rejoin snapshot. */
  store: VersionedStore;
  table: ClientTable;
  /** Keys this server treats as rkeys (the TLA+ spec's s.rkeys). */
  replicated: Set<string>;
  /** host -> the lowest incarnation of it whose forwarded writes are accepted (failed ones are below). */
  fenced: Map<string, number>;
  /**
   * Server ids this server served for a failed server and handed back to it (Handover): every
   * request addressed to one is dropped (the client retries and reaches the rejoined server).
   */
  readonly handedOff: Set<number>;
  /** id -> the round of the latest Recover, Handover or Reclaim about it (older ones, late or duplicated, are ignored). */
  readonly idRound: Map<number, number>;
  chain: readonly number[];
  chainRound: number;
  /**
   * Fetching state for a failover, or for a join (`own`: the ids include this server's): nothing
   * is served meanwhile. parts[p]: what source p sent so far.
   */
  recovering: { round: number; sources: Recover['sources']; parts: (Parts<StateChunk> | undefined)[]; own: boolean } | undefined;
  /**
   * Its rack is joining the chain (Join): it applies forwarded writes and serves nothing else
   * until a recovery of its own ids is done.
   */
  joining: boolean;
  /**
   * The round of the latest recovery done: a resend of its Recover that comes late (after the
   * operation, when no later round reached this server to raise its floor) is only acknowledged,
   * not taken for a new recovery from sources that may be gone by now.
   */
  recoveredRound: number;
  /** The round of the latest Join taken (a resend of it is only acknowledged). */
  joinedRound: number;
  /** The latest round's answers to FetchState (source part -> its parts), resent as they are. */
  fetched: { round: number; readonly answers: Map<number, StateChunk[]> };
  /** The latest Handover's answer, resent as it is. */
  handedOver: { round: number; id: number; parts: HandedOver[] } | undefined;
  /** The latest round's answer to RkeyPrepare or RkeyRelease, in parts, resent as it is. */
  answered: { round: number; parts: (RkeyPrepared | RkeyReleased)[] } | undefined;
  /** The parts of the latest round's RkeyEntries or WriteBack received (merged as they come). */
  taking: { round: number; parts: Parts<true> } | undefined;
  /** The Install being received, and the round of the latest one installed (older ones are stale). */
  installing: { round: number; parts: Parts<Install> } | undefined;
  installedRound: number;
  /** Messages sent of state transfers that went in several parts. */
  transferParts: number;
  /** State transfers being sent, a part a turn (SendTimeout), in order. */
  readonly outbox: { readonly to: ActorRef<StateChunk | HandedOver>; readonly parts: readonly (StateChunk | HandedOver)[]; next: number }[];
  /** Restarted (or retired) and not yet rejoined: serves nothing (Serve ends it). */
  retired: boolean;
  /** This server's incarnation (incarnationOf): in its Hello, Pongs and forwarded writes. */
  readonly inc: number;
  /** The highest round of the controller's requests (ROUNDED) seen: older ones are late duplicates. */
  floor: number;
  /** It serves requests until then (its clock): the latest Lease's `at` + `leaseMs`. */
  leaseUntil: number;
  sampleCounter: number;
  readonly samples: Map<string, [number, number, number]>;
  requests: number;
  /**
   * GETs answered for a key this server does not hold (with the empty value): legitimate before
   * a key's first write; otherwise a sign of a store that lacks what the directory sent it for
   * (kept as a diagnostic: the distributed tests print it with each server's status).
   */
  emptyReads: number;
  pushes: number;
  dropped: Record<string, number>;
}

type C = Ctx<ServerMsg>;

export function pegasusServer(cfg: PegasusServerConfig): Behavior<PegasusServerState, ServerMsg> {
  const meter = new StorageMeter(cfg.costs);
  const me = cfg.serverId;
  const sampleEvery = cfg.sampleEvery ?? DEFAULT_SAMPLE_EVERY;
  const reportMs = cfg.reportMs ?? DEFAULT_REPORT_MS;
  const reportTop = cfg.reportTop ?? 16;
  const transferBytes = cfg.transferBytes ?? DEFAULT_TRANSFER_BYTES;

  const drop = (s: PegasusServerState, why: string): PegasusServerState => {
    s.dropped[why] = (s.dropped[why] ?? 0) + 1;
    return s;
  };

  /**
   * The load piggybacked on every reply: how many messages wait in this server's queue. The
   * least-loaded read policy compares two members of a replica set by it (join the shorter
   * queue). A queue length is current when the reply leaves; a queueing delay (what an earlier
   * version reported) describes the queue as it was when the request arrived, a wait ago, and
   * a count of replies over a window cannot tell a saturated server with a long queue from one
   * without.
   */
  const load = (ctx: C): number => Math.min(ctx.backlog(), 0xffff);

  const sample = (s: PegasusServerState, m: Pegasus, read: boolean): void => {
    if (++s.sampleCounter < sampleEvery) return;
    s.sampleCounter = 0;
    let c = s.samples.get(m.key);
    if (c === undefined) {
      if (s.samples.size >= 100_000) return;
      s.samples.set(m.key, (c = [m.keyhash, 0, 0]));
    }
    c[read ? 1 : 2]++;
  };

  const pos = (s: PegasusServerState): number => s.chain.indexOf(cfg.rack);
  const isTail = (s: PegasusServerState): boolean => s.chain[s.chain.length - 1] === cfg.rack;

  const reply = (s: PegasusServerState, m: Pegasus, op: 'REP_R' | 'REP_W', ver: number, value: string, valueBytes: number, clientId: number, ctx: C): void => {
    meter.send(valueBytes);
    ctx.send(cfg.uplink, {
      ...m, op, clientId, serverId: me, load: load(ctx), ver, bitmap: (1 << me) >>> 0, value, valueBytes,
      sizeBytes: HEADER_BYTES + m.key.length + valueBytes,
    });
  };

  /**
   * After a write to an rkey: push (key, ver, value) to rf-1 other servers of the rack (RC_REQ);
   * their RC_ACKs grow the replica set back. One packet, which the switch copies to a multicast
   * group of rf-1 consecutive servers (pushGroup) that leaves this one out: the writer, to which
   * every read of the key goes until the first ack, spends one send on it, not rf-1.
   */
  const push = (s: PegasusServerState, key: string, keyhash: number, rf: number, ctx: C): void => {
    const it = s.store.get(key);
    if (it === undefined) return;
    const n = cfg.servers;
    const count = Math.min(rf, n) - 1;
    if (count < 1) return;
    // Start at a place given by the key and the version, so that the replicas of different hot
    // keys, and of successive versions of one key, spread over the rack: a key written often
    // would otherwise push every version to the same rf-1 servers. The group's servers are
    // me+1+off .. me+off+count (modulo n), which never wraps round to me.
    const start = (me + 1 + (mix(keyhash + it.ver) % (n - count))) % n;
    meter.send(it.valueBytes);
    s.pushes += count;
    ctx.send(cfg.uplink, {
      type: 'Pegasus', op: 'RC_REQ', keyhash, clientId: NO_CLIENT, serverId: start, load: 0, ver: it.ver, bitmap: 0, replicated: 1, rf,
      rack: cfg.rack, from: ctx.host, key, value: it.value, valueBytes: it.valueBytes, session: 0, reqId: 0,
      sizeBytes: HEADER_BYTES + key.length + it.valueBytes, group: pushGroup(start, count),
    });
  };

  /** After a write was applied (or found in the client table): answer, or forward down the chain. */
  const forwardOrReply = (s: PegasusServerState, m: Pegasus, ver: number, value: string, valueBytes: number, ctx: C): void => {
    if (isTail(s)) {
      reply(s, m, 'REP_W', ver, '', 0, m.clientId, ctx);
      if (m.replicated === 1 && m.rf > 1) push(s, m.key, m.keyhash, m.rf, ctx);
      return;
    }
    const p = pos(s);
    if (p < 0) return;
    meter.send(valueBytes);
    ctx.send(cfg.uplink, {
      ...m, op: 'PUT_FWD', ver, value, valueBytes, rack: s.chain[p + 1]!, from: ctx.host, inc: s.inc, load: 0,
      sizeBytes: HEADER_BYTES + m.key.length + valueBytes,
    });
    // The rack's own directory learns the version too (it serves reads if it becomes the tail).
    if (m.replicated === 1) reply(s, m, 'REP_W', ver, '', 0, NO_CLIENT, ctx);
  };

  const onWrite = (s: PegasusServerState, m: Pegasus, ctx: C): PegasusServerState => {
    if (m.op === 'PUT_FWD' && (m.inc ?? 0) < (s.fenced.get(m.from) ?? 0)) return drop(s, 'fenced');
    if ((m.replicated === 1) !== s.replicated.has(m.key)) return drop(s, 'replicated-mismatch');
    if (m.op !== 'PUT_FWD') sample(s, m, false);
    const sk = sessionKey(m.clientId, m.session);
    const check = s.table.check(sk, m.reqId);
    if (check === 'stale') return drop(s, 'stale');
    if (check === 'duplicate') {
      // The entry may have come from another server (merged when the key became an rkey): apply
      // what it wrote before answering for it, so that "replied with version v" keeps meaning
      // "holds v or newer" (the directory relies on it).
      const e = s.table.get(sk)!;
      s.store.apply(e.key, e.ver, e.value, e.valueBytes);
      forwardOrReply(s, m, e.ver, e.value, e.valueBytes, ctx);
      return s;
    }
    meter.execute();
    const value = m.op === 'DEL' ? '' : m.value;
    const bytes = m.op === 'DEL' ? 0 : m.valueBytes;
    s.store.apply(m.key, m.ver, value, bytes);
    s.table.record(sk, { reqId: m.reqId, key: m.key, ver: m.ver, value, valueBytes: bytes });
    forwardOrReply(s, m, m.ver, value, bytes, ctx);
    return s;
  };

  const onData = (s: PegasusServerState, m: Pegasus, ctx: C): PegasusServerState => {
    // The rejoin barrier: a request for an id handed back was either taken before the snapshot
    // (so the rejoined server has its effect and its client-table entry) or is dropped here,
    // whatever order the network and the queues delivered it in. Pushes (RC_REQ) are not
    // requests for an id: a multicast push carries its group's first id.
    if (m.op !== 'RC_REQ' && s.handedOff.has(m.serverId)) return drop(s, 'handed-off');
    // Past its lease the controller may have failed it over (and moved on without it).
    if (ctx.now() >= s.leaseUntil) return drop(s, 'no-lease');
    switch (m.op) {
      case 'GET': {
        if (s.retired || s.recovering || s.joining) return drop(s, s.retired ? 'retired' : s.recovering ? 'recovering' : 'joining');
        // A rack that is no longer the tail forwards the writes it applies: the tail may not have one yet.
        if (!isTail(s)) return drop(s, 'not-tail');
        meter.execute();
        sample(s, m, true);
        const it = s.store.get(m.key);
        if (it === undefined) s.emptyReads++;
        reply(s, m, 'REP_R', it?.ver ?? 0, it?.value ?? '', it?.valueBytes ?? 0, m.clientId, ctx);
        return s;
      }
      case 'PUT':
      case 'DEL':
      case 'PUT_FWD':
        if (s.retired) return drop(s, 'retired');
        // A joining server applies what the rack before it forwards from the Join on (what came
        // before is in the state it fetches): the chain's writes go on meanwhile.
        if (s.joining ? m.op !== 'PUT_FWD' : s.recovering) return drop(s, s.joining ? 'joining' : 'recovering');
        // A client's write enters the chain at the head: one that reaches another rack comes from
        // a client that missed a chain change, and answering it there would skip the racks before.
        if (m.op !== 'PUT_FWD' && pos(s) !== 0) return drop(s, 'not-head');
        return onWrite(s, m, ctx);
      case 'RC_REQ': {
        if (s.retired) return drop(s, 'retired');
        meter.execute();
        if (s.store.apply(m.key, m.ver, m.value, m.valueBytes)) {
          meter.send();
          ctx.send(cfg.uplink, {
            ...m, op: 'RC_ACK', group: 0, serverId: me, clientId: NO_CLIENT, load: load(ctx), bitmap: (1 << me) >>> 0, value: '', valueBytes: 0,
            sizeBytes: HEADER_BYTES + m.key.length,
          });
        }
        return s;
      }
      case 'REP_R':
      case 'REP_W':
      case 'RC_ACK':
        return drop(s, 'misrouted');
      default:
        return assertNever(m.op);
    }
  };

  const ack = (round: number, of: Acked, ctx: C): Ack => ({ type: 'Ack', round, of, rack: cfg.rack, serverId: me, host: ctx.host });

  const entriesOf = (s: PegasusServerState, keys: ReadonlySet<string> | null): [number, ClientEntry][] => {
    const out: [number, ClientEntry][] = [];
    for (const [sk, e] of s.table.entries) if (keys === null || keys.has(e.key)) out.push([sk, e]);
    return out;
  };

  const itemsOf = (s: PegasusServerState, keys: readonly string[] | null): [string, number, string, number][] => {
    const out: [string, number, string, number][] = [];
    if (keys === null) for (const [k, it] of s.store.items) out.push([k, it.ver, it.value, it.valueBytes]);
    else for (const k of keys) {
      const it = s.store.get(k);
      if (it) out.push([k, it.ver, it.value, it.valueBytes]);
    }
    return out;
  };

  const merge = (s: PegasusServerState, items: ItemList, entries: EntryList): void => {
    for (const [k, ver, value, bytes] of items) s.store.apply(k, ver, value, bytes);
    for (const [sk, e] of entries) s.table.merge(sk, e);
  };

  /** Is this round about `id` newer than every earlier one (Recover, Handover, Reclaim)? Then it counts. */
  const claim = (s: PegasusServerState, id: number, round: number): boolean => {
    if (round < (s.idRound.get(id) ?? -1)) return false;
    s.idRound.set(id, round);
    return true;
  };

  /**
   * Send the parts of a transfer to `to`, one a turn (SendTimeout: the controller's Pings are
   * answered in between, and a large store's transfer does not make its server look failed).
   * The same parts already on their way are not queued twice: a resend of the request while
   * they go out gets them once.
   */
  const sendParts = <M extends StateChunk | HandedOver>(s: PegasusServerState, parts: readonly M[], to: ActorRef<M>, ctx: C): void => {
    if (s.outbox.some((t) => t.parts === parts && t.to.host === to.host && t.to.path === to.path)) return;
    // Each part goes to `to`, which takes parts of its type: the union is the outbox's, not the receiver's.
    s.outbox.push({ to: to as unknown as ActorRef<StateChunk | HandedOver>, parts, next: 0 });
    if (parts.length > 1) s.transferParts += parts.length;
    if (s.outbox.length === 1) ctx.startTimer('send', 0, { type: 'SendTimeout' });
  };

  /**
   * The next part of the first transfer: the sim charges the message and the bytes of its values
   * (items and client-table entries). (It used to charge a whole message's cost per item, and
   * every part in one turn: a store of 3,000 items took 7 ms to send, and its server, silent that
   * long, was failed over.)
   */
  const sendNext = (s: PegasusServerState, ctx: C): void => {
    const t = s.outbox[0];
    if (t === undefined) return;
    const m = t.parts[t.next++]!;
    let bytes = 0;
    for (const it of m.items) bytes += it[3];
    for (const [, e] of m.entries) bytes += e.valueBytes;
    meter.send(bytes);
    ctx.send(t.to, m);
    if (t.next >= t.parts.length) s.outbox.shift();
    if (s.outbox.length > 0) ctx.startTimer('send', 0, { type: 'SendTimeout' });
  };

  /**
   * Hand `id` back: from now on drop its requests (onData), then snapshot everything. The whole
   * store and client table, not only the id's keys: a write to an rkey addressed to `id` (its
   * write target) may be of any key, and a retry of it must find its entry at the new owner.
   * A resend of the round gets the first snapshot again: it holds every request taken for `id`
   * (the barrier came before it), and its parts must not mix with another's.
   */
  const handOver = (s: PegasusServerState, msg: Handover, ctx: C): void => {
    if (!claim(s, msg.id, msg.round)) return;
    s.handedOff.add(msg.id);
    const h = s.handedOver;
    // A late Handover of a round before the cached one: its rejoin is over (rejoins run one at a
    // time, in the order of their rounds), and answering it would replace the parts a resend of
    // the current round must get again.
    if (h !== undefined && msg.round < h.round) return;
    if (h === undefined || h.round !== msg.round || h.id !== msg.id) s.handedOver = { round: msg.round, id: msg.id, parts: snapshot(s, msg.round) };
    sendParts(s, s.handedOver!.parts, cfg.controller, ctx);
  };

  const snapshot = (s: PegasusServerState, round: number): HandedOver[] => {
    const replicated = [...s.replicated];
    const fenced = [...s.fenced];
    const head = listBytes(replicated) + listBytes(fenced.map(([h]) => h), true);
    const parts = splitParts(itemsOf(s, null), entriesOf(s, null), transferBytes, head);
    return parts.map((p, chunk) => ({
      type: 'HandedOver', round, rack: cfg.rack, serverId: me, chunk, chunks: parts.length, items: p.items, entries: p.entries,
      replicated: chunk === 0 ? replicated : [], fenced: chunk === 0 ? fenced : [],
    }));
  };

  /**
   * A restarted server takes the snapshot of its id (only while retired: it serves nothing yet),
   * once it has every part of one round. Parts of a round older than the one it collects or
   * installed are stale (an abandoned rejoin's: rejoins run in the order of their rounds): they
   * never replace a later snapshot.
   */
  const install = (s: PegasusServerState, msg: Install, ctx: C): void => {
    if (!s.retired || msg.incarnation !== s.inc || msg.round < s.installedRound) return;
    if (msg.round === s.installedRound) {
      // A resend: the Ack was lost.
      ctx.send(cfg.controller, ack(msg.round, 'Install', ctx));
      return;
    }
    const cur = s.installing;
    if (cur !== undefined && msg.round < cur.round) return;
    if (cur === undefined || cur.round !== msg.round) s.installing = { round: msg.round, parts: newParts(msg.chunks) };
    const p = s.installing!.parts;
    if (!takePart(p, msg.chunk, msg.chunks, msg) || !isComplete(p)) return;
    const parts = allParts(p);
    s.installing = undefined;
    s.installedRound = msg.round;
    s.store = new VersionedStore();
    s.table = new ClientTable();
    for (const m of parts) merge(s, m.items, m.entries);
    s.replicated = new Set(parts[0]!.replicated);
    s.fenced = new Map(parts[0]!.fenced);
    s.chain = [...msg.chain];
    s.chainRound = msg.round;
    // A restarted host starts with no floor, and a late copy of a request meant for its earlier
    // incarnation (a Recover, an RkeyPrepare) would be taken: the rejoin's round is above every
    // one sent to that incarnation.
    s.floor = Math.max(s.floor, msg.round);
    ctx.send(cfg.controller, ack(msg.round, 'Install', ctx));
  };

  /**
   * Answer an RkeyPrepare or RkeyRelease with the keys' items and every session's client-table
   * entry, in parts (they grow with the keys and the sessions: an add of a few keys with values
   * of a hundred bytes is already more than a datagram). Every session's, not only those naming
   * the keys: the keys' requests go elsewhere from now on, and a late copy of one that was
   * carried out here must find, there, its session moved past it (a server keeps a session's
   * latest request only, which may name another key by now). A resend of the round gets the
   * same parts again.
   */
  const answerKeys = (s: PegasusServerState, type: 'RkeyPrepared' | 'RkeyReleased', round: number, keys: readonly string[], ctx: C): void => {
    if (s.answered?.round !== round) {
      const split = splitParts(itemsOf(s, keys), entriesOf(s, null), transferBytes);
      s.answered = {
        round, parts: split.map((p, chunk) => ({ type, round, rack: cfg.rack, serverId: me, chunk, chunks: split.length, items: p.items, entries: p.entries })),
      };
      if (split.length > 1) s.transferParts += split.length;
    }
    for (const m of s.answered.parts) ctx.send(cfg.controller, m);
  };

  /** Take a part of the round's RkeyEntries or WriteBack: true once every part of it is here. */
  const takeRoundPart = (s: PegasusServerState, msg: { readonly round: number; readonly chunk: number; readonly chunks: number }): boolean => {
    if (s.taking?.round !== msg.round || s.taking.parts.got.length !== msg.chunks) s.taking = { round: msg.round, parts: newParts(msg.chunks) };
    takePart(s.taking.parts, msg.chunk, msg.chunks, true);
    return isComplete(s.taking.parts);
  };

  /** Ask every source of the recovery that has not sent all its parts (again: a resent Recover). */
  const fetch = (s: PegasusServerState, ctx: C): void => {
    const r = s.recovering!;
    r.sources.forEach((src, part) => {
      const got = r.parts[part];
      if (got !== undefined && isComplete(got)) return;
      const req: FetchState = { type: 'FetchState', round: r.round, part, keys: src.keys, replyTo: ctx.self as ActorRef<StateChunk> };
      ctx.send(src.ref, req);
    });
  };

  const recover = (s: PegasusServerState, msg: Recover, ctx: C): void => {
    if (s.recovering?.round === msg.round) {
      fetch(s, ctx);
      return;
    }
    if (msg.round <= s.recoveredRound) {
      ctx.send(cfg.controller, ack(msg.round, 'Recover', ctx));
      return;
    }
    // Ids taken over (again): serve them even if handed back before.
    for (const id of msg.ids) if (claim(s, id, msg.round)) s.handedOff.delete(id);
    const own = msg.ids.includes(me);
    if (msg.sources.length === 0) {
      recovered(s, own, msg.round, ctx);
      return;
    }
    s.recovering = { round: msg.round, sources: msg.sources, parts: msg.sources.map(() => undefined), own };
    fetch(s, ctx);
  };

  /**
   * Answer a FetchState: the same parts for the same round and source part (see the top). A
   * round before the latest answered is a failover that is over (the controller runs one
   * operation at a time, and failovers in the order of their rounds).
   */
  const answerFetch = (s: PegasusServerState, msg: FetchState, ctx: C): void => {
    if (msg.round < s.fetched.round) return;
    if (msg.round > s.fetched.round) s.fetched = { round: msg.round, answers: new Map() };
    let parts = s.fetched.answers.get(msg.part);
    if (parts === undefined) {
      const keys = msg.keys === null ? null : new Set(msg.keys);
      const split = splitParts(itemsOf(s, msg.keys), entriesOf(s, keys), transferBytes);
      parts = split.map((p, chunk): StateChunk => ({
        type: 'StateChunk', round: msg.round, part: msg.part, chunk, chunks: split.length, items: p.items, entries: p.entries,
      }));
      s.fetched.answers.set(msg.part, parts);
    }
    sendParts(s, parts, msg.replyTo, ctx);
  };

  /** A part of a source's state: once every part of every source is here, merge it all and serve. */
  const onChunk = (s: PegasusServerState, msg: StateChunk, ctx: C): void => {
    const r = s.recovering;
    if (r === undefined || r.round !== msg.round || msg.part >= r.parts.length) return;
    const got = (r.parts[msg.part] ??= newParts(msg.chunks));
    if (!takePart(got, msg.chunk, msg.chunks, msg) || !r.parts.every((p) => p !== undefined && isComplete(p))) return;
    for (const p of r.parts) for (const m of allParts(p!)) merge(s, m.items, m.entries);
    recovered(s, r.own, msg.round, ctx);
  };

  /** A recovery is done: serve (a joining server once it has its own ids' state too). */
  const recovered = (s: PegasusServerState, own: boolean, round: number, ctx: C): void => {
    s.recovering = undefined;
    s.recoveredRound = round;
    if (own) s.joining = false;
    ctx.send(cfg.controller, ack(round, 'Recover', ctx));
  };

  /** A server as it starts; a retired one (restarted, or told to Retire) holds nothing and says Hello. */
  const fresh = (inc: number, retired: boolean, ctx: C, was?: PegasusServerState): PegasusServerState => {
    if (retired) {
      const hello: Hello = { type: 'Hello', rack: cfg.rack, serverId: me, incarnation: inc };
      ctx.send(cfg.controller, hello);
    }
    return {
      store: new VersionedStore(retired ? undefined : cfg.items), table: new ClientTable(), replicated: new Set(), fenced: new Map(),
      handedOff: new Set(), idRound: new Map(), chain: [...cfg.chain], chainRound: -1,
      recovering: undefined, joining: false, recoveredRound: was?.recoveredRound ?? -1, joinedRound: was?.joinedRound ?? -1, fetched: { round: -1, answers: new Map() }, handedOver: undefined, answered: undefined, taking: undefined,
      installing: undefined, installedRound: -1,
      transferParts: was?.transferParts ?? 0, outbox: [], retired, inc, floor: was?.floor ?? -1, leaseUntil: 0, sampleCounter: 0, samples: new Map(), requests: was?.requests ?? 0, emptyReads: was?.emptyReads ?? 0,
      pushes: was?.pushes ?? 0, dropped: was?.dropped ?? {},
    };
  };

  /**
   * The controller failed this server over while it was alive. Its state is stale from then on
   * (the id's writes go to the successor) and its forwards are fenced: start over as a restarted
   * server does, under the next incarnation, and rejoin. A repeated Retire (the controller sends
   * one at every Pong of the failed incarnation) finds the incarnation moved on.
   */
  const retire = (s: PegasusServerState, msg: Retire, ctx: C): PegasusServerState => {
    if (msg.incarnation !== s.inc || !nextIncarnation(s, ctx)) return s;
    const next = s.inc + 1;
    ctx.log.warn({ incarnation: s.inc, next }, 'pegasus server: failed over while alive; starting over to rejoin');
    return fresh(next, true, ctx, s);
  };

  /**
   * Its rack joins the chain again, as the tail (see the top): start over empty under the next
   * incarnation (its earlier ones may be fenced, and a restarted host's differs: then the Join
   * is not for this one). A resend of the Join taken is only acknowledged.
   */
  const join = (s: PegasusServerState, msg: Join, ctx: C): PegasusServerState => {
    if (msg.round === s.joinedRound) {
      ctx.send(cfg.controller, ack(msg.round, 'Join', ctx));
      return s;
    }
    if (msg.incarnation !== s.inc || !nextIncarnation(s, ctx)) return s;
    ctx.log.warn({ incarnation: s.inc + 1, chain: msg.chain }, 'pegasus server: its rack joins the chain; starting over');
    const j = fresh(s.inc + 1, false, ctx, s);
    j.store = new VersionedStore();
    j.chain = [...msg.chain];
    j.chainRound = msg.round;
    j.fenced = new Map(msg.fenced);
    j.joining = true;
    j.joinedRound = msg.round;
    ctx.send(cfg.controller, ack(msg.round, 'Join', ctx));
    return j;
  };

  /** Has this restart of the host another incarnation left (RETIRES_PER_RESTART)? */
  const nextIncarnation = (s: PegasusServerState, ctx: C): boolean => {
    if ((s.inc + 1) % RETIRES_PER_RESTART !== 0) return true;
    ctx.log.error({ incarnation: s.inc }, 'pegasus server: out of incarnations for this restart; restart the host to rejoin');
    return false;
  };

  return behavior<PegasusServerState, ServerMsg>({
    init: (ctx) => {
      ctx.startTimer('report', reportMs, { type: 'ReportTimeout' }, { repeat: true });
      return fresh(incarnationOf(ctx.incarnation), ctx.incarnation > 0, ctx);
    },
    receive: (s, msg, ctx) => {
      meter.recv(msg.type === 'Pegasus' ? msg.valueBytes : 0);
      if (ROUNDED.has(msg.type)) {
        // The controller runs one operation at a time, numbered as they start, and resends only
        // the current one's requests: one of an older round is a late duplicate of an operation
        // that is over (say, an RkeyPrepare after the key's removal, which would then drop the
        // key's writes for good). The floor outlives a retirement.
        const round = (msg as { round: number }).round;
        if (round < s.floor) return drop(s, 'late-round');
        s.floor = round;
      }
      switch (msg.type) {
        case 'Pegasus':
          s.requests++;
          return onData(s, msg, ctx);
        case 'Ping':
          ctx.send(cfg.controller, { type: 'Pong', seq: msg.seq, rack: cfg.rack, serverId: me, incarnation: s.inc, at: ctx.now() });
          if (s.retired) ctx.send(cfg.controller, { type: 'Hello', rack: cfg.rack, serverId: me, incarnation: s.inc });
          return s;
        case 'RkeyPrepare':
          if (s.retired) return s;
          if (s.answered?.round !== msg.round) for (const k of msg.keys) s.replicated.add(k);
          answerKeys(s, 'RkeyPrepared', msg.round, msg.keys, ctx);
          return s;
        case 'RkeyRelease':
          if (s.retired) return s;
          if (s.answered?.round !== msg.round) for (const k of msg.keys) s.replicated.delete(k);
          answerKeys(s, 'RkeyReleased', msg.round, msg.keys, ctx);
          return s;
        case 'RkeyEntries':
        case 'WriteBack':
          if (s.retired) return s;
          // Merging is idempotent: each part as it comes, and the ack once all are here.
          merge(s, msg.type === 'WriteBack' ? msg.items : [], msg.entries);
          if (takeRoundPart(s, msg)) ctx.send(cfg.controller, ack(msg.round, msg.type, ctx));
          return s;
        case 'Fence':
          if (s.retired) return s;
          // The highest bound wins: a late or duplicated Fence never shuts out a rejoined incarnation.
          for (const [h, below] of msg.hosts) s.fenced.set(h, Math.max(below, s.fenced.get(h) ?? 0));
          ctx.send(cfg.controller, ack(msg.round, 'Fence', ctx));
          return s;
        case 'Recover':
          if (!s.retired) recover(s, msg, ctx);
          return s;
        case 'FetchState':
          if (!s.retired) answerFetch(s, msg, ctx);
          return s;
        case 'StateChunk':
          onChunk(s, msg, ctx);
          return s;
        case 'Handover':
          // (Not while recovering: its state is not whole yet, and the snapshot would lack what
          // the recovery brings. The controller asks again.)
          if (!s.retired && s.recovering === undefined) handOver(s, msg, ctx);
          return s;
        case 'Reclaim':
          if (s.retired) return s;
          if (claim(s, msg.id, msg.round)) {
            s.handedOff.delete(msg.id);
            // The rejoin was abandoned, and its Handover's round is now too old to be answered (claim).
            if (s.handedOver?.id === msg.id) s.handedOver = undefined;
          }
          ctx.send(cfg.controller, ack(msg.round, 'Reclaim', ctx));
          return s;
        case 'Install':
          install(s, msg, ctx);
          return s;
        case 'Retire':
          return retire(s, msg, ctx);
        case 'Join':
          return join(s, msg, ctx);
        case 'Lease':
          if (msg.incarnation === s.inc) s.leaseUntil = Math.max(s.leaseUntil, msg.at + msg.leaseMs);
          return s;
        case 'Serve':
          if (msg.incarnation !== s.inc) return s;
          s.retired = false;
          ctx.send(cfg.controller, ack(msg.round, 'Serve', ctx));
          return s;
        case 'ChainConfig':
          if (msg.round > s.chainRound) {
            s.chain = [...msg.racks];
            s.chainRound = msg.round;
          }
          ctx.send(cfg.controller, ack(msg.round, 'ChainConfig', ctx));
          return s;
        case 'SendTimeout':
          sendNext(s, ctx);
          return s;
        case 'ReportTimeout': {
          if (s.samples.size === 0 || s.retired) return s;
          const top = [...s.samples].sort((a, b) => b[1][1] + b[1][2] - (a[1][1] + a[1][2])).slice(0, reportTop);
          const report: HotKeys = { type: 'HotKeys', rack: cfg.rack, serverId: me, keys: top.map(([k, [h, r, w]]) => [k, h, r, w] as const) };
          s.samples.clear();
          ctx.send(cfg.controller, report);
          return s;
        }
        default:
          return assertNever(msg);
      }
    },
    serviceTimeMs: () => meter.take(),
    // Everything but the data plane's packets skips the queue of requests (a priority lane): the
    // controller's operations wait for every server, and a hot key's home, overloaded until the
    // key is an rkey, would otherwise hold up (and report late) the very add that relieves it.
    priority: (msg) => msg.type !== 'Pegasus',
  });
}

export type { ChainConfig };
