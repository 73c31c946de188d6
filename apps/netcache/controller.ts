// The NetCache controller: it inserts the keys the data plane reports as hot (and any given to
// preload, as the paper's experiments start from a filled cache), evicting the least-hit of a
// few sampled entries when the cache is full, and clears the sketch, the Bloom filter and the
// hit counters every epoch. An insertion is coherent by versions:
//   1. ask the key's server for the size of its value (a value too large is not cached),
//   2. set the slot's pendingVer to UNFILLED, valid to 0 and fillGen to a fresh random
//      generation: the slot takes only this insertion's fill, and only if at least as new as
//      every reply that passes from the table entry on (the switch keeps their newest version;
//      a write clears the flag, and its version rules from then),
//   3. insert the table entry (reads now look at the slot; it is invalid, so they miss),
//   4. ask the server to send the value (CACHE_FILL, marked with the generation).
// (Without the generation, a fill of an earlier insertion of the key, held up in the network,
// reached the slot while it waited for its new fill and was taken: it predated a write the
// slot never saw, and reads hit the older value.)
// (Step 2 used to set pendingVer to the version the server held at step 1: a write stamped
// between steps 1 and 3 left no version in the switch, and a late reply of an older write was
// taken after the newer one had passed, so reads hit a stale value.)
//
// Epochs. The switch stamps versions epoch * 2^32 + n and drops writes while verNext is 0 (a
// switch that just started or restarted): stamping from 0 again, its writes would look older
// than what the servers hold and be ignored. Before the switch stamps in an epoch, the
// controller reserves it at a majority of the servers (EpochReserve; each answers with the
// highest epoch it knows reserved or written); to pick one it first asks a majority for their
// highest and takes the next, so that a new epoch is above every epoch used before. The set-up
// (at start, after a switch restart, which the controller sees in verNext at every epoch tick,
// and after its own restart) is: the epoch, then the cache table cleared (TableClear) and verNext
// set to the epoch's first version; only then does it cache anything. A restarted controller
// knows nothing of the slots in use: had it not cleared the table, a key put in a slot the table
// still mapped another key to would answer that key's reads with its own value. Its control ids
// start in a range of their own, so that a late reply to the old one matches none.
import { behavior, type ActorRef, type Behavior, type Ctx } from '../../actors/index.ts';
import { STALE, versioned, type ControlReply, type ControlRequest, type PacketIn, type VersionedWrite } from '../../switch-model/index.ts';
import { keyHash, type Ring } from '../kv-hash/ring.ts';
import { EPOCH_SPAN, MAX_EPOCH, type ControllerMsg, type EpochReserved, type NetCache, type ServerMsg } from './messages.ts';
import { majorityOf, MajorityReservation } from '../reservation/majority.ts';
import { CELLS, UNFILLED } from './switch-program.ts';

export interface NetCacheControllerConfig {
  readonly control: ActorRef<ControlRequest>;
  readonly servers: readonly ActorRef<ServerMsg>[];
  readonly ring: Ring;
  readonly cacheSize: number;
  readonly preload?: readonly string[];
  readonly epochMs?: number;
  readonly retryMs?: number;
  /** Inserts in flight at most. */
  readonly parallel?: number;
  readonly evictSample?: number;
  /** Largest value the switch caches (bytes); larger ones are not inserted. Default 128. */
  readonly maxValueBytes?: number;
}

interface Insert {
  readonly key: string;
  readonly keyhash: number;
  step: 'evict' | 'unlink' | 'version' | 'registers' | 'table' | 'fill';
  slot: number;
  /** unlink: the key whose entry the slot held. */
  victim: string;
  /** registers, fill: this insertion's generation (the slot's fillGen). */
  fillGen: number;
  sentAtMs: number;
  readonly waiting: Set<number>;
  /** evict: control id -> [slot, hits] */
  readonly sampled: Map<number, [number, number]>;
}

export interface NetCacheControllerState {
  readonly bySlot: (string | undefined)[];
  readonly slotOf: Map<string, number>;
  readonly free: number[];
  readonly inserts: Map<string, Insert>;
  /** id -> the insert waiting for that control reply */
  readonly byId: Map<number, Insert>;
  readonly queue: string[];
  /** Keys whose values are too large for the cache. */
  readonly uncacheable: Set<string>;
  nextId: number;
  inserted: number;
  evicted: number;
  reports: number;
  /** The epoch the switch stamps in (0: none yet). */
  epoch: number;
  /** The switch's set-up in progress (see the header); nothing is cached meanwhile. */
  setup: Setup | undefined;
  /** The id of the latest read of verNext (a switch restart shows as a counter below the epoch). */
  probeId: number;
  /**
   * The switch's boot as last seen (switch-model Request.boot): every request carries it, so
   * that one sent before a restart (a resend of the set-up's verNext write) is refused by the
   * restarted switch instead of setting its counter back into an epoch already used; a reply
   * from a later boot starts a new set-up, whatever verNext reads.
   */
  boot: number;
}

interface Setup {
  /** While the epoch is found and reserved at the servers (first asked for -1: their highest); then undefined. */
  votes: MajorityReservation | undefined;
  /**
   * Once the epoch is reserved: the writes (the table cleared, verNext set), made once and sent
   * again as they are until answered. A resend is the same write, with the same version, so the
   * switch carries it out at most once: verNext set again after the switch had stamped writes
   * in the epoch would stamp versions already used, and the servers would ignore those writes.
   */
  writes: VersionedWrite[] | undefined;
  /** Their ids not yet answered. */
  readonly ids: Set<number>;
}

type C = Ctx<ControllerMsg>;

export function netcacheController(cfg: NetCacheControllerConfig): Behavior<NetCacheControllerState, ControllerMsg> {
  const parallel = cfg.parallel ?? 64;
  const retryMs = cfg.retryMs ?? 2;
  const sample = cfg.evictSample ?? 8;
  const maxValueBytes = cfg.maxValueBytes ?? 128;
  const replyTo = (ctx: C): ActorRef<ControlReply> => ctx.self as ActorRef<ControlReply>;

  const control = (s: NetCacheControllerState, ins: Insert, ctx: C, make: (id: number) => ControlRequest): number => {
    const id = ++s.nextId;
    s.byId.set(id, ins);
    ins.waiting.add(id);
    // Writes carry their id as their version: a resend overtaken by a later write to the same
    // entry or cell (a victim's late TableInsert after its unlink) is refused (switch-model/versions.ts).
    ctx.send(cfg.control, versioned(make(id), id, s.boot));
    return id;
  };

  const subscribe = (ctx: C): void => {
    ctx.send(cfg.control, { type: 'PacketInSubscribe', subscriber: ctx.self as ActorRef<PacketIn> });
  };

  const home = (ins: Insert): ActorRef<ServerMsg> => cfg.servers[cfg.ring.home(ins.keyhash)]!;

  const finish = (s: NetCacheControllerState, ins: Insert, ctx: C): void => {
    s.inserts.delete(ins.key);
    pump(s, ctx);
  };

  const run = (s: NetCacheControllerState, ins: Insert, ctx: C): void => {
    ins.sentAtMs = ctx.now();
    for (const id of ins.waiting) s.byId.delete(id);
    ins.waiting.clear();
    switch (ins.step) {
      case 'evict': {
        ins.sampled.clear();
        const seen = new Set<number>();
        for (let i = 0; i < sample * 4 && seen.size < sample; i++) {
          const slot = Math.floor(ctx.random() * cfg.cacheSize);
          const k = s.bySlot[slot];
          if (k === undefined || s.inserts.has(k) || seen.has(slot)) continue;
          seen.add(slot);
          const id = control(s, ins, ctx, (rid) => ({ type: 'RegisterRead', id: rid, register: 'hits', index: slot, replyTo: replyTo(ctx) }));
          ins.sampled.set(id, [slot, Infinity]);
        }
        if (seen.size === 0) finish(s, ins, ctx);
        return;
      }
      case 'unlink':
        control(s, ins, ctx, (id) => ({ type: 'TableDelete', id, table: 'cache', match: [keyHash(ins.victim)], replyTo: replyTo(ctx) }));
        return;
      case 'version':
        ctx.send(home(ins), { type: 'FillPrepare', key: ins.key });
        return;
      case 'registers':
        control(s, ins, ctx, (id) => ({ type: 'RegisterWrite', id, register: 'pendingVer', index: ins.slot, value: UNFILLED, replyTo: replyTo(ctx) }));
        control(s, ins, ctx, (id) => ({ type: 'RegisterWrite', id, register: 'valid', index: ins.slot, value: 0, replyTo: replyTo(ctx) }));
        control(s, ins, ctx, (id) => ({ type: 'RegisterWrite', id, register: 'fillGen', index: ins.slot, value: ins.fillGen, replyTo: replyTo(ctx) }));
        return;
      case 'table':
        control(s, ins, ctx, (id) => ({ type: 'TableInsert', id, table: 'cache', match: [ins.keyhash], action: 'cached', params: { slot: ins.slot }, replyTo: replyTo(ctx) }));
        return;
      case 'fill':
        ctx.send(home(ins), { type: 'FillRequest', key: ins.key, fillGen: ins.fillGen });
        s.inserted++;
        finish(s, ins, ctx);
        return;
    }
  };

  const start = (s: NetCacheControllerState, key: string, ctx: C): void => {
    const ins: Insert = {
      key, keyhash: keyHash(key), step: 'version', slot: -1, victim: '', fillGen: Math.floor(ctx.random() * 2 ** 32), sentAtMs: 0, waiting: new Set(), sampled: new Map(),
    };
    s.inserts.set(key, ins);
    const slot = s.free.pop();
    if (slot === undefined) ins.step = 'evict';
    else take(s, ins, slot);
    run(s, ins, ctx);
  };

  const take = (s: NetCacheControllerState, ins: Insert, slot: number): void => {
    ins.slot = slot;
    s.bySlot[slot] = ins.key;
    s.slotOf.set(ins.key, slot);
  };

  const pump = (s: NetCacheControllerState, ctx: C): void => {
    if (s.setup !== undefined) return;
    while (s.inserts.size < parallel && s.queue.length > 0) {
      const key = s.queue.shift()!;
      if (!s.slotOf.has(key) && !s.inserts.has(key)) start(s, key, ctx);
    }
  };

  const want = (s: NetCacheControllerState, key: string, ctx: C): void => {
    if (s.slotOf.has(key) || s.inserts.has(key) || s.uncacheable.has(key) || s.queue.length >= 100_000) return;
    s.queue.push(key);
    pump(s, ctx);
  };

  const onReply = (s: NetCacheControllerState, msg: ControlReply, ctx: C): void => {
    const id = msg.id ?? 0;
    const ins = s.byId.get(id);
    if (!ins) return;
    s.byId.delete(id);
    if (!ins.waiting.delete(id)) return;
    if (ins.step === 'evict') {
      const e = ins.sampled.get(id);
      if (e && msg.ok && typeof msg.value === 'number') e[1] = msg.value;
    }
    if (ins.waiting.size > 0) return;
    switch (ins.step) {
      case 'evict': {
        let victim = -1;
        let least = Infinity;
        for (const [slot, hits] of ins.sampled.values()) {
          const k = s.bySlot[slot];
          if (k !== undefined && !s.inserts.has(k) && hits < least) {
            least = hits;
            victim = slot;
          }
        }
        if (victim < 0) return finish(s, ins, ctx);
        ins.victim = s.bySlot[victim]!;
        s.slotOf.delete(ins.victim);
        take(s, ins, victim);
        s.evicted++;
        ins.step = 'unlink';
        break;
      }
      case 'unlink': ins.step = 'version'; break;
      case 'registers': ins.step = 'table'; break;
      case 'table': ins.step = 'fill'; break;
      default: return;
    }
    run(s, ins, ctx);
  };

  const majority = majorityOf(cfg.servers.length);

  /**
   * Start the switch's set-up afresh: forget the slots (the switch's table is cleared, and every
   * insert in flight is abandoned), then find and reserve the next epoch.
   */
  const startSetup = (s: NetCacheControllerState, ctx: C, sendNow: boolean): void => {
    s.bySlot.fill(undefined);
    s.slotOf.clear();
    s.free.splice(0, s.free.length, ...Array.from({ length: cfg.cacheSize }, (_, i) => cfg.cacheSize - 1 - i));
    for (const ins of s.inserts.values()) if (!s.queue.includes(ins.key)) s.queue.push(ins.key);
    s.inserts.clear();
    s.byId.clear();
    s.setup = { votes: new MajorityReservation(-1, majority), writes: undefined, ids: new Set() };
    s.probeId = -1; // a read of verNext sent before tells nothing of the new epoch
    if (sendNow) sendSetup(s, ctx);
  };

  /** Send (again) what the set-up waits for. */
  const sendSetup = (s: NetCacheControllerState, ctx: C): void => {
    const u = s.setup!;
    const votes = u.votes;
    if (votes !== undefined) {
      cfg.servers.forEach((srv, i) => {
        if (!votes.answered(i)) ctx.send(srv, { type: 'EpochReserve', epoch: votes.asked, server: i, replyTo: ctx.self as ActorRef<EpochReserved> });
      });
      return;
    }
    subscribe(ctx);
    if (u.writes === undefined) {
      const clear = ++s.nextId;
      const counter = ++s.nextId;
      u.ids.add(clear).add(counter);
      u.writes = [
        { type: 'TableClear', id: clear, table: 'cache', replyTo: replyTo(ctx), version: clear, boot: s.boot },
        { type: 'RegisterWrite', id: counter, register: 'verNext', index: 0, value: s.epoch * EPOCH_SPAN, replyTo: replyTo(ctx), version: counter, boot: s.boot },
      ];
    }
    for (const w of u.writes) if (u.ids.has(w.id!)) ctx.send(cfg.control, w);
  };

  const onEpochReserved = (s: NetCacheControllerState, asked: number, server: number, highest: number, ctx: C): void => {
    const u = s.setup;
    if (u?.votes === undefined || cfg.servers[server] === undefined) return;
    const out = u.votes.answer(server, asked, highest);
    if (out.kind === 'waiting') return;
    if (out.kind === 'taken') {
      s.epoch = out.num;
      u.votes = undefined;
    } else if (out.top + 1 > MAX_EPOCH) {
      ctx.log.error({ top: out.top }, 'no epoch left: the switch stays without one');
      return;
    } else {
      // Reserve the one after the highest any of them knows.
      u.votes = new MajorityReservation(out.top + 1, majority);
    }
    sendSetup(s, ctx);
  };

  return behavior<NetCacheControllerState, ControllerMsg>({
    init: (ctx) => {
      const s: NetCacheControllerState = {
        bySlot: new Array(cfg.cacheSize).fill(undefined), slotOf: new Map(), free: [],
        inserts: new Map(), byId: new Map(), queue: [], uncacheable: new Set(), nextId: ctx.incarnation * 2 ** 32, inserted: 0, evicted: 0, reports: 0,
        epoch: 0, setup: undefined, probeId: -1, boot: 0,
      };
      ctx.startTimer('epoch', cfg.epochMs ?? 10, { type: 'EpochTimeout' }, { repeat: true });
      ctx.startTimer('retry', retryMs, { type: 'RetryTimeout' }, { repeat: true });
      for (const k of cfg.preload ?? []) s.queue.push(k);
      // A restarted one sends from a timer: while init runs, its host is not up yet.
      startSetup(s, ctx, ctx.incarnation === 0);
      if (ctx.incarnation > 0) ctx.startTimer('setup', 0, { type: 'RetryTimeout' });
      return s;
    },
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'PacketIn': {
          const m = msg.msg as NetCache;
          if (m.type === 'NetCache' && typeof m.key === 'string') {
            s.reports++;
            want(s, m.key, ctx);
          }
          return s;
        }
        case 'FillVersion': {
          const ins = s.inserts.get(msg.key);
          if (!ins || ins.step !== 'version') return s;
          if (msg.valueBytes > maxValueBytes) {
            // Its value does not fit in the switch's registers: give the slot back, and do not
            // ask again this epoch each time the data plane reports the key.
            if (s.uncacheable.size < 100_000) s.uncacheable.add(msg.key);
            s.bySlot[ins.slot] = undefined;
            s.slotOf.delete(ins.key);
            s.free.push(ins.slot);
            finish(s, ins, ctx);
            return s;
          }
          ins.step = 'registers';
          run(s, ins, ctx);
          return s;
        }
        case 'EpochReserved':
          onEpochReserved(s, msg.asked, msg.server, msg.highest, ctx);
          return s;
        case 'ControlReply':
          if (msg.boot !== undefined && msg.boot !== s.boot) {
            // A later boot: the switch restarted, empty; set it up again (a new epoch). An
            // earlier one: a late answer from before a restart seen already, about nothing now.
            if (msg.boot < s.boot) return s;
            s.boot = msg.boot;
            ctx.log.warn({ boot: msg.boot }, 'netcache controller: the switch restarted; setting it up again');
            startSetup(s, ctx, true);
            return s;
          }
          if (s.setup?.ids.has(msg.id ?? -1)) {
            // (Refused as stale: this write was carried out already, its first answer lost.)
            if (!msg.ok && !msg.error.startsWith(STALE)) return s; // sent again at the next retry tick
            s.setup.ids.delete(msg.id!);
            if (s.setup.ids.size === 0) {
              s.setup = undefined;
              ctx.log.info({ epoch: s.epoch }, 'switch set up: caching');
              pump(s, ctx);
            }
            return s;
          }
          if (msg.id === s.probeId && msg.ok && s.setup === undefined && Number(msg.value) < s.epoch * EPOCH_SPAN) {
            // verNext below this epoch's versions: the switch restarted, with nothing.
            ctx.log.warn({ verNext: Number(msg.value), epoch: s.epoch }, 'the switch restarted: setting it up again');
            startSetup(s, ctx, true);
            return s;
          }
          onReply(s, msg, ctx);
          return s;
        case 'RetryTimeout': {
          if (s.setup !== undefined) {
            sendSetup(s, ctx);
            return s;
          }
          const now = ctx.now();
          for (const ins of [...s.inserts.values()]) if (now - ins.sentAtMs >= retryMs) run(s, ins, ctx);
          return s;
        }
        case 'EpochTimeout':
          if (s.setup === undefined) {
            s.probeId = ++s.nextId;
            ctx.send(cfg.control, { type: 'RegisterRead', id: s.probeId, register: 'verNext', index: 0, replyTo: replyTo(ctx), boot: s.boot });
          }
          // A value may have become small enough since.
          s.uncacheable.clear();
          for (const r of ['sketch0', 'sketch1', 'sketch2', 'sketch3', 'bloom0', 'bloom1', 'bloom2', 'hits']) {
            ctx.send(cfg.control, { type: 'RegisterReset', register: r, replyTo: replyTo(ctx), boot: s.boot });
          }
          return s;
      }
    },
  });
}

export { CELLS };
