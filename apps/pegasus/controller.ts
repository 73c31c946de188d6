// The Pegasus controller (paper section 4.4; reference p4/tofino/controller.py and
// emulation/apps/memcachekv/controller.cc): it finds hot keys from the servers' sampled reports,
// adds rkeys while there is room and otherwise replaces the coldest, and keeps the directory
// safe through failures the reference does not handle. One controller drives the switches of
// every rack (so the racks' directories hold the same rkeys; it is assumed not to fail, and one
// restarted without its state does nothing); it runs one operation at a time,
// each a sequence of phases whose messages it resends until every live target has answered.
//
//   init(rack)       after start or a switch restart: re-install failed-over server ids, then
//                    the epoch (enables the rack) and verNext = epoch << 24 (versions above all
//                    earlier ones)
//   add(keys)        servers treat the keys as replicated (writes routed the old way are
//                    dropped from now on) and send their client-table entries for them; the
//                    merged entries go to every server (a retry may land anywhere); the switches
//                    get verCompleted = the home's version and the set {home}, then the table
//                    entry; the homes push the value (RC_REQ) and the acks grow the sets
//   remove(keys)     servers stop treating them as replicated and send items and entries; the
//                    newest item and all entries go to each rack's home (write back); then the
//                    table entries go
//   failover(r, i)   a server stopped answering: its directory updates are ignored, other
//                    servers reject its late forwards, its successor fetches its state (from the
//                    same index in another rack, and the rkeys from the rack) and then takes over
//                    its server id in the switch; if a source fails meanwhile, the failover
//                    starts again without it; if the rack has no live server left, it leaves
//                    the chain (its switch stops taking requests first); a failed server that
//                    is alive after all (it answers the pings) is told to Retire: it drops its
//                    state and rejoins under its next incarnation
//   rejoin(r, i)     a failed server restarted (Hello) after its failover: the server now serving
//                    its id stops serving it and sends a snapshot (Handover), the restarted
//                    server installs it, the switch learns its replies again (senders), it
//                    serves, and the switch maps the id back to its port
//   reclaim(r, i)    a rejoin abandoned before it committed: the server that handed the id over
//                    serves it again
//   rack(r)          a rack's switch stopped answering (or the rack has no live server): the
//                    chain goes on without it once its servers' leases ran out
//   join(r)          a rack out of the chain whose switch and every server answer again joins
//                    it as the tail: every rkey is removed (write back first); its servers start
//                    over empty (Join) and its switch is set up afresh; the chain's servers learn
//                    the new chain (the old tail forwards its writes to it from then on); then
//                    (joinFetch) each of its servers fetches its ids' state from another rack,
//                    then the clients learn the new chain and read there
//   flush            a switch restarted with an empty directory: every rkey is removed
//                    everywhere (write back first), then the rack is initialised again
//   epoch            the head's version counter passed half its epoch's range: a new epoch
//
// Servers serve under leases, granted on their Pongs (Lease); a server is failed over only once
// every lease it had has run out, so one taken for failed while alive serves nothing by then.
// The clients are told the chain until each acknowledges it, without waiting for them: the
// servers refuse what a client that has not heard yet sends to the wrong rack.
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx } from '../../actors/index.ts';
import { RESTARTED, STALE, versioned, type ControlReply, type ControlRequest } from '../../switch-model/index.ts';
import { keyHash, type Ring } from '../kv-hash/ring.ts';
import type { ClientEntry } from '../kv-hash/store.ts';
import {
  CLIENT_ACK, HEADER_BYTES, NO_CLIENT,
  type ClientMsg, type ControllerMsg, type EntryList, type Fence, type FetchState, type HandedOver, type Hello, type HotKeys, type Install, type ItemList, type Recover,
  type RkeyPrepared, type RkeyReleased, type ServerMsg,
} from './messages.ts';
import { EPOCH_SHIFT, MAX_EPOCH, MAX_SERVERS } from './switch-program.ts';
import { allParts, DEFAULT_TRANSFER_BYTES, isComplete, listBytes, newParts, splitParts, takePart, type Parts } from './transfer.ts';

export interface ControllerConfig {
  readonly racks: number;
  readonly servers: number;
  readonly ring: Ring;
  /** servers[r][i]: server i of rack r. */
  readonly serverRefs: readonly (readonly ActorRef<ServerMsg>[])[];
  readonly serverHosts: readonly (readonly string[])[];
  readonly clients: readonly ActorRef<ClientMsg>[];
  /** The control plane of each rack's switch. */
  readonly switches: readonly ActorRef<ControlRequest>[];
  /** Switch port of server i (the same in every rack). */
  readonly serverPort: (i: number) => number;
  readonly capacity: number;
  /** Find and replicate hot keys by the servers' reports (default true). */
  readonly autoRkeys?: boolean;
  /** Replication factor of rkeys added from outside (AddRkeys). Default all servers. */
  readonly defaultRf?: number;
  readonly probeMs?: number;
  /** A server silent this long is failed over. */
  readonly failAfterMs?: number;
  /**
   * How long a server may serve after its Pong (Lease). Below failAfterMs, so that a server
   * failed over has stopped serving by then, with room for the clocks' drift: default half.
   */
  readonly leaseMs?: number;
  readonly rackFailAfterMs?: number;
  readonly retryMs?: number;
  /** Controller epoch: hot keys are decided this often. */
  readonly epochMs?: number;
  /** Rkeys added (new or replacing) per epoch, at most. */
  readonly maxChurn?: number;
  /**
   * Replication factor after a write (the pushes): ceil(rfScale * servers * the key's share of
   * reads), so that a key gets as many replicas as its reads need (rfScale 2: each carries half
   * an average server's load), not all: every push costs about what a request does. A new rkey
   * goes to every server whatever its rf.
   */
  readonly rfScale?: number;
  /**
   * ...and at least minRf, so that the reads of a warm rkey keep a choice of servers (the
   * least-loaded policy picks the lighter of two members; with one member, every read of the
   * key queues behind whatever else that server has) — but only as far as the extra replicas'
   * pushes cost at most pushBudget of the key's own requests: (rf - 1) x writes <= pushBudget x
   * (reads + writes). At 5% writes that allows 5 replicas; at 50%, one.
   */
  readonly minRf?: number;
  readonly pushBudget?: number;
  /** Estimated bytes of items and entries per Install message of a rejoin (transfer.ts). */
  readonly transferBytes?: number;
}

/**
 * Replicas after a write for a key with these (smoothed, sampled) read and write counts, of
 * `total` requests in all: see ControllerConfig.rfScale, minRf and pushBudget.
 */
export function replicationFactor(o: {
  readonly reads: number; readonly writes: number; readonly total: number; readonly servers: number;
  readonly rfScale: number; readonly minRf: number; readonly pushBudget: number;
}): number {
  const demand = Math.ceil((o.rfScale * o.servers * o.reads) / Math.max(o.total, 1));
  const affordable = o.writes <= 0 ? o.servers : 1 + Math.floor((o.pushBudget * (o.reads + o.writes)) / o.writes);
  return Math.max(1, Math.min(o.servers, Math.max(demand, Math.min(o.minRf, affordable))));
}

/** Weight of the past in the smoothed hot-key counts, per epoch (about four epochs of memory). */
export const HEAT_DECAY = 0.75;

/** Gap between the rounds of pushes of newly added rkeys (ms). */
export const PUSH_GAP_MS = 0.02;

/** Racks, at most (the racks register of the switch program is 8 bits wide). */
const MAX_RACKS = 256;
/**
 * What the current operation waits for from server i of rack r: the answer to its request of
 * this type (an Ack names the request it answers, so a late copy of one step's ack does not end
 * the next step's wait at the same server).
 */
const srvKey = (r: number, i: number, request: string): string => `srv:${r}:${i}:${request}`;
/** The id of the probe's read of the head's verNext, by rack (and back: its own inverse). */
const COUNTER_PROBE = (r: number): number => -(r + 1) - MAX_RACKS;
/**
 * The id of the probe's read of rack r's epoch register, sent with probe number `seq` (below
 * every COUNTER_PROBE id), and back: a reply says which probe it answers, so that one sent before
 * the rack's epoch was set (it read 0) is not taken, arriving late, for a switch restart.
 */
const EPOCH_PROBE_BASE = 2 * MAX_RACKS + 1;
const epochProbeId = (r: number, seq: number): number => -(EPOCH_PROBE_BASE + seq * MAX_RACKS + r);
const epochProbeOf = (id: number): { rack: number; seq: number } => {
  const x = -id - EPOCH_PROBE_BASE;
  return { rack: x % MAX_RACKS, seq: Math.floor(x / MAX_RACKS) };
};

/** Failure timeouts a server or switch not heard from since the controller started has before it is taken for failed. */
export const START_GRACE = 10;

/** Failure timeouts a failover waits for the failed server itself when it is the only copy of an index. */
export const SELF_SOURCE_WAITS = 4;

/** Smoothed samples a key needs before it can become an rkey. */
export const HOT_MIN_SAMPLES = 5;

export const DEFAULTS = { probeMs: 2, failAfterMs: 8, rackFailAfterMs: 40, retryMs: 2, epochMs: 10, maxChurn: 16, rfScale: 2, minRf: 4, pushBudget: 0.2 } as const;

interface Rkey {
  readonly key: string;
  readonly keyhash: number;
  readonly index: number;
  readonly rf: number;
}

type Step = (c: Controller, ctx: Ctx<ControllerMsg>) => void;

/** A rejoin in progress: server i of rack r (incarnation inc) takes its id back from server s. */
interface Rejoin {
  readonly r: number;
  readonly i: number;
  inc: number;
  s: number;
  startedMs: number;
  /** Past this point the id is the rejoined server's: a crash of it is a failover, not an abort. */
  committed: boolean;
  /** The parts of the snapshot received (all of this op's round: the server answers a round with one split). */
  handedOver: Parts<HandedOver> | undefined;
  snapshot: Snapshot | undefined;
}

/** A rejoin snapshot, assembled from its parts. */
interface Snapshot {
  readonly items: ItemList;
  readonly entries: EntryList;
  readonly replicated: readonly string[];
  readonly fenced: readonly (readonly [string, number])[];
}

interface Op {
  readonly kind: 'init' | 'add' | 'remove' | 'failover' | 'rack' | 'rejoin' | 'reclaim' | 'join' | 'epoch';
  /**
   * Numbered as it starts, not as it is queued (some go to the front of the queue): servers
   * ignore a request of a round below one they answered (a late resend of an operation that is
   * over), so the rounds must rise in the order the operations run.
   */
  round: number;
  /** init: the rack. */
  rack: number;
  readonly steps: Step[];
  step: number;
  /** target -> resend; the phase ends when it is empty */
  readonly pending: Map<string, () => void>;
  readonly prepared: RkeyPrepared[];
  readonly released: RkeyReleased[];
  /** The parts of the answers (RkeyPrepared, RkeyReleased) received so far, by target. */
  readonly answers: Map<string, Parts<RkeyPrepared | RkeyReleased>>;
  aborted: boolean;
  rejoin?: Rejoin;
  /**
   * failover, joinFetch: the servers state is fetched from (rack, index), and the operation
   * that starts it again (with other sources) if one of them fails meanwhile.
   */
  fetch?: { readonly sources: [number, number][]; readonly again: (c: Controller) => Op };
  /** failover: the failed server (rack, index). */
  failed?: readonly [number, number];
  /** failover: since when the failed server itself is a source (no other copy of an index), and the failover without it. */
  selfSourceSince?: number;
  giveUpSelf?: (c: Controller) => Op;
}

export interface Controller {
  readonly cfg: ControllerConfig;
  /** rack -> live? (a failed rack leaves the chain) */
  readonly rackLive: boolean[];
  chain: number[];
  /** serving[r][x]: the server that serves index x in rack r. */
  readonly serving: number[][];
  readonly dead: boolean[][];
  /** incarnation[r][x]: the incarnation of server x's host that serves (pongs from others do not count). */
  readonly incarnation: number[][];
  /** hello[r][x]: the latest incarnation that said Hello (restarted, empty, waiting to rejoin). */
  readonly hello: number[][];
  readonly lastPong: number[][];
  /** When the latest probe ran (a probe far later than that means the controller was paused). */
  lastProbeMs: number;
  /** No switch or no server answers (logged once): failures are not declared meanwhile. */
  deafNoted: boolean;
  readonly lastSwitchReply: number[];
  readonly rkeys: Map<string, Rkey>;
  readonly freeIndices: number[];
  readonly queue: Op[];
  current: Op | undefined;
  epoch: number;
  rounds: number;
  nextId: number;
  probeSeq: number;
  /** Per rack, the last probe sent before its epoch was last set: a 0 read by it or earlier is no restart. */
  readonly epochSetSeq: number[];
  /**
   * Per rack, the switch's boot as last seen (switch-model Request.boot): every request carries
   * it, so that one sent before a restart is refused by the restarted switch rather than carried
   * out on it (a resent epoch write would enable it with verNext 0), and a reply from a later
   * boot says the switch restarted, even when a stale write made its epoch non-zero again.
   */
  readonly switchBoot: number[];
  /**
   * Write backs of removed rkeys whose home was failed and not yet failed over, by `rack:index`:
   * the failover of that index hands them to its successor before the switch sends it the
   * index's requests. (Fetching the index from the failed server itself, in one rack, would
   * otherwise bring back an older version than the one the rkey's replicas had.)
   */
  readonly deferredWriteBacks: Map<string, { items: Map<string, readonly [string, number, string, number]>; entries: EntryList[] }>;
  /** Racks whose init is queued or running. */
  readonly initPending: Set<number>;
  /**
   * Racks whose switch is at epoch 0 on purpose (leaving the chain for want of a live server,
   * or joining it before the switch is enabled): their epoch 0 is not a restart.
   */
  readonly leaving: Set<number>;
  /** Of a rack out of the chain: each server's latest Pong, [incarnation, when], and its switch's latest probe reply. */
  readonly standby: [number, number][][];
  readonly standbySwitch: number[];
  /** A rack that joined the chain and does not hold every index's state yet (joinFetch). */
  catchingUp: number | undefined;
  /** The round of the latest chain told to the clients, and the latest each acknowledged (announceChain). */
  chainRound: number;
  readonly clientRound: number[];
  /** Every fence issued (host -> its incarnations below this are failed): a joining rack's servers start with them. */
  readonly fences: Map<string, number>;
  /** This epoch's sampled reports: key -> keyhash, reads, writes. */
  readonly hot: Map<string, [number, number, number]>;
  /** The same, smoothed over epochs (each epoch's counts added to HEAT_DECAY times the last). */
  readonly heat: Map<string, [number, number, number]>;
  /** An epoch passed while operations ran: decide when they are done. */
  decisionDue: boolean;
  /** Newly added rkeys being pushed to the servers, one server per key per PUSH_GAP_MS. */
  readonly pushing: { rack: number; key: string; keyhash: number; rf: number; item: readonly [string, number, string, number]; targets: number[] }[];
  readonly log: string[];
  /** Restarted (ctx.incarnation > 0): its state is lost, and it does nothing. */
  readonly halted: boolean;
  readonly stats: {
    adds: number; removes: number; failovers: number; flushes: number; rackFailures: number; rackJoins: number; rejoins: number; rejoinAborts: number;
    /** Messages sent of controller transfers that went in several parts (a rejoin's Install, an add's RkeyEntries, a remove's WriteBack). */
    transferParts: number;
  };
}

type C = Ctx<ControllerMsg>;

export function pegasusController(cfg: ControllerConfig): Behavior<Controller, ControllerMsg> {
  const probeMs = cfg.probeMs ?? DEFAULTS.probeMs;
  const failAfterMs = cfg.failAfterMs ?? DEFAULTS.failAfterMs;
  const leaseMs = cfg.leaseMs ?? failAfterMs / 2;
  // A lease is renewed once a probe: one shorter than the probes' period runs out between them.
  if (!(leaseMs > probeMs && leaseMs < failAfterMs)) {
    throw new RangeError(`pegasus controller: leaseMs (${leaseMs}; default failAfterMs / 2) must be above probeMs (${probeMs}) and below failAfterMs (${failAfterMs})`);
  }
  const rackFailAfterMs = cfg.rackFailAfterMs ?? DEFAULTS.rackFailAfterMs;
  const retryMs = cfg.retryMs ?? DEFAULTS.retryMs;
  const epochMs = cfg.epochMs ?? DEFAULTS.epochMs;
  const maxChurn = cfg.maxChurn ?? DEFAULTS.maxChurn;
  const rfScale = cfg.rfScale ?? DEFAULTS.rfScale;
  const minRf = Math.min(cfg.servers, cfg.minRf ?? DEFAULTS.minRf);
  const pushBudget = cfg.pushBudget ?? DEFAULTS.pushBudget;
  const transferBytes = cfg.transferBytes ?? DEFAULT_TRANSFER_BYTES;
  const N = cfg.servers;
  if (N > MAX_SERVERS) throw new RangeError(`pegasus controller: at most ${MAX_SERVERS} servers per rack`);

  /** Log what the controller does; failures and recoveries at 'warn', which a node prints by default. */
  const note = (c: Controller, ctx: C, text: string, level: 'info' | 'warn' | 'error' = 'info'): void => {
    if (c.log.length < 1000) c.log.push(`${ctx.now().toFixed(3)} ${text}`);
    ctx.log[level](text);
  };

  const liveServers = (c: Controller): [number, number][] => {
    const out: [number, number][] = [];
    for (let r = 0; r < cfg.racks; r++) {
      if (!c.rackLive[r]) continue;
      for (let i = 0; i < N; i++) if (!c.dead[r]![i]) out.push([r, i]);
    }
    return out;
  };

  const newOp = (c: Controller, kind: Op['kind'], steps: Step[]): Op => ({
    kind, round: -1, rack: -1, steps, step: 0, pending: new Map(), prepared: [], released: [], answers: new Map(), aborted: false,
  });

  const expect = (c: Controller, target: string, send: () => void): void => {
    c.current!.pending.set(target, send);
    send();
  };

  const toServer = (c: Controller, ctx: C, r: number, i: number, msg: ServerMsg): void => toServerParts(c, ctx, r, i, [msg]);

  /** The parts of one message (transfer.ts), sent together and again together; one ack for all. */
  const toServerParts = (c: Controller, ctx: C, r: number, i: number, parts: readonly ServerMsg[]): void => {
    if (!c.rackLive[r] || c.dead[r]![i]) return;
    expect(c, srvKey(r, i, parts[0]!.type), () => {
      for (const m of parts) ctx.send(cfg.serverRefs[r]![i]!, m);
      if (parts.length > 1) c.stats.transferParts += parts.length;
    });
  };

  /**
   * A request to rack r's switch, resent until answered. A write carries its id as its version:
   * a resend that arrives after a later write to the same entry or cell (the next step of the
   * operation, say: a remap deletes an id's entry, then inserts it) is refused as stale, not
   * carried out (switch-model/versions.ts).
   */
  const toSwitch = (c: Controller, ctx: C, r: number, make: (id: number) => ControlRequest): void => {
    if (!c.rackLive[r]) return;
    const id = ++c.nextId;
    const req = versioned(make(id), id, c.switchBoot[r]!);
    expect(c, `sw:${r}:${id}`, () => ctx.send(cfg.switches[r]!, req));
  };

  const replyTo = (ctx: C): ActorRef<ControlReply> => ctx.self as ActorRef<ControlReply>;

  const regWrite = (c: Controller, ctx: C, r: number, register: string, index: number, value: number): void =>
    toSwitch(c, ctx, r, (id) => ({ type: 'RegisterWrite', id, register, index, value, replyTo: replyTo(ctx) }));

  const done = (c: Controller, target: string, ctx: C): void => {
    const op = c.current;
    if (!op || !op.pending.delete(target)) return;
    if (op.pending.size === 0) advance(c, ctx);
  };

  /** Stop waiting for anything from server i of rack r in the current operation. */
  const doneWithServer = (c: Controller, ctx: C, r: number, i: number): void => {
    const op = c.current;
    if (!op) return;
    const prefix = srvKey(r, i, '');
    for (const key of [...op.pending.keys()]) if (key.startsWith(prefix)) op.pending.delete(key);
    if (op.pending.size === 0) advance(c, ctx);
  };

  const advance = (c: Controller, ctx: C): void => {
    for (;;) {
      const op = c.current;
      if (op === undefined) {
        const next = c.queue.shift();
        if (next === undefined) {
          // Idle: a decision that waited for the operations may queue new ones (enqueue runs them).
          if (c.decisionDue) decide(c, ctx);
          return;
        }
        next.round = ++c.rounds;
        c.current = next;
        continue;
      }
      if (op.aborted || op.step >= op.steps.length) {
        if (op.kind === 'init') {
          c.initPending.delete(op.rack);
          c.epochSetSeq[op.rack] = c.probeSeq;
        }
        c.current = undefined;
        continue;
      }
      op.steps[op.step++]!(c, ctx);
      if (op.pending.size > 0) return;
    }
  };

  const enqueue = (c: Controller, ctx: C, op: Op, front = false): void => {
    if (front) c.queue.unshift(op);
    else c.queue.push(op);
    if (c.current === undefined) advance(c, ctx);
  };

  // ---- operations ------------------------------------------------------------------------------

  const initOp = (c: Controller, r: number): Op => withRack(r, newOp(c, 'init', [
    (c2, ctx) => {
      for (let x = 0; x < N; x++) {
        if (c2.dead[r]![x]) toSwitch(c2, ctx, r, (id) => ({ type: 'TableDelete', id, table: 'senders', match: [x], replyTo: replyTo(ctx) }));
        const y = c2.serving[r]![x]!;
        if (y !== x || c2.dead[r]![y]) toSwitch(c2, ctx, r, (id) => ({ type: 'TableDelete', id, table: 'servers', match: [x], replyTo: replyTo(ctx) }));
      }
    },
    (c2, ctx) => {
      for (let x = 0; x < N; x++) {
        const y = c2.serving[r]![x]!;
        if (y !== x && !c2.dead[r]![y]) {
          toSwitch(c2, ctx, r, (id) => ({ type: 'TableInsert', id, table: 'servers', match: [x], action: 'forward', params: { port: cfg.serverPort(y) }, replyTo: replyTo(ctx) }));
        }
      }
    },
    (c2, ctx) => newEpoch(c2, ctx, r, `init rack ${r}`),
    (c2, ctx) => regWrite(c2, ctx, r, 'epoch', 0, c2.epoch),
  ]));

  /**
   * Rack r's switch stamps from a new epoch on: verNext = epoch << EPOCH_SHIFT, above every
   * version stamped before (no epoch's counter ever leaves its range: see epochOp).
   */
  const newEpoch = (c: Controller, ctx: C, r: number, why: string): void => {
    const e = ++c.epoch;
    if (e > MAX_EPOCH) throw new Error(`pegasus controller: out of epochs (${MAX_EPOCH})`);
    note(c, ctx, `${why}: epoch ${e}`);
    regWrite(c, ctx, r, 'verNext', 0, e * 2 ** EPOCH_SHIFT);
  };

  /**
   * The head's counter passed half of its epoch's range (the controller reads it at every
   * probe): move the head to a new epoch, long before the counter could run into the next
   * epoch's versions (2^31 writes of margin between two probes).
   */
  const epochOp = (c: Controller, r: number): Op => withRack(r, newOp(c, 'epoch', [
    (c2, ctx) => {
      if (c2.chain[0] === r && c2.rackLive[r]) newEpoch(c2, ctx, r, `rack ${r}'s version counter passed half its range`);
    },
  ]));

  /** A probe's reading of the head's verNext. */
  const onCounter = (c: Controller, ctx: C, r: number, value: number): void => {
    const half = 2 ** (EPOCH_SHIFT - 1);
    if (c.chain[0] !== r || !c.rackLive[r] || value % (2 * half) < half) return;
    if (![c.current, ...c.queue].some((op) => op?.kind === 'epoch')) enqueue(c, ctx, epochOp(c, r));
  };

  const withRack = (r: number, op: Op): Op => {
    op.rack = r;
    return op;
  };

  /**
   * One round of pushes of newly added rkeys: to the next server of each, an RC_REQ with the
   * home's item, which the server applies if newer and acknowledges through the switch (the ack
   * adds it to the set). One server per key per PUSH_GAP_MS: keys are added several at a time,
   * and all their pushes at once would queue at the head of every server's queue.
   */
  const pushRound = (c: Controller, ctx: C): void => {
    for (const p of c.pushing) {
      const x = p.targets.shift();
      if (x === undefined || !c.rackLive[p.rack] || !c.rkeys.has(p.key)) continue;
      const y = c.serving[p.rack]![x]!;
      if (c.dead[p.rack]![y]) continue;
      const [key, ver, value, valueBytes] = p.item;
      ctx.send(cfg.serverRefs[p.rack]![y]!, {
        type: 'Pegasus', op: 'RC_REQ', keyhash: p.keyhash, clientId: NO_CLIENT, serverId: x, load: 0, ver, bitmap: 0, replicated: 1, rf: p.rf,
        rack: p.rack, from: ctx.host, key, value, valueBytes, session: 0, reqId: 0, sizeBytes: HEADER_BYTES + key.length + valueBytes,
      });
    }
    const left = c.pushing.filter((p) => p.targets.length > 0 && c.rkeys.has(p.key));
    c.pushing.length = 0;
    c.pushing.push(...left);
    if (left.length === 0) ctx.cancelTimer('pace');
  };

  const addOp = (c: Controller, keys: readonly Rkey[]): Op => {
    const names = keys.map((k) => k.key);
    const installed = new Set<number>();
    return newOp(c, 'add', [
      (c2, ctx) => {
        note(c2, ctx, `add rkeys ${names.join(',')}`);
        for (const [r, i] of liveServers(c2)) toServer(c2, ctx, r, i, { type: 'RkeyPrepare', round: c2.current!.round, keys: names });
      },
      (c2, ctx) => {
        const prepared = c2.current!.prepared;
        const entries = mergeEntries(prepared.map((p) => p.entries));
        for (const [r, i] of liveServers(c2)) {
          // Only to a server that lacks some of them. Usually every entry is the home's (writes
          // of a key that is not an rkey all go to its home), and a home is the server a hot key
          // overloads: its answer would come late, from behind its queue.
          const own = new Map(prepared.find((p) => p.rack === r && p.serverId === i)?.entries ?? []);
          const lacking = entries.filter(([sk, e]) => !((own.get(sk)?.reqId ?? -1) >= e.reqId));
          if (lacking.length === 0) continue;
          const split = splitParts([], lacking, transferBytes);
          toServerParts(c2, ctx, r, i, split.map((p, chunk) => ({ type: 'RkeyEntries', round: c2.current!.round, entries: p.entries, chunk, chunks: split.length })));
        }
      },
      (c2, ctx) => {
        // verCompleted starts at the home's version: every completed write of a key that is not
        // yet an rkey went to its home. A home that did not answer (it failed meanwhile) leaves
        // that version unknown: try again after its failover.
        const op = c2.current!;
        const missing = keys.some((k) => c2.chain.some((r) => {
          const home = c2.serving[r]![cfg.ring.home(k.keyhash)]!;
          return c2.rackLive[r] && !op.prepared.some((x) => x.rack === r && x.serverId === home);
        }));
        if (missing) {
          // The servers treat the keys as replicated since the prepare, and drop their writes
          // routed the old way: release them (no switch has them yet, so there is nothing to
          // write back), then add them again, as indices allow by then. Left replicated, a key
          // the later add finds no index for would have its writes dropped for good.
          // (The release is an operation of its own: a server answers one request of a type per
          // round, and this round's prepare is answered.)
          note(c2, ctx, `add of ${names.join(',')} postponed: a home failed`);
          op.aborted = true;
          for (const k of keys) c2.freeIndices.push(k.index);
          c2.queue.unshift(newOp(c2, 'add', [(c3, ctx3) => {
            for (const [r, i] of liveServers(c3)) toServer(c3, ctx3, r, i, { type: 'RkeyRelease', round: c3.current!.round, keys: names });
          }]));
          enqueue(c2, ctx, lazyAdd(c2, keys.map(({ key, keyhash, rf }) => ({ key, keyhash, rf }))));
          return;
        }
        for (let r = 0; r < cfg.racks; r++) {
          if (!c2.rackLive[r]) continue;
          for (const k of keys) {
            const home = c2.serving[r]![cfg.ring.home(k.keyhash)]!;
            const p = c2.current!.prepared.find((x) => x.rack === r && x.serverId === home);
            const ver = p?.items.find((v) => v[0] === k.key)?.[1] ?? 0;
            regWrite(c2, ctx, r, 'verCompleted', k.index, ver);
            regWrite(c2, ctx, r, 'rsetBitmap', k.index, 2 ** home);
            regWrite(c2, ctx, r, 'rsetSize', k.index, 1);
            regWrite(c2, ctx, r, 'rsetA', k.index * MAX_SERVERS, home);
            regWrite(c2, ctx, r, 'rsetB', k.index * MAX_SERVERS, home);
            regWrite(c2, ctx, r, 'rrCursor', k.index, 0);
            regWrite(c2, ctx, r, 'rkeyReads', k.index, 0);
            regWrite(c2, ctx, r, 'rkeyWrites', k.index, 0);
          }
        }
      },
      // The table entries rack by rack from the tail up, each once the one after it in the chain
      // has it. A write that a rack routes as an rkey write goes to its write target, and on down
      // the chain to the same index: a rack further down without the entry would send the key's
      // reads to its home, which never saw that write (before the head has the entry, writes of
      // the keys are dropped: the servers treat them as rkeys since the prepare).
      ...Array.from({ length: cfg.racks }, (): Step => (c2, ctx) => {
        const r = [...c2.chain].reverse().find((x) => c2.rackLive[x] && !installed.has(x));
        if (r === undefined) return;
        installed.add(r);
        for (const k of keys) {
          toSwitch(c2, ctx, r, (id) => ({
            type: 'TableInsert', id, table: 'rkeys', match: [k.keyhash], action: 'isRkey', params: { index: k.index, rf: k.rf }, replyTo: replyTo(ctx),
          }));
        }
      }),
      (c2, ctx) => {
        for (const k of keys) c2.rkeys.set(k.key, k);
        c2.stats.adds += keys.length;
        // The new rkey goes to every server of the rack (DESIGN.md "Adding an rkey"; the
        // reference's home sends RC_REQ to all nodes); `rf` bounds only the pushes after a
        // write. Replication is not left to writes: a key that is only read is never written.
        // The controller sends the home's item itself (it has it from the prepare): the home of
        // a hot key is the server the key overloads, and would push late, from behind its queue.
        const op = c2.current!;
        for (let r = 0; r < cfg.racks; r++) {
          if (!c2.rackLive[r]) continue;
          for (const k of keys) {
            const home = c2.serving[r]![cfg.ring.home(k.keyhash)]!;
            const it = op.prepared.find((x) => x.rack === r && x.serverId === home)?.items.find((v) => v[0] === k.key);
            const targets: number[] = [];
            // From a place given by the key, so that the first replicas of keys added together
            // are on different servers.
            for (let j = 0; j < N; j++) {
              const x = (k.keyhash + j) % N;
              if (x !== home) targets.push(x);
            }
            c2.pushing.push({ rack: r, key: k.key, keyhash: k.keyhash, rf: k.rf, item: it ?? [k.key, 0, '', 0], targets });
          }
        }
        if (c2.pushing.length > 0) {
          pushRound(c2, ctx);
          ctx.startTimer('pace', PUSH_GAP_MS, { type: 'PaceTimeout' }, { repeat: true });
        }
      },
    ]);
  };

  /** A step: the current operation goes on with a remove of every rkey (write back included). */
  const removeEverything = (c: Controller): void => {
    const all = [...c.rkeys.values()];
    const op = c.current!;
    if (all.length > 0) op.steps.splice(op.step, 0, ...removeOp(c, all).steps);
  };

  /** Keep a write back for index x of rack r, whose server is failed, for its failover (deferredWriteBacks). */
  const deferWriteBack = (c: Controller, r: number, x: number, item: readonly [string, number, string, number], entries: EntryList): void => {
    const at = `${r}:${x}`;
    let d = c.deferredWriteBacks.get(at);
    if (!d) c.deferredWriteBacks.set(at, (d = { items: new Map(), entries: [] }));
    const had = d.items.get(item[0]);
    if (had === undefined || item[1] > had[1]) d.items.set(item[0], item);
    d.entries.push(entries);
  };

  const removeOp = (c: Controller, keys: readonly Rkey[]): Op => {
    const names = keys.map((k) => k.key);
    return newOp(c, 'remove', [
      (c2, ctx) => {
        note(c2, ctx, `remove rkeys ${names.join(',')}`);
        for (const [r, i] of liveServers(c2)) toServer(c2, ctx, r, i, { type: 'RkeyRelease', round: c2.current!.round, keys: names });
      },
      (c2, ctx) => {
        const rel = c2.current!.released;
        const entries = mergeEntries(rel.map((p) => p.entries));
        for (let r = 0; r < cfg.racks; r++) {
          if (!c2.rackLive[r]) continue;
          const byHome = new Map<number, [string, number, string, number][]>();
          for (const k of keys) {
            // The newest item anywhere: a rack may have lost the newest version with a failed
            // server, but the chain has it in another rack (a write in progress may show early,
            // which is allowed: it is linearized then).
            let best: readonly [string, number, string, number] | undefined;
            for (const p of rel) {
              for (const it of p.items) if (it[0] === k.key && (best === undefined || it[1] > best[1])) best = it;
            }
            const x = cfg.ring.home(k.keyhash);
            const home = c2.serving[r]![x]!;
            if (c2.dead[r]![home]) {
              if (best) deferWriteBack(c2, r, x, best, entries);
              continue;
            }
            let list = byHome.get(home);
            if (!list) byHome.set(home, (list = []));
            if (best) list.push([...best]);
          }
          for (const [home, items] of byHome) {
            const split = splitParts(items, entries, transferBytes);
            toServerParts(c2, ctx, r, home, split.map((p, chunk) => ({
              type: 'WriteBack', round: c2.current!.round, items: p.items, entries: p.entries, chunk, chunks: split.length,
            })));
          }
        }
      },
      (c2, ctx) => {
        for (let r = 0; r < cfg.racks; r++) {
          if (!c2.rackLive[r]) continue;
          for (const k of keys) toSwitch(c2, ctx, r, (id) => ({ type: 'TableDelete', id, table: 'rkeys', match: [k.keyhash], replyTo: replyTo(ctx) }));
        }
      },
      (c2) => {
        for (const k of keys) {
          if (c2.rkeys.get(k.key) === k) {
            c2.rkeys.delete(k.key);
            c2.freeIndices.push(k.index);
          }
        }
        c2.stats.removes += keys.length;
      },
    ]);
  };

  /** Server i of rack r failed: its successor takes its ids over. `again`: a restart of one whose source failed. */
  const failoverOp = (c: Controller, r: number, i: number, again = false, selfSource = true): Op => {
    let j = -1;
    let xs: number[] = [];
    const sources: [number, number][] = [];
    const op = newOp(c, 'failover', [
      (c2, ctx) => {
        if (!c2.rackLive[r]) return;
        for (let d = 1; d < N; d++) {
          const cand = (i + d) % N;
          if (!c2.dead[r]![cand]) { j = cand; break; }
        }
        xs = [];
        for (let x = 0; x < N; x++) if (c2.serving[r]![x] === i) xs.push(x);
        note(c2, ctx, `failover rack ${r} server ${i} (indices ${xs.join(',')}) -> ${j}${again ? ' (again: a source failed)' : ''}`, 'warn');
        if (!again) c2.stats.failovers++;
        if (j < 0 && c2.chain.some((r2) => r2 !== r && c2.rackLive[r2])) {
          leaveChain(c2, ctx, r, 'no live server');
          return;
        }
        cutOff(c2, ctx, r, i);
      },
      (c2, ctx) => {
        // Its incarnation and earlier ones: a later incarnation may rejoin and forward again.
        const host = cfg.serverHosts[r]![i]!;
        const below = Math.max(c2.incarnation[r]![i]! + 1, c2.fences.get(host) ?? 0);
        c2.fences.set(host, below);
        const fence: Fence = { type: 'Fence', round: c2.current!.round, hosts: [[host, below]] };
        for (const [r2, i2] of liveServers(c2)) toServer(c2, ctx, r2, i2, fence);
      },
      (c2, ctx) => {
        if (j < 0 || xs.length === 0 || !c2.rackLive[r]) return;
        const refs: { ref: ActorRef<FetchState>; keys: readonly string[] | null }[] = [];
        const from = (r2: number, m: number, keys: readonly string[] | null): void => {
          refs.push({ ref: cfg.serverRefs[r2]![m]!, keys });
          sources.push([r2, m]);
        };
        for (const x of xs) {
          const src = sourceOf(c2, r, x);
          if (src !== undefined) from(...src, null);
          // No other rack has x (it left, or its server of x failed too): the failed server
          // itself may be alive (taken for failed: slow, paused or cut off from the controller
          // alone), and then its state is whole: its lease ran out before this failover, and its
          // ids were cut off. It is told to Retire only after (onPong); if it does not answer
          // (SELF_SOURCE_WAITS failure timeouts), the failover runs again without it.
          else if (selfSource && c2.hello[r]![i]! <= c2.incarnation[r]![i]!) {
            from(r, i, null);
            op.selfSourceSince = ctx.now();
          }
        }
        const rk = [...c2.rkeys.keys()];
        if (rk.length > 0) {
          for (let y = 0; y < N; y++) if (y !== j && y !== i && !c2.dead[r]![y]) from(r, y, rk);
        }
        toServer(c2, ctx, r, j, { type: 'Recover', round: c2.current!.round, ids: xs, sources: refs });
      },
      (c2, ctx) => {
        // Write backs held for these indices (removals while their server was failed), on top of
        // what the successor fetched: newer versions win, as in every merge.
        if (j < 0 || xs.length === 0 || !c2.rackLive[r]) return;
        const held = xs.map((x) => c2.deferredWriteBacks.get(`${r}:${x}`)).filter((d) => d !== undefined);
        if (held.length === 0) return;
        const items = held.flatMap((d) => [...d.items.values()]);
        const split = splitParts(items, mergeEntries(held.flatMap((d) => d.entries)), transferBytes);
        toServerParts(c2, ctx, r, j, split.map((p, chunk) => ({
          type: 'WriteBack', round: c2.current!.round, items: p.items, entries: p.entries, chunk, chunks: split.length,
        })));
      },
      (c2, ctx) => {
        if (j < 0) return;
        for (const x of xs) c2.deferredWriteBacks.delete(`${r}:${x}`);
        for (const x of xs) toSwitch(c2, ctx, r, (id) => ({ type: 'TableDelete', id, table: 'servers', match: [x], replyTo: replyTo(ctx) }));
      },
      (c2, ctx) => {
        // A successor that failed meanwhile gets no requests: its own failover (next) moves these ids on.
        if (j < 0 || c2.dead[r]![j]) return;
        for (const x of xs) {
          toSwitch(c2, ctx, r, (id) => ({ type: 'TableInsert', id, table: 'servers', match: [x], action: 'forward', params: { port: cfg.serverPort(j) }, replyTo: replyTo(ctx) }));
        }
      },
      (c2) => {
        if (j >= 0 && c2.rackLive[r]) for (const x of xs) c2.serving[r]![x] = j;
      },
    ]);
    op.fetch = { sources, again: (c2) => failoverOp(c2, r, i, true, selfSource) };
    op.giveUpSelf = (c2) => failoverOp(c2, r, i, true, false);
    op.failed = [r, i];
    return op;
  };

  /**
   * Where index x's state comes from for a server of rack r: the live server that serves x in
   * another rack of the chain, the first from the head (a rack holds every write the racks after
   * it hold), not one still catching up.
   */
  const sourceOf = (c: Controller, r: number, x: number): [number, number] | undefined => {
    for (const r2 of c.chain) {
      if (r2 === r || !c.rackLive[r2] || r2 === c.catchingUp) continue;
      const m = c.serving[r2]![x]!;
      if (!c.dead[r2]![m]) return [r2, m];
    }
    return undefined;
  };

  /**
   * Rack r has no live server: it leaves the chain. Its switch is alive, so first stop it taking
   * requests (epoch 0, as before an init): a client that has not learnt the new chain yet would
   * otherwise reach a server that was failed over while alive and read what it held then. Runs
   * inside a step: the rack operation is queued first, behind the write.
   */
  const leaveChain = (c: Controller, ctx: C, r: number, why: string): void => {
    note(c, ctx, `rack ${r}: ${why}; it leaves the chain`, 'warn');
    c.leaving.add(r);
    regWrite(c, ctx, r, 'epoch', 0, 0);
    c.queue.unshift(rackOp(c, r));
  };

  const rackOp = (c: Controller, r: number): Op => newOp(c, 'rack', [
    (c2, ctx) => {
      // Its switch may fail while it leaves (declareRackDead queues this operation again), or
      // while it joins, before it is in the chain.
      if (!c2.chain.includes(r)) {
        c2.rackLive[r] = false;
        c2.current!.aborted = true;
        return;
      }
      c2.rackLive[r] = false;
      awaitLeases(c2, ctx, r);
    },
    (c2) => {
      // The tail leaves: the rack before it becomes the tail, and its directory was kept by the
      // chain acknowledgements, which are not resent (one lost leaves an rkey's set at a server
      // without the newest version, harmless until reads come to that rack). Remove every rkey
      // first, with the write back, as after a switch restart: reads then go to the homes.
      if (c2.chain[c2.chain.length - 1] === r && c2.chain.length > 1) removeEverything(c2);
    },
    (c2, ctx) => {
      const oldHead = c2.chain[0];
      c2.chain = c2.chain.filter((x) => x !== r);
      if (c2.catchingUp === r) c2.catchingUp = undefined;
      // Its servers start over when it joins again, from another rack's state.
      for (const at of [...c2.deferredWriteBacks.keys()]) if (at.startsWith(`${r}:`)) c2.deferredWriteBacks.delete(at);
      note(c2, ctx, `rack ${r} left the chain; chain ${c2.chain.join('>')}`, 'warn');
      c2.stats.rackFailures++;
      const head = c2.chain[0];
      if (head !== undefined && head !== oldHead) newEpoch(c2, ctx, head, `rack ${head} is the new head`);
    },
    (c2, ctx) => {
      const round = c2.current!.round;
      for (const [r2, i2] of liveServers(c2)) toServer(c2, ctx, r2, i2, { type: 'ChainConfig', round, racks: c2.chain });
      announceChain(c2, ctx, round);
    },
  ]);

  /**
   * Tell the clients the chain (as of this round): sent now and at every retry until each
   * acknowledges it, but not waited for. A client that is down (or never started) must not hold
   * up the operations, and one that has not heard yet is safe: its requests reach a rack that
   * drops them (out of the chain, or no longer the tail for reads), and it retries.
   */
  const announceChain = (c: Controller, ctx: C, round: number): void => {
    c.chainRound = round;
    sendChain(c, ctx);
  };

  const sendChain = (c: Controller, ctx: C): void => {
    cfg.clients.forEach((cl, k) => {
      if (c.clientRound[k]! < c.chainRound) ctx.send(cl, { type: 'ChainConfig', round: c.chainRound, racks: c.chain });
    });
  };

  // ---- a rack joins the chain again --------------------------------------------------------------
  //
  // It joins as the tail. Its servers hold nothing they can trust (the chain went on without
  // them), so they start over empty, and the state comes from another rack while the chain's
  // writes go on: the old tail forwards every write it applies from the moment it learns the
  // new chain (and stops serving reads: the new tail may not have such a write yet), and the
  // state each joining server fetches after that holds every write applied before. Versions
  // make the two commute. Reads move to the new tail (the clients learn the chain) only once
  // every one of its servers has its state; in between they are dropped and retried.

  /** Rack r, out of the chain, is whole again: its switch and every server answered within the last few probes. */
  const standbyReady = (c: Controller, r: number, now: number): boolean =>
    now - c.standbySwitch[r]! <= rackFailAfterMs / 2 && c.standby[r]!.every(([inc, at]) => inc >= 0 && now - at <= failAfterMs / 2);

  const joinQueued = (c: Controller, r: number): boolean => [c.current, ...c.queue].some((op) => op?.kind === 'join' && op.rack === r);

  /** Give the join of rack r up before it is in the chain: it stays out (and joins later, once whole again). */
  const abortJoin = (c: Controller, ctx: C, r: number, why: string): void => {
    note(c, ctx, `rack ${r}: join abandoned: ${why}`, 'warn');
    const op = c.current!;
    op.aborted = true;
    op.pending.clear();
    c.rackLive[r] = false;
    c.leaving.add(r);
    if (c.catchingUp === r) c.catchingUp = undefined;
  };

  const joinOp = (c: Controller, r: number): Op => {
    const whole = (c2: Controller): boolean => c2.rackLive[r]! && c2.dead[r]!.every((d) => !d);
    /** A step that runs only while the rack and every server of it are alive. */
    const live = (step: Step): Step => (c2, ctx) => {
      if (whole(c2)) step(c2, ctx);
      else abortJoin(c2, ctx, r, 'its switch or a server failed');
    };
    return withRack(r, newOp(c, 'join', [
      (c2, ctx) => {
        if (c2.rackLive[r] || c2.chain.includes(r) || !standbyReady(c2, r, ctx.now())) {
          c2.current!.aborted = true;
          return;
        }
        note(c2, ctx, `rack ${r} is back: it joins the chain as its tail (every rkey is removed first)`, 'warn');
        // The joining rack's directory starts without rkeys, and so must every other's.
        removeEverything(c2);
      },
      (c2, ctx) => {
        if (!standbyReady(c2, r, ctx.now())) {
          abortJoin(c2, ctx, r, 'no longer whole');
          return;
        }
        c2.rackLive[r] = true;
        c2.leaving.add(r);
        c2.catchingUp = r;
        const round = c2.current!.round;
        const chain = [...c2.chain, r];
        for (let i = 0; i < N; i++) {
          const inc = c2.standby[r]![i]![0];
          c2.dead[r]![i] = false;
          c2.serving[r]![i] = i;
          c2.incarnation[r]![i] = inc + 1;
          c2.lastPong[r]![i] = ctx.now();
          toServer(c2, ctx, r, i, { type: 'Join', round, incarnation: inc, chain, fenced: [...c2.fences] });
        }
        // Its directory as it was when the rack left (it missed every removal since), and the
        // ids as failovers left them: both afresh.
        for (const table of ['rkeys', 'servers']) toSwitch(c2, ctx, r, (id) => ({ type: 'TableClear', id, table, replyTo: replyTo(ctx) }));
      },
      live((c2, ctx) => {
        for (let i = 0; i < N; i++) {
          toSwitch(c2, ctx, r, (id) => ({ type: 'TableInsert', id, table: 'servers', match: [i], action: 'forward', params: { port: cfg.serverPort(i) }, replyTo: replyTo(ctx) }));
          toSwitch(c2, ctx, r, (id) => ({ type: 'TableInsert', id, table: 'senders', match: [i], action: 'live', replyTo: replyTo(ctx) }));
        }
      }),
      // Enabled (it takes the forwarded writes); its verNext matters only if it becomes the head,
      // which then stamps a new epoch.
      live((c2, ctx) => regWrite(c2, ctx, r, 'epoch', 0, Math.max(1, c2.epoch))),
      live((c2, ctx) => {
        c2.leaving.delete(r);
        c2.epochSetSeq[r] = c2.probeSeq;
        c2.chain = [...c2.chain, r];
        note(c2, ctx, `rack ${r} joined the chain (catching up); chain ${c2.chain.join('>')}`, 'warn');
        const round = c2.current!.round;
        for (const [r2, i2] of liveServers(c2)) toServer(c2, ctx, r2, i2, { type: 'ChainConfig', round, racks: c2.chain });
        // Leases now, not at the next probe: the servers apply forwarded writes only under one.
        for (let i = 0; i < N; i++) ctx.send(cfg.serverRefs[r]![i]!, { type: 'Ping', seq: c2.probeSeq });
      }),
      // From here the rack is in the chain: a failure of it or of a server is an ordinary one.
      (c2) => { c2.queue.unshift(joinFetchOp(c2, r)); },
    ]));
  };

  /** The joining rack's servers fetch their ids' state from other racks; then the clients read there. */
  const joinFetchOp = (c: Controller, r: number): Op => {
    const op = withRack(r, newOp(c, 'join', []));
    const sources: [number, number][] = [];
    op.fetch = { sources, again: (c2) => joinFetchOp(c2, r) };
    op.steps.push(
      (c2, ctx) => {
        if (!c2.chain.includes(r) || !c2.rackLive[r]) {
          op.aborted = true;
          return;
        }
        const sends: [number, Recover][] = [];
        for (let i = 0; i < N; i++) {
          if (c2.dead[r]![i]) continue;
          const ids: number[] = [];
          const refs: Recover['sources'][number][] = [];
          for (let x = 0; x < N; x++) {
            if (c2.serving[r]![x] !== i) continue;
            const src = sourceOf(c2, r, x);
            if (src === undefined) {
              waitForSource(c2, ctx, r, x);
              return;
            }
            ids.push(x);
            refs.push({ ref: cfg.serverRefs[src[0]]![src[1]]!, keys: null });
            sources.push(src);
          }
          sends.push([i, { type: 'Recover', round: op.round, ids, sources: refs }]);
        }
        for (const [i, m] of sends) toServer(c2, ctx, r, i, m);
      },
      (c2, ctx) => {
        // Fetched: a failure of a source no longer matters.
        sources.length = 0;
        c2.catchingUp = undefined;
        announceChain(c2, ctx, op.round);
      },
      (c2, ctx) => {
        c2.stats.rackJoins++;
        note(c2, ctx, `rack ${r} caught up: the clients read there; chain ${c2.chain.join('>')}`, 'warn');
      },
    );
    return op;
  };

  /**
   * No other rack has a live server for index x now: a failover queued there will give it one,
   * so fetch again after the failovers and rack changes at the head of the queue. With no other
   * rack left at all, no copy of the data survives to catch up from: the joining rack serves
   * nothing (unavailable, not wrong).
   */
  const waitForSource = (c: Controller, ctx: C, r: number, x: number): void => {
    const op = c.current!;
    op.aborted = true;
    if (!c.chain.some((r2) => r2 !== r && c.rackLive[r2])) {
      note(c, ctx, `rack ${r} cannot catch up: no other rack of the chain is left (index ${x})`, 'error');
      return;
    }
    let k = 0;
    while (k < c.queue.length && (c.queue[k]!.kind === 'failover' || c.queue[k]!.kind === 'rack')) k++;
    c.queue.splice(k, 0, joinFetchOp(c, r));
  };

  /** A part of a server's answer to RkeyPrepare or RkeyRelease: the target is done with the last one. */
  const onAnswer = (c: Controller, ctx: C, msg: RkeyPrepared | RkeyReleased): void => {
    const op = c.current;
    const target = srvKey(msg.rack, msg.serverId, msg.type === 'RkeyPrepared' ? 'RkeyPrepare' : 'RkeyRelease');
    if (op?.round !== msg.round || !op.pending.has(target)) return;
    let got = op.answers.get(target);
    if (got === undefined || got.got.length !== msg.chunks) op.answers.set(target, (got = newParts(msg.chunks)));
    if (!takePart(got, msg.chunk, msg.chunks, msg) || !isComplete(got)) return;
    const parts = allParts(got);
    const whole = { ...parts[0]!, chunk: 0, chunks: 1, items: parts.flatMap((m) => m.items), entries: parts.flatMap((m) => m.entries) };
    if (whole.type === 'RkeyPrepared') op.prepared.push(whole);
    else op.released.push(whole);
    done(c, target, ctx);
  };

  // ---- rejoin --------------------------------------------------------------------------------------
  //
  // The barrier is the handing-over server itself: on Handover it drops every request addressed
  // to the id from then on and snapshots its state. A request for the id that it took before is
  // in the snapshot (its effect and its client-table entry); one that arrives later, by any path
  // and in any order (a control message overtakes queued requests; the network reorders), is
  // dropped unanswered, and the client's retry reaches the rejoined server once the switch maps
  // the id back. Until the commit the id stays the handing-over server's in the controller: an
  // abort gives it back (Reclaim), and a crash of that server fails it over with the id, as before.

  /** The snapshot as Install messages of at most transferBytes each (rkeys, fences and chain in the first). */
  const installParts = (snap: Snapshot, round: number, incarnation: number, chain: readonly number[]): Install[] => {
    const head = listBytes(snap.replicated) + listBytes(snap.fenced.map(([h]) => h), true) + 4 * chain.length;
    const parts = splitParts(snap.items, snap.entries, transferBytes, head);
    return parts.map((p, chunk) => ({
      type: 'Install', round, incarnation, chunk, chunks: parts.length, items: p.items, entries: p.entries,
      replicated: chunk === 0 ? snap.replicated : [], fenced: chunk === 0 ? snap.fenced : [], chain: [...chain],
    }));
  };

  /** A part of the snapshot of the running rejoin: the phase ends with the last one. */
  const onHandedOver = (c: Controller, ctx: C, msg: HandedOver): void => {
    const op = c.current;
    const j = op?.rejoin;
    if (op === undefined || j === undefined || op.round !== msg.round || msg.rack !== j.r || msg.serverId !== j.s) return;
    const target = srvKey(j.r, j.s, 'Handover');
    if (!op.pending.has(target)) return;
    const got = (j.handedOver ??= newParts(msg.chunks));
    if (!takePart(got, msg.chunk, msg.chunks, msg) || !isComplete(got)) return;
    const parts = allParts(got);
    j.snapshot = {
      items: parts.flatMap((m) => m.items), entries: parts.flatMap((m) => m.entries), replicated: parts[0]!.replicated, fenced: parts[0]!.fenced,
    };
    done(c, target, ctx);
  };

  const rejoinOp = (c: Controller, r: number, i: number): Op => {
    const op = newOp(c, 'rejoin', []);
    const j: Rejoin = { r, i, inc: 0, s: -1, startedMs: 0, committed: false, handedOver: undefined, snapshot: undefined };
    op.rejoin = j;
    op.steps.push(
      (c2, ctx) => {
        j.s = c2.serving[r]![i]!;
        j.inc = c2.hello[r]![i]!;
        // Conditions may have changed since it was queued: the server that has the id failed (its
        // failover comes first), the rack left the chain, or the server is serving already.
        if (!c2.rackLive[r] || !c2.dead[r]![i] || j.s === i || c2.dead[r]![j.s] || j.inc <= c2.incarnation[r]![i]!) {
          op.aborted = true;
          return;
        }
        j.startedMs = ctx.now();
        note(c2, ctx, `rejoin rack ${r} server ${i} (incarnation ${j.inc}) from ${j.s}`, 'warn');
        toServer(c2, ctx, r, j.s, { type: 'Handover', round: op.round, id: i });
      },
      (c2, ctx) => {
        const snap = j.snapshot;
        if (snap === undefined) {
          abortRejoin(c2, ctx, `server ${j.s} failed`);
          return;
        }
        const parts = installParts(snap, op.round, j.inc, c2.chain);
        // One target, every part at each (re)send: a part lost is sent again with the rest.
        expect(c2, srvKey(r, i, 'Install'), () => {
          for (const m of parts) ctx.send(cfg.serverRefs[r]![i]!, m);
          if (parts.length > 1) c2.stats.transferParts += parts.length;
        });
      },
      (c2, ctx) => {
        // Commit: from here a crash of server i is an ordinary failover of i (the chain's other
        // racks hold what it acknowledged), queued behind this operation.
        j.committed = true;
        c2.dead[r]![i] = false;
        c2.serving[r]![i] = i;
        c2.incarnation[r]![i] = j.inc;
        c2.lastPong[r]![i] = ctx.now();
        // Its replies must update the directory before any can reach a client (a reply from a
        // server not in `senders` passes without raising verCompleted).
        toSwitch(c2, ctx, r, (id) => ({ type: 'TableInsert', id, table: 'senders', match: [i], action: 'live', replyTo: replyTo(ctx) }));
        toServer(c2, ctx, r, i, { type: 'Serve', round: op.round, incarnation: j.inc });
        // Its lease now, not at the next probe: it serves once the switch maps the id back.
        ctx.send(cfg.serverRefs[r]![i]!, { type: 'Ping', seq: c2.probeSeq });
      },
      (c2, ctx) => toSwitch(c2, ctx, r, (id) => ({ type: 'TableDelete', id, table: 'servers', match: [i], replyTo: replyTo(ctx) })),
      (c2, ctx) => toSwitch(c2, ctx, r, (id) => ({
        type: 'TableInsert', id, table: 'servers', match: [i], action: 'forward', params: { port: cfg.serverPort(i) }, replyTo: replyTo(ctx),
      })),
      (c2, ctx) => {
        c2.stats.rejoins++;
        note(c2, ctx, `rack ${r} server ${i} rejoined`, 'warn');
      },
    );
    return op;
  };

  const reclaimOp = (c: Controller, r: number, i: number, s: number): Op => newOp(c, 'reclaim', [
    (c2, ctx) => toServer(c2, ctx, r, s, { type: 'Reclaim', round: c2.current!.round, id: i }),
  ]);

  /** Abandon the running rejoin (before its commit): the server that handed the id over takes it back. */
  const abortRejoin = (c: Controller, ctx: C, why: string): void => {
    const op = c.current;
    const j = op?.rejoin;
    if (op === undefined || j === undefined || j.committed || op.aborted) return;
    note(c, ctx, `rejoin rack ${j.r} server ${j.i} abandoned: ${why}`, 'warn');
    c.stats.rejoinAborts++;
    op.aborted = true;
    op.pending.clear();
    c.queue.unshift(reclaimOp(c, j.r, j.i, j.s));
  };

  const rejoinQueued = (c: Controller, r: number, i: number): boolean =>
    [c.current, ...c.queue].some((op) => op?.rejoin !== undefined && op.rejoin.r === r && op.rejoin.i === i);

  const onHello = (c: Controller, ctx: C, msg: Hello): void => {
    const { rack: r, serverId: i } = msg;
    // A late or duplicated Hello from an incarnation that rejoined since.
    if (msg.incarnation <= c.incarnation[r]![i]!) return;
    if (msg.incarnation > c.hello[r]![i]!) c.hello[r]![i] = msg.incarnation;
    if (!c.dead[r]![i]) {
      declareDead(c, ctx, r, i);
      return;
    }
    const j = c.current?.rejoin;
    if (j !== undefined && j.r === r && j.i === i && msg.incarnation > j.inc && !j.committed) {
      // It restarted again during the rejoin.
      abortRejoin(c, ctx, `restarted again (incarnation ${msg.incarnation})`);
      advance(c, ctx);
      return;
    }
    // Only once its failover is done (the id is served elsewhere), and one rejoin at a time.
    if (c.rackLive[r] && c.serving[r]![i] !== i && !rejoinQueued(c, r, i)) enqueue(c, ctx, rejoinOp(c, r, i));
  };

  // ---- failure detection -------------------------------------------------------------------------

  /**
   * The switch stops sending server i of rack r requests (its ids' entries go: requests for them
   * are dropped and retried until the failover maps them to the successor) and stops taking its
   * replies as directory updates (senders), in the current operation. Every operation skips a
   * dead server from then on, so it must by then take no requests: a server failed over while
   * alive would otherwise serve reads of what it held when it stopped hearing from us (say, a
   * key whose write-back it missed). Repeated by its failover (the entries may be back after a
   * switch restart).
   */
  const cutOff = (c: Controller, ctx: C, r: number, i: number): void => {
    toSwitch(c, ctx, r, (id) => ({ type: 'TableDelete', id, table: 'senders', match: [i], replyTo: replyTo(ctx) }));
    for (let x = 0; x < N; x++) {
      if (c.serving[r]![x] === i) toSwitch(c, ctx, r, (id) => ({ type: 'TableDelete', id, table: 'servers', match: [x], replyTo: replyTo(ctx) }));
    }
  };

  const declareDead = (c: Controller, ctx: C, r: number, i: number): void => {
    if (c.dead[r]![i] || !c.rackLive[r]) return;
    c.dead[r]![i] = true;
    const op = c.current;
    // The running operation goes on without it only once the switch has cut it off (with no
    // operation running, its failover, next, starts with that).
    if (op && !op.aborted) cutOff(c, ctx, r, i);
    const fetch = op?.fetch;
    if (op && fetch && !op.aborted && fetch.sources.some(([r2, m]) => r2 === r && m === i)) {
      // A source of the running failover (or join): its successor would wait for that state
      // forever. This server's failover first, then that one again (it picks its sources afresh).
      op.aborted = true;
      op.pending.clear();
      c.queue.unshift(failoverOp(c, r, i), fetch.again(c));
      advance(c, ctx);
      return;
    }
    // Stop waiting for it in the current operation.
    doneWithServer(c, ctx, r, i);
    enqueue(c, ctx, failoverOp(c, r, i), true);
  };

  /**
   * The current operation waits until every lease granted to rack r's servers has run out. A
   * rack is left out from the moment its switch is taken for failed, but that switch may be
   * alive (slow, or cut off from the controller alone) and pass requests to its servers, which
   * serve while their leases last: an operation that went on without the rack before then
   * (say, an add that reaches the head rack's switch and not this one) could leave them
   * answering reads stale, and so could a new chain that clients learn one by one.
   */
  const awaitLeases = (c: Controller, ctx: C, r: number): void => {
    const until = Math.max(...c.lastPong[r]!) + leaseMs;
    if (ctx.now() < until) expect(c, `lease:${r}`, () => { if (ctx.now() >= until) done(c, `lease:${r}`, ctx); });
  };

  const declareRackDead = (c: Controller, ctx: C, r: number): void => {
    if (!c.rackLive[r]) return;
    c.rackLive[r] = false;
    const op = c.current;
    if (op && !op.aborted) {
      for (const key of [...op.pending.keys()]) if (key.startsWith(`sw:${r}:`) || key.startsWith(`srv:${r}:`)) op.pending.delete(key);
      awaitLeases(c, ctx, r);
      if (op.pending.size === 0) advance(c, ctx);
    }
    enqueue(c, ctx, rackOp(c, r), true);
  };

  /** Rack r's switch restarted with an empty directory: flush the rkeys, then init (which re-enables the rack). */
  const switchRestarted = (c: Controller, ctx: C, r: number, how: string): void => {
    note(c, ctx, `rack ${r}: switch restarted (${how}): flush the rkeys, then init`, 'warn');
    c.stats.flushes++;
    c.initPending.add(r);
    c.queue.unshift(flushOp(c), initOp(c, r));
    if (c.current === undefined) advance(c, ctx);
  };

  const onProbe = (c: Controller, ctx: C): void => {
    const now = ctx.now();
    const seq = ++c.probeSeq;
    if (now - c.lastProbeMs > probeMs + failAfterMs / 2) {
      // This probe comes far later than due: the controller was paused (a busy machine, a long
      // garbage collection), and the answers it has not read yet are queued behind this timer.
      // The servers' and switches' silence is its own: start their clocks afresh rather than
      // fail them all over (with every server of a rack failed over, none could hand an id back).
      note(c, ctx, `probe ${(now - c.lastProbeMs).toFixed(1)} ms after the last: paused; failure clocks start afresh`, 'warn');
      for (let r = 0; r < cfg.racks; r++) {
        c.lastSwitchReply[r] = now;
        c.lastPong[r]!.fill(now);
      }
    }
    c.lastProbeMs = now;
    // A failure detector that suspects everyone suspects itself: when no live switch, or no live
    // server, has answered in time (at a start under load, or cut off from them all), the
    // silence is the controller's, and failing them all over would leave no server to hand an
    // id back (and every rack out of the chain).
    const racks = Array.from({ length: cfg.racks }, (_, r) => r).filter((r) => c.rackLive[r]);
    const anySwitch = racks.some((r) => now - c.lastSwitchReply[r]! <= rackFailAfterMs);
    const anyServer = racks.some((r) => c.lastPong[r]!.some((t, i) => !c.dead[r]![i] && now - t <= failAfterMs));
    if ((!anySwitch || !anyServer) && !c.deafNoted) note(c, ctx, `no ${anySwitch ? 'server' : 'switch'} answers: the silence is taken for the controller's own`, 'warn');
    c.deafNoted = !anySwitch || !anyServer;
    const head = c.chain[0];
    if (head !== undefined && c.rackLive[head]) {
      ctx.send(cfg.switches[head]!, { type: 'RegisterRead', id: COUNTER_PROBE(head), register: 'verNext', index: 0, replyTo: replyTo(ctx) });
    }
    for (const r of racks) {
      ctx.send(cfg.switches[r]!, { type: 'RegisterRead', id: epochProbeId(r, seq), register: 'epoch', index: 0, replyTo: replyTo(ctx) });
      if (anySwitch && now - c.lastSwitchReply[r]! > rackFailAfterMs) declareRackDead(c, ctx, r);
      for (let i = 0; i < N; i++) {
        // A failed server is pinged too: once restarted, it answers with Hello and rejoins.
        ctx.send(cfg.serverRefs[r]![i]!, { type: 'Ping', seq });
        if (anyServer && c.rackLive[r] && !c.dead[r]![i] && now - c.lastPong[r]![i]! > failAfterMs) declareDead(c, ctx, r, i);
      }
    }
    // A rack out of the chain is probed all the same: it joins again once whole.
    for (let r = 0; r < cfg.racks; r++) {
      if (c.rackLive[r] || c.chain.includes(r)) continue;
      ctx.send(cfg.switches[r]!, { type: 'RegisterRead', id: epochProbeId(r, seq), register: 'epoch', index: 0, replyTo: replyTo(ctx) });
      for (let i = 0; i < N; i++) ctx.send(cfg.serverRefs[r]![i]!, { type: 'Ping', seq });
      if (!c.deafNoted && standbyReady(c, r, now) && !joinQueued(c, r)) enqueue(c, ctx, joinOp(c, r));
    }
    // A failover waiting for the failed server itself (the only copy of an index) that does not
    // answer: it crashed, and the index's state is lost with it; take the ids over without it.
    const cur = c.current;
    if (cur?.selfSourceSince !== undefined && !cur.aborted && now - cur.selfSourceSince > SELF_SOURCE_WAITS * failAfterMs) {
      note(c, ctx, 'failover: the failed server, the only copy of an index, does not answer; going on without it (its data are lost)', 'error');
      cur.aborted = true;
      cur.pending.clear();
      c.queue.unshift(cur.giveUpSelf!(c));
      advance(c, ctx);
    }
    // A rejoining server that went silent before the commit (crashed again): give up; it says
    // Hello again when it is back.
    const j = c.current?.rejoin;
    if (j !== undefined && !j.committed && now - j.startedMs > failAfterMs) {
      abortRejoin(c, ctx, 'no progress');
      advance(c, ctx);
    }
  };

  // ---- hot keys ------------------------------------------------------------------------------------

  const onEpoch = (c: Controller, ctx: C): void => {
    const hot = c.hot;
    const heat = c.heat;
    if (!(cfg.autoRkeys ?? true)) {
      hot.clear();
      return;
    }
    // Fold this epoch's samples into the smoothed counts: one epoch's samples of a key outside
    // the top few are a handful, and ranking on them alone replaces rkeys by noise (each change
    // costs a round over every server and drops the writes routed meanwhile).
    for (const [key, h] of heat) {
      h[1] *= HEAT_DECAY;
      h[2] *= HEAT_DECAY;
      if (h[1] + h[2] < 0.25 && !c.rkeys.has(key)) heat.delete(key);
    }
    for (const [key, [keyhash, rd, wr]] of hot) {
      const h = heat.get(key);
      if (h) { h[1] += rd; h[2] += wr; } else if (heat.size < 100_000) heat.set(key, [keyhash, rd, wr]);
    }
    hot.clear();
    if (c.current !== undefined || c.queue.length > 0) {
      // Busy: decide as soon as the running operations are done (after a popularity shift, each
      // batch of adds would otherwise also wait for the next epoch).
      c.decisionDue = true;
      return;
    }
    decide(c, ctx);
  };

  /** Rank the smoothed counts; add and replace rkeys. */
  const decide = (c: Controller, ctx: C): void => {
    const heat = c.heat;
    c.decisionDue = false;
    if (heat.size === 0) return;
    let total = 0;
    for (const [, [, rd, wr]] of heat) total += rd + wr;
    const count = (k: string): number => { const h = heat.get(k); return h ? h[1] + h[2] : 0; };
    const candidates = [...heat].filter(([k]) => !c.rkeys.has(k)).sort((a, b) => b[1][1] + b[1][2] - (a[1][1] + a[1][2]) || (a[0] < b[0] ? -1 : 1));
    const current = [...c.rkeys.values()].sort((a, b) => count(a.key) - count(b.key) || a.index - b.index);
    const adds: Rkey[] = [];
    const removes: Rkey[] = [];
    let free = c.freeIndices.length;
    let coldest = 0;
    for (const [key, [keyhash, rd, wr]] of candidates) {
      const n = rd + wr;
      // A key sampled a few times may be one of many equally cold keys (under a uniform
      // workload thousands are sampled twice): only a count beyond such noise makes it hot (the
      // reference's servers use a threshold of 10 samples).
      if (n < HOT_MIN_SAMPLES) break;
      if (free === 0) {
        const victim = current[coldest];
        // Replace only a clearly colder rkey: 20% colder and beyond two standard deviations of
        // the sampling noise (counts are close to Poisson).
        const v = victim === undefined ? 0 : count(victim.key);
        if (victim === undefined || removes.length >= maxChurn || !(n > 1.2 * v + 1 && n - v > 2 * Math.sqrt(n + v))) break;
        removes.push(victim);
        coldest++;
      } else {
        free--;
      }
      const rf = replicationFactor({ reads: rd, writes: wr, total, servers: N, rfScale, minRf, pushBudget });
      adds.push({ key, keyhash, index: -1, rf });
      // At most maxChurn adds an epoch: every add pushes the key to every server, and many at
      // once queue that many pushes at each server.
      if (adds.length >= maxChurn) break;
    }
    if (removes.length > 0) enqueue(c, ctx, removeOp(c, removes));
    if (adds.length > 0) {
      // Indices are taken when the add runs (a removal before it frees some).
      enqueue(c, ctx, lazyAdd(c, adds));
    }
  };

  /** An add whose indices are allocated when it starts (after the removals queued before it). */
  const lazyAdd = (c: Controller, wanted: readonly Omit<Rkey, 'index'>[]): Op => {
    const op = newOp(c, 'add', []);
    op.steps.push((c2) => {
      const keys: Rkey[] = [];
      for (const w of wanted) {
        if (c2.rkeys.has(w.key)) continue;
        const index = c2.freeIndices.shift();
        if (index === undefined) break;
        keys.push({ ...w, index });
      }
      if (keys.length === 0) return;
      const inner = addOp(c2, keys);
      op.steps.push(...inner.steps);
    });
    return op;
  };

  /** Remove every rkey there is when it starts (after a switch restart). */
  const flushOp = (c: Controller): Op => newOp(c, 'remove', [removeEverything]);

  return behavior<Controller, ControllerMsg>({
    init: (ctx) => {
      const c: Controller = {
        cfg, rackLive: new Array(cfg.racks).fill(true), chain: Array.from({ length: cfg.racks }, (_, r) => r),
        serving: Array.from({ length: cfg.racks }, () => Array.from({ length: N }, (_, i) => i)),
        dead: Array.from({ length: cfg.racks }, () => new Array(N).fill(false)),
        // Not heard from yet: a host still starting (its connection slow on a loaded machine) is
        // given START_GRACE failure timeouts before it is taken for failed.
        lastPong: Array.from({ length: cfg.racks }, () => new Array(N).fill(ctx.now() + (START_GRACE - 1) * failAfterMs)),
        lastSwitchReply: new Array(cfg.racks).fill(ctx.now() + Math.max(0, START_GRACE * failAfterMs - rackFailAfterMs)),
        lastProbeMs: ctx.now(), deafNoted: false,
        rkeys: new Map(), freeIndices: Array.from({ length: cfg.capacity }, (_, i) => i), queue: [], current: undefined,
        incarnation: Array.from({ length: cfg.racks }, () => new Array(N).fill(0)),
        hello: Array.from({ length: cfg.racks }, () => new Array(N).fill(0)),
        epoch: 0, rounds: 0, nextId: 0, probeSeq: 0, epochSetSeq: new Array(cfg.racks).fill(0), switchBoot: new Array(cfg.racks).fill(0), deferredWriteBacks: new Map(), initPending: new Set(), leaving: new Set(), hot: new Map(), heat: new Map(), decisionDue: false, pushing: [], log: [],
        standby: Array.from({ length: cfg.racks }, () => Array.from({ length: N }, (): [number, number] => [-1, -Infinity])),
        standbySwitch: new Array(cfg.racks).fill(-Infinity), catchingUp: undefined, fences: new Map(), chainRound: -1, clientRound: cfg.clients.map(() => -1),
        stats: { adds: 0, removes: 0, failovers: 0, flushes: 0, rackFailures: 0, rackJoins: 0, rejoins: 0, rejoinAborts: 0, transferParts: 0 },
        halted: ctx.incarnation > 0,
      };
      if (c.halted) {
        // Everything it knew is gone (the epochs issued, the rkeys in the switches, who failed):
        // starting afresh would stamp versions below ones already written (and lose those
        // writes) and take failed servers for live. It grants no leases, so the servers stop
        // serving: unavailable, not wrong.
        note(c, ctx, 'restarted without its state: it does nothing (restart the deployment)', 'error');
        return c;
      }
      ctx.startTimer('probe', probeMs, { type: 'ProbeTimeout' }, { repeat: true });
      ctx.startTimer('retry', retryMs, { type: 'RetryTimeout' }, { repeat: true });
      ctx.startTimer('epoch', epochMs, { type: 'EpochTimeout' }, { repeat: true });
      for (let r = 0; r < cfg.racks; r++) {
        c.initPending.add(r);
        c.queue.push(initOp(c, r));
      }
      advance(c, ctx);
      // The servers' first leases now: they serve nothing without one.
      onProbe(c, ctx);
      return c;
    },
    receive: (c, msg, ctx) => {
      if (c.halted) return c;
      switch (msg.type) {
        case 'ControlReply': {
          const id = msg.id ?? 0;
          if (id <= -EPOCH_PROBE_BASE) {
            // A probe of rack r's epoch register.
            const { rack: r, seq } = epochProbeOf(id);
            if (r >= cfg.racks) return c;
            c.lastSwitchReply[r] = ctx.now();
            if (!c.rackLive[r] && msg.ok) c.standbySwitch[r] = ctx.now();
            if (msg.boot !== undefined && msg.boot > c.switchBoot[r]!) {
              // Requests from now on go to this boot; those sent before are refused by it.
              c.switchBoot[r] = msg.boot;
              // An init not yet started will set the new boot up; one under way sent part of its
              // writes to the old boot.
              const initQueued = c.queue.some((op) => op.kind === 'init' && op.rack === r);
              if (c.rackLive[r] && !c.leaving.has(r) && !initQueued) switchRestarted(c, ctx, r, `boot ${msg.boot}`);
              return c;
            }
            // (A probe sent before the epoch was set read 0 then: it says nothing of now.)
            if (msg.ok && msg.value === 0 && seq > c.epochSetSeq[r]! && !c.initPending.has(r) && c.rackLive[r] && !c.leaving.has(r)) {
              switchRestarted(c, ctx, r, 'epoch 0');
            }
            return c;
          }
          if (id < -MAX_RACKS) {
            if (msg.ok) onCounter(c, ctx, COUNTER_PROBE(id), Number(msg.value));
            return c;
          }
          if (!msg.ok && !msg.error.startsWith(STALE) && !msg.error.startsWith(RESTARTED) && !/no entry|already|not found|does not/i.test(msg.error)) ctx.log.warn({ error: msg.error }, 'pegasus controller: the switch refused');
          const op = c.current;
          if (op) for (const key of op.pending.keys()) if (key.endsWith(`:${id}`) && key.startsWith('sw:')) { done(c, key, ctx); break; }
          return c;
        }
        case 'Pong': {
          const { rack: r, serverId: i } = msg;
          if (!c.rackLive[r]) {
            c.standby[r]![i] = [msg.incarnation, ctx.now()];
            return c;
          }
          if (msg.incarnation !== c.incarnation[r]![i]) return c;
          if (c.dead[r]![i]) {
            // Failed over, yet alive (it answered late, or was cut off): it starts over and
            // rejoins; not before its failover is done (which may fetch from it: failoverOp).
            const pending = [c.current, ...c.queue].some((op) => op?.failed?.[0] === r && op.failed[1] === i && !op.aborted);
            if (!pending) ctx.send(cfg.serverRefs[r]![i]!, { type: 'Retire', incarnation: msg.incarnation });
            return c;
          }
          // Every lease granted ends before lastPong + leaseMs (it runs from the Pong's sending).
          c.lastPong[r]![i] = ctx.now();
          ctx.send(cfg.serverRefs[r]![i]!, { type: 'Lease', incarnation: msg.incarnation, at: msg.at, leaseMs });
          return c;
        }
        case 'Hello':
          onHello(c, ctx, msg);
          return c;
        case 'HandedOver':
          onHandedOver(c, ctx, msg);
          return c;
        case 'RkeyPrepared':
        case 'RkeyReleased':
          onAnswer(c, ctx, msg);
          return c;
        case 'Ack':
          if (msg.rack === CLIENT_ACK) {
            if (msg.serverId < cfg.clients.length) c.clientRound[msg.serverId] = Math.max(c.clientRound[msg.serverId]!, msg.round);
            return c;
          }
          if (c.current?.round !== msg.round) return c;
          done(c, srvKey(msg.rack, msg.serverId, msg.of), ctx);
          return c;
        case 'ChainQuery':
          if (msg.clientId < cfg.clients.length) {
            c.clientRound[msg.clientId] = -1;
            sendChain(c, ctx);
          }
          return c;
        case 'HotKeys':
          for (const [key, keyhash, rd, wr] of msg.keys) {
            const h = c.hot.get(key);
            if (h) { h[1] += rd; h[2] += wr; } else if (c.hot.size < 100_000) c.hot.set(key, [keyhash, rd, wr]);
          }
          return c;
        case 'ProbeTimeout':
          onProbe(c, ctx);
          return c;
        case 'RetryTimeout':
          if (c.current) for (const resend of c.current.pending.values()) resend();
          sendChain(c, ctx);
          return c;
        case 'EpochTimeout':
          onEpoch(c, ctx);
          return c;
        case 'PaceTimeout':
          pushRound(c, ctx);
          return c;
        case 'AddRkeys': {
          const wanted = msg.keys.filter((k) => !c.rkeys.has(k)).map((key) => ({ key, keyhash: keyHash(key), rf: cfg.defaultRf ?? N }));
          if (wanted.length > 0) enqueue(c, ctx, lazyAdd(c, wanted));
          return c;
        }
        case 'RemoveRkeys': {
          const keys = msg.keys.map((k) => c.rkeys.get(k)).filter((k): k is Rkey => k !== undefined);
          if (keys.length > 0) enqueue(c, ctx, removeOp(c, keys));
          return c;
        }
        default:
          return assertNever(msg);
      }
    },
  });
}

/** Merge client-table entries from many servers: the newest request of each session wins. */
export function mergeEntries(lists: readonly EntryList[]): [number, ClientEntry][] {
  const best = new Map<number, ClientEntry>();
  for (const l of lists) for (const [sk, e] of l) {
    const b = best.get(sk);
    if (b === undefined || e.reqId > b.reqId) best.set(sk, e);
  }
  return [...best];
}

export type { HotKeys, ItemList };
