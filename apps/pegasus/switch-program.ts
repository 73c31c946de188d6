// The Pegasus coherence directory as a switch program (OSDI 2020, section 4; reference
// p4/p4_tofino/pegasus.p4), under the switch model's rules: every register array lives in one
// stage and a packet touches it at most once, with one read-modify-write.
//
//   classify   table rkeys (keyhash -> rkey index, rf); table senders (which servers' replies
//              may update the directory); register epoch (0: not yet enabled by the controller,
//              drop requests: after a restart the directory is empty and must be made safe first)
//   version    register verNext: every write from a client, to any key, takes ver = ++verNext
//              (the TLA+ spec's one global counter; the controller starts it at epoch << 32, so a
//              restarted switch stamps above everything earlier, and moves the head to a new
//              epoch long before the counter could leave its epoch's range); rkey read and write
//              counters; a xorshift register (the data plane's random number source)
//   completed  register verCompleted per rkey: a reply with ver > verCompleted is NEW (the
//              set becomes {sender}), ver == verCompleted is SAME (the sender joins), older is
//              ignored. Only replies from live senders count.
//   bitmap     register rsetBitmap: NEW sets the sender's bit, SAME ors it in (telling whether
//              it is new to the set); a write to an rkey reads it (the set the pushes go to)
//   size       register rsetSize: NEW -> 1, SAME and new -> +1 (the old size is the slot),
//              reads of an rkey read it
//   cursor     register rrCursor: reads of an rkey take the next slot round robin (or random)
//   rset       registers rsetA, rsetB (two copies of the ordered set, so a read can look at two
//              members: power-of-two choices for the least-loaded policy)
//   load       registers loadA, loadB: the load (queue length) every live server piggybacks on
//              its replies; the write target of an rkey (a hash of the request id: a retry finds the server
//              that has it in its client table, as the TLA+ spec's IDToNode)
//   forward    tables servers (server id -> port; the controller remaps a failed server's id to
//              its successor), clients (client id -> port), racks (rack -> port, for PUT_FWD); an
//              RC_REQ with a group goes to that multicast group (the writer's pushes: one
//              packet from the writer, copied by the switch to every new replica)
import type { Msg } from '../../actors/index.ts';
import { defineProgram, markDrop, register, stage, table, type Packet, type SwitchProgram } from '../../switch-model/index.ts';
import { NO_CLIENT, OP_CODE, type Pegasus } from './messages.ts';

export type ReadPolicy = 'round-robin' | 'random' | 'least-loaded';

export interface DirectoryOptions {
  /** This switch's rack. */
  readonly rack: number;
  /** Servers in the rack (write targets are 0..servers-1). At most 32 (the bitmap). */
  readonly servers: number;
  /** Rkeys the directory holds. Default 64, as in the reference. */
  readonly capacity?: number;
  readonly readPolicy?: ReadPolicy;
  /** The incoherent variant for the checker's test: reads of an rkey go to any server, whatever it holds. */
  readonly incoherent?: boolean;
}

export const MAX_SERVERS = 32;
export const DEFAULT_CAPACITY = 64;
/**
 * Version bits below the epoch. Versions are 64-bit registers (a pair of 32-bit words on a
 * Tofino-like target) holding values below 2^53, so that a JavaScript number carries them
 * exactly: 32 bits of counter under 21 bits of epoch. 32-bit versions (the reference's) run
 * out after 4 billion writes, minutes at a switch's rate; an epoch of 24 bits after 16 million,
 * past which a new epoch would stamp below versions already written.
 */
export const EPOCH_SHIFT = 32;
/** The highest epoch: versions stay below 2^53. */
export const MAX_EPOCH = 2 ** (53 - EPOCH_SHIFT) - 1;

export interface PegasusHeaders {
  op: number;
  keyhash: number;
  clientId: number;
  serverId: number;
  load: number;
  ver: number;
  bitmap: number;
  replicated: number;
  rf: number;
  rack: number;
  session: number;
  reqId: number;
  /** RC_REQ: the multicast group of its targets, 0 for none. */
  group: number;
  // metadata
  /** -1: not an rkey. */
  rkey: number;
  live: number;
  /** replies: 1 NEW, 2 SAME, 0 neither */
  verState: number;
  joined: number;
  size: number;
  slot: number;
  slot2: number;
  node2: number;
  rnd: number;
}

const { GET, PUT, DEL, REP_R, REP_W, RC_REQ, RC_ACK, PUT_FWD } = OP_CODE;

function isRequest(op: number): boolean {
  return op === GET || op === PUT || op === DEL || op === PUT_FWD;
}
function isReply(op: number): boolean {
  return op === REP_R || op === REP_W || op === RC_ACK;
}

/**
 * The multicast group of the pushes after a write (RC_REQ): the `count` servers start,
 * start+1, ... (modulo the rack's servers). A writer picks a start that leaves itself out. The
 * controller installs every group of a rack: servers x (servers - 1) of them, ids from 1.
 */
export function pushGroup(start: number, count: number): number {
  return 1 + start * MAX_SERVERS + count;
}

/** Every push group of a rack of `servers` servers (server i on port i). */
export function pushGroups(servers: number): { group: number; ports: number[] }[] {
  const out: { group: number; ports: number[] }[] = [];
  for (let start = 0; start < servers; start++) {
    for (let count = 1; count < servers; count++) {
      out.push({ group: pushGroup(start, count), ports: Array.from({ length: count }, (_, j) => (start + j) % servers) });
    }
  }
  return out;
}

/** The write target of a request: a fixed function of its id, so a retry goes where the first try went. */
export function writeTarget(clientId: number, session: number, reqId: number, servers: number): number {
  let h = Math.imul(clientId + 0x9e37, 0x85ebca6b) ^ Math.imul(session + 1, 0xc2b2ae35) ^ Math.imul(reqId, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) % servers;
}

export function pegasusDirectory(opts: DirectoryOptions): SwitchProgram<PegasusHeaders> {
  const cap = opts.capacity ?? DEFAULT_CAPACITY;
  const n = opts.servers;
  const policy = opts.readPolicy ?? 'round-robin';
  if (!(n >= 1 && n <= MAX_SERVERS)) throw new RangeError(`pegasus directory: 1..${MAX_SERVERS} servers per rack`);
  if (!(cap >= 1 && cap <= 4096)) throw new RangeError('pegasus directory: capacity 1..4096');
  const myRack = opts.rack;

  const rkeys = table<PegasusHeaders>({
    name: 'rkeys', match: 'exact', keys: [{ name: 'keyhash', bits: 32, get: (h) => h.keyhash }], size: cap,
    actions: {
      isRkey: { params: { index: 12, rf: 8 }, run: (pkt, p) => { pkt.headers.rkey = p.index!; pkt.headers.rf = p.rf!; } },
      notRkey: { run: (pkt) => { pkt.headers.rkey = -1; } },
    },
    defaultAction: { action: 'notRkey' },
  });
  const senders = table<PegasusHeaders>({
    name: 'senders', match: 'exact', keys: [{ name: 'serverId', bits: 16, get: (h) => h.serverId }], size: 256,
    actions: { live: { run: (pkt) => { pkt.headers.live = 1; } }, dead: { run: (pkt) => { pkt.headers.live = 0; } } },
    defaultAction: { action: 'dead' },
  });
  const epoch = register('epoch', 32, 1);
  const verNext = register('verNext', 64, 1);
  const rkeyReads = register('rkeyReads', 32, cap);
  const rkeyWrites = register('rkeyWrites', 32, cap);
  const rng = register('rng', 32, 1);
  const verCompleted = register('verCompleted', 64, cap);
  const rsetBitmap = register('rsetBitmap', 32, cap);
  const rsetSize = register('rsetSize', 8, cap);
  const rrCursor = register('rrCursor', 8, cap);
  const rsetA = register('rsetA', 8, cap * MAX_SERVERS);
  const rsetB = register('rsetB', 8, cap * MAX_SERVERS);
  const loadA = register('loadA', 16, MAX_SERVERS);
  const loadB = register('loadB', 16, MAX_SERVERS);
  const forward = {
    params: { port: 16 },
    run: (pkt: Packet<PegasusHeaders>, p: Readonly<Record<string, number>>) => { pkt.meta.egressPort = p.port!; },
  };
  const servers = table<PegasusHeaders>({
    name: 'servers', match: 'exact', keys: [{ name: 'serverId', bits: 16, get: (h) => h.serverId }], size: 256,
    actions: { forward, drop: { run: (pkt) => markDrop(pkt, 'unknown-server') } }, defaultAction: { action: 'drop' },
  });
  const clients = table<PegasusHeaders>({
    name: 'clients', match: 'exact', keys: [{ name: 'clientId', bits: 16, get: (h) => h.clientId }], size: 1024,
    actions: { forward, drop: { run: (pkt) => markDrop(pkt, 'unknown-client') } }, defaultAction: { action: 'drop' },
  });
  const racks = table<PegasusHeaders>({
    name: 'racks', match: 'exact', keys: [{ name: 'rack', bits: 8, get: (h) => h.rack }], size: 256,
    actions: { forward, drop: { run: (pkt) => markDrop(pkt, 'unknown-rack') } }, defaultAction: { action: 'drop' },
  });

  /** A PUT_FWD for another rack only passes through. */
  const transit = (h: PegasusHeaders): boolean => h.op === PUT_FWD && h.rack !== myRack;
  const rkeyRead = (h: PegasusHeaders): boolean => h.op === GET && h.rkey >= 0;
  const rkeyWrite = (h: PegasusHeaders): boolean => (h.op === PUT || h.op === DEL || h.op === PUT_FWD) && h.rkey >= 0;

  return defineProgram<PegasusHeaders>({
    name: 'pegasus',
    parse: (msg: Msg) => {
      if (msg.type !== 'Pegasus') return undefined;
      const m = msg as Pegasus;
      const op = OP_CODE[m.op];
      if (op === undefined) return undefined;
      return {
        op, keyhash: m.keyhash >>> 0, clientId: m.clientId, serverId: m.serverId, load: m.load, ver: m.ver, bitmap: m.bitmap,
        replicated: m.replicated, rf: m.rf, rack: m.rack, session: m.session, reqId: m.reqId, group: m.group ?? 0,
        rkey: -1, live: 0, verState: 0, joined: 0, size: 0, slot: 0, slot2: 0, node2: 0, rnd: 0,
      };
    },
    deparse: (pkt) => {
      const h = pkt.headers;
      const m = pkt.msg as Pegasus;
      if (m.ver === h.ver && m.serverId === h.serverId && m.bitmap === h.bitmap && m.replicated === h.replicated && m.rf === h.rf) return m;
      return { ...m, ver: h.ver, serverId: h.serverId, bitmap: h.bitmap, replicated: h.replicated, rf: h.rf };
    },
    ingress: [
      stage<PegasusHeaders>('classify', { tables: [rkeys, senders], registers: [epoch] }, (pkt, env) => {
        const h = pkt.headers;
        if (transit(h)) return;
        if (isRequest(h.op) && env.register(epoch).read(0) === 0) {
          markDrop(pkt, 'no-epoch');
          return;
        }
        env.apply(rkeys, pkt);
        if (h.op === PUT || h.op === DEL) h.replicated = h.rkey >= 0 ? 1 : 0;
        if (h.rkey < 0) h.rf = 1;
        if (isReply(h.op)) env.apply(senders, pkt);
      }),
      stage<PegasusHeaders>('version', { registers: [verNext, rkeyReads, rkeyWrites, rng] }, (pkt, env) => {
        const h = pkt.headers;
        if (transit(h)) return;
        if (h.op === PUT || h.op === DEL) h.ver = Number(env.register(verNext).rmw(0, (v) => v + 1n));
        if (rkeyRead(h)) {
          env.register(rkeyReads).rmw(h.rkey, (c) => (c + 1) >>> 0);
          if (policy !== 'round-robin' || opts.incoherent) {
            h.rnd = env.register(rng).rmw(0, (x) => {
              let y = x === 0 ? 0x2545f491 : x;
              y ^= y << 13;
              y ^= y >>> 17;
              y ^= y << 5;
              return y >>> 0;
            });
          }
        } else if (rkeyWrite(h) && h.op !== PUT_FWD) {
          env.register(rkeyWrites).rmw(h.rkey, (c) => (c + 1) >>> 0);
        }
      }),
      stage<PegasusHeaders>('completed', { registers: [verCompleted] }, (pkt, env) => {
        const h = pkt.headers;
        if (!(isReply(h.op) && h.rkey >= 0 && h.live === 1)) return;
        let old = 0;
        const ver = BigInt(h.ver);
        env.register(verCompleted).rmw(h.rkey, (v) => {
          old = Number(v);
          return ver > v ? ver : v;
        });
        h.verState = h.ver > old ? 1 : h.ver === old ? 2 : 0;
      }),
      stage<PegasusHeaders>('bitmap', { registers: [rsetBitmap] }, (pkt, env) => {
        const h = pkt.headers;
        if (transit(h) || h.rkey < 0) return;
        const bit = (1 << h.serverId) >>> 0;
        if (h.verState === 1) {
          env.register(rsetBitmap).write(h.rkey, bit);
        } else if (h.verState === 2) {
          let old = 0;
          env.register(rsetBitmap).rmw(h.rkey, (b) => {
            old = b;
            return (b | bit) >>> 0;
          });
          h.joined = (old & bit) === 0 ? 1 : 0;
        } else if (rkeyWrite(h)) {
          h.bitmap = env.register(rsetBitmap).read(h.rkey);
        }
      }),
      stage<PegasusHeaders>('size', { registers: [rsetSize] }, (pkt, env) => {
        const h = pkt.headers;
        if (transit(h) || h.rkey < 0) return;
        if (h.verState === 1) {
          env.register(rsetSize).write(h.rkey, 1);
          h.slot = 0;
        } else if (h.verState === 2 && h.joined === 1) {
          env.register(rsetSize).rmw(h.rkey, (s) => {
            h.slot = s;
            return s < MAX_SERVERS ? s + 1 : s;
          });
          if (h.slot >= MAX_SERVERS) h.joined = 0;
        } else if (rkeyRead(h)) {
          h.size = env.register(rsetSize).read(h.rkey);
          if (h.size === 0) markDrop(pkt, 'empty-rset');
        }
      }),
      stage<PegasusHeaders>('cursor', { registers: [rrCursor] }, (pkt, env) => {
        const h = pkt.headers;
        if (!rkeyRead(h) || opts.incoherent) return;
        if (policy === 'random') {
          h.slot = h.rnd % h.size;
          return;
        }
        env.register(rrCursor).rmw(h.rkey, (c) => {
          h.slot = c % h.size;
          return (h.slot + 1) % h.size;
        });
        h.slot2 = h.size > 1 ? (h.slot + 1 + (h.rnd % (h.size - 1))) % h.size : h.slot;
      }),
      stage<PegasusHeaders>('rset', { registers: [rsetA, rsetB] }, (pkt, env) => {
        const h = pkt.headers;
        if (transit(h) || h.rkey < 0) return;
        const base = h.rkey * MAX_SERVERS;
        if (h.verState === 1 || (h.verState === 2 && h.joined === 1)) {
          env.register(rsetA).write(base + h.slot, h.serverId);
          env.register(rsetB).write(base + h.slot, h.serverId);
        } else if (rkeyRead(h)) {
          if (opts.incoherent) {
            // The bug Pegasus exists to prevent: any server, whether or not it has the latest version.
            h.serverId = h.rnd % n;
            return;
          }
          h.serverId = env.register(rsetA).read(base + h.slot);
          if (policy === 'least-loaded') h.node2 = env.register(rsetB).read(base + h.slot2);
        }
      }),
      stage<PegasusHeaders>('load', { registers: [loadA, loadB] }, (pkt, env) => {
        const h = pkt.headers;
        if (transit(h)) return;
        if (isReply(h.op) && h.live === 1 && h.serverId < MAX_SERVERS) {
          const l = Math.min(h.load, 0xffff);
          env.register(loadA).write(h.serverId, l);
          env.register(loadB).write(h.serverId, l);
        } else if (rkeyRead(h) && policy === 'least-loaded' && !opts.incoherent && h.node2 !== h.serverId) {
          const l1 = env.register(loadA).read(h.serverId);
          const l2 = env.register(loadB).read(h.node2);
          if (l2 < l1) h.serverId = h.node2;
        } else if (rkeyWrite(h) && h.op !== PUT_FWD) {
          h.serverId = writeTarget(h.clientId, h.session, h.reqId, n);
        }
      }),
      stage<PegasusHeaders>('forward', { tables: [servers, clients, racks] }, (pkt, env) => {
        const h = pkt.headers;
        if (transit(h)) {
          env.apply(racks, pkt);
        } else if (h.op === REP_R || h.op === REP_W) {
          if (h.clientId === NO_CLIENT) markDrop(pkt, 'chain-ack');
          else env.apply(clients, pkt);
        } else if (h.op === RC_ACK) {
          markDrop(pkt, 'rc-ack');
        } else {
          if (h.op === RC_REQ && h.group !== 0) pkt.meta.mcastGroup = h.group;
          else env.apply(servers, pkt);
        }
      }),
    ],
  });
}
