// The NetCache switch program (SOSP 2017; reference p4/netcache in the Pegasus artifact): a
// key-value cache in register arrays for values up to 128 bytes, answered at line rate, with
// hot keys found in the data plane by a count-min sketch and reported once per period by a
// Bloom filter. Coherence by versions (the switch stamps every write; a cached value is valid
// only while no newer write has been stamped):
//
//   lookup    table cache (keyhash -> slot); tables servers and clients (ports)
//   version   register verNext: every write takes ver = ++verNext; while verNext is 0 (a switch
//             just (re)started, before the controller set it to its epoch's first version)
//             writes are dropped (the clients resend): versions from 0 again would look older
//             than those the servers hold, and the servers would ignore the writes
//   pending   register pendingVer per slot: a write to a cached key stores its version (the
//             entry is invalid until a reply at least that new); a reply or fill of version u
//             is accepted when u >= pendingVer (and its value fits), raising pendingVer to u.
//             A slot being filled (UNFILLED set by the controller before the table entry goes
//             in) takes only the fill, and only if it is at least as new as every reply that
//             passed since: writes stamped before the entry was in left no version here, and a
//             late reply of an older one would otherwise be taken after a newer one passed.
//             Register fillGen per slot: the insertion's generation, set by the controller with
//             UNFILLED; a fill counts only if it carries it (a fill of an earlier insertion of
//             the key, late, is older than a write the slot never saw)
//   valid     register valid per slot: 0 on a write, 1 on an accepted reply or fill
//   length    registers len (characters) and vbytes (size on the wire) per slot; hits per slot
//   value0..3 sixteen 64-bit register arrays, four per stage: the value, 8 bytes per cell
//   sketch    count-min sketch (4 rows) of reads that missed the cache
//   bloom     Bloom filter (3 arrays): a key whose estimate passes the threshold is reported
//             to the controller (a clone to the CPU) once per period; then the egress decision
//             (a cache hit goes back to the client as a reply)
import type { Msg } from '../../actors/index.ts';
import { defineProgram, markDrop, PORT_CPU, register, stage, table, type Packet, type RegisterDecl, type SwitchProgram } from '../../switch-model/index.ts';
import { HEADER_BYTES, OP_CODE, type NetCache } from './messages.ts';

export interface NetCacheOptions {
  /** Cached items, at most. Default 10,000. */
  readonly cacheSize?: number;
  /** Largest value the cache holds (bytes). Default 128 (sixteen 8-byte cells). */
  readonly maxValueBytes?: number;
  readonly sketchWidth?: number;
  readonly bloomWidth?: number;
  /** A missed key is reported once its estimate reaches this. Default 128. */
  readonly threshold?: number;
}

export const CELLS = 16;
/**
 * pendingVer's flag for a slot being filled (versions are below 2^53); the bits below it hold
 * the newest version of the replies that passed since. A write clears it: from a write on, a
 * reply at least that new is the newest state.
 */
export const UNFILLED = 1n << 62n;
export const DEFAULT_CACHE_SIZE = 10_000;

export interface NetCacheHeaders {
  op: number;
  keyhash: number;
  clientId: number;
  serverId: number;
  ver: number;
  valueBytes: number;
  fillGen: number;
  // metadata
  slot: number;
  accept: number;
  hit: number;
  len: number;
  cellsOut: bigint[];
  clientPort: number;
  serverPort: number;
  estimate: number;
  /** A reply too large to cache and newer than the slot's version: the slot goes invalid. */
  stale: number;
}

const { GET, PUT, REP_R, REP_W, CACHE_FILL } = OP_CODE;

export function netcacheProgram(opts: NetCacheOptions = {}): SwitchProgram<NetCacheHeaders> {
  const size = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
  const maxBytes = opts.maxValueBytes ?? 128;
  const sketchW = opts.sketchWidth ?? 65_536;
  const bloomW = opts.bloomWidth ?? 262_144;
  const threshold = opts.threshold ?? 128;
  const slotBits = Math.max(1, Math.ceil(Math.log2(size)));

  const cache = table<NetCacheHeaders>({
    name: 'cache', match: 'exact', keys: [{ name: 'keyhash', bits: 32, get: (h) => h.keyhash }], size,
    actions: { cached: { params: { slot: slotBits }, run: (pkt, p) => { pkt.headers.slot = p.slot!; } }, miss: { run: (pkt) => { pkt.headers.slot = -1; } } },
    defaultAction: { action: 'miss' },
  });
  const servers = table<NetCacheHeaders>({
    name: 'servers', match: 'exact', keys: [{ name: 'serverId', bits: 16, get: (h) => h.serverId }], size: 256,
    actions: { port: { params: { port: 16 }, run: (pkt, p) => { pkt.headers.serverPort = p.port!; } } },
  });
  const clients = table<NetCacheHeaders>({
    name: 'clients', match: 'exact', keys: [{ name: 'clientId', bits: 16, get: (h) => h.clientId }], size: 1024,
    actions: { port: { params: { port: 16 }, run: (pkt, p) => { pkt.headers.clientPort = p.port!; } } },
  });
  // 64-bit versions (below 2^53, exact as numbers): a 32-bit counter wraps after 4 billion
  // writes, and a wrapped version would look older than the cached one.
  const verNext = register('verNext', 64, 1);
  const pendingVer = register('pendingVer', 64, size);
  const fillGen = register('fillGen', 32, size);
  const valid = register('valid', 8, size);
  const len = register('len', 16, size);
  const vbytes = register('vbytes', 16, size);
  const hits = register('hits', 32, size);
  const cells: RegisterDecl<64>[] = Array.from({ length: CELLS }, (_, i) => register(`value${i}`, 64, size));
  const sketch = Array.from({ length: 4 }, (_, i) => register(`sketch${i}`, 16, sketchW));
  const bloom = Array.from({ length: 3 }, (_, i) => register(`bloom${i}`, 8, bloomW));

  const isReply = (op: number): boolean => op === REP_R || op === REP_W || op === CACHE_FILL;
  const cached = (h: NetCacheHeaders): boolean => h.slot >= 0;

  const valueStage = (k: number) => stage<NetCacheHeaders>(`value${k}`, { registers: cells.slice(k * 4, k * 4 + 4) }, (pkt, env) => {
    const h = pkt.headers;
    if (!cached(h)) return;
    if (h.accept === 1) {
      const words = encode((pkt.msg as NetCache).value);
      for (let i = k * 4; i < k * 4 + 4; i++) env.register(cells[i]!).write(h.slot, words[i]!);
    } else if (h.hit === 1) {
      for (let i = k * 4; i < k * 4 + 4; i++) if (i * 8 < h.len) h.cellsOut[i] = env.register(cells[i]!).read(h.slot);
    }
  });

  const hash = (x: number, seed: number, width: number): number => {
    let y = Math.imul(x ^ seed, 0x9e3779b1);
    y ^= y >>> 15;
    y = Math.imul(y, 0x85ebca6b);
    y ^= y >>> 13;
    return (y >>> 0) % width;
  };

  return defineProgram<NetCacheHeaders>({
    name: 'netcache',
    parse: (msg: Msg) => {
      if (msg.type !== 'NetCache') return undefined;
      const m = msg as NetCache;
      const op = OP_CODE[m.op];
      if (op === undefined) return undefined;
      return {
        op, keyhash: m.keyhash >>> 0, clientId: m.clientId, serverId: m.serverId, ver: m.ver, valueBytes: m.valueBytes, fillGen: m.fillGen ?? 0,
        slot: -1, accept: 0, hit: 0, len: 0, cellsOut: [], clientPort: -1, serverPort: -1, estimate: 0, stale: 0,
      };
    },
    deparse: (pkt: Packet<NetCacheHeaders>) => {
      const h = pkt.headers;
      const m = pkt.msg as NetCache;
      if (h.hit === 1) {
        const value = decode(h.cellsOut, h.len);
        return { ...m, op: 'REP_R', cached: 1, ver: h.ver, value, valueBytes: h.valueBytes, sizeBytes: HEADER_BYTES + m.key.length + h.valueBytes } satisfies NetCache;
      }
      return h.ver === m.ver ? m : { ...m, ver: h.ver };
    },
    payloadBytes: (msg) => (msg as NetCache).sizeBytes,
    ingress: [
      stage<NetCacheHeaders>('lookup', { tables: [cache, servers, clients] }, (pkt, env) => {
        const h = pkt.headers;
        env.apply(cache, pkt);
        if (h.op === GET || h.op === PUT) env.apply(servers, pkt);
        if (h.op === GET || h.op === REP_R || h.op === REP_W) env.apply(clients, pkt);
      }),
      stage<NetCacheHeaders>('version', { registers: [verNext] }, (pkt, env) => {
        const h = pkt.headers;
        if (h.op !== PUT) return;
        const v = env.register(verNext).rmw(0, (x) => (x === 0n ? 0n : x + 1n));
        if (v === 0n) {
          h.slot = -1; // the later stages leave the cache alone
          markDrop(pkt, 'no-epoch');
          return;
        }
        h.ver = Number(v);
      }),
      stage<NetCacheHeaders>('pending', { registers: [pendingVer, fillGen] }, (pkt, env) => {
        const h = pkt.headers;
        if (!cached(h)) return;
        if (h.op === PUT) {
          env.register(pendingVer).write(h.slot, BigInt(h.ver));
        } else if (isReply(h.op)) {
          // A value too large to cache is not taken, but its version counts all the same: a
          // write's reply newer than the slot's value makes that value stale.
          const fits = h.valueBytes <= maxBytes && (pkt.msg as NetCache).value.length <= maxBytes;
          const ver = BigInt(h.ver);
          const fill = h.op === CACHE_FILL;
          // A fill of another insertion (an earlier one of this key, arriving late) counts for nothing.
          if (fill && env.register(fillGen).read(h.slot) !== h.fillGen) return;
          env.register(pendingVer).rmw(h.slot, (old) => {
            if (old >= UNFILLED) {
              const seen = old - UNFILLED;
              if (fill && fits && ver >= seen) {
                h.accept = 1;
                return ver;
              }
              return UNFILLED + (ver > seen ? ver : seen);
            }
            if (ver >= old) {
              if (fits) h.accept = 1;
              else if (ver > old) h.stale = 1;
            }
            return ver >= old ? ver : old;
          });
        } else if (h.op === GET) {
          h.ver = Number(env.register(pendingVer).read(h.slot) % UNFILLED);
        }
      }),
      stage<NetCacheHeaders>('valid', { registers: [valid] }, (pkt, env) => {
        const h = pkt.headers;
        if (!cached(h)) return;
        if (h.op === PUT) env.register(valid).write(h.slot, 0);
        else if (h.accept === 1) env.register(valid).write(h.slot, 1);
        else if (h.stale === 1) env.register(valid).write(h.slot, 0);
        else if (h.op === GET) h.hit = env.register(valid).read(h.slot);
      }),
      stage<NetCacheHeaders>('length', { registers: [len, vbytes, hits] }, (pkt, env) => {
        const h = pkt.headers;
        if (!cached(h)) return;
        if (h.accept === 1) {
          h.len = (pkt.msg as NetCache).value.length;
          env.register(len).write(h.slot, h.len);
          env.register(vbytes).write(h.slot, h.valueBytes);
        } else if (h.hit === 1) {
          h.len = env.register(len).read(h.slot);
          h.valueBytes = env.register(vbytes).read(h.slot);
          h.cellsOut = new Array<bigint>(CELLS).fill(0n);
          env.register(hits).rmw(h.slot, (c) => (c + 1) >>> 0);
        }
      }),
      valueStage(0), valueStage(1), valueStage(2), valueStage(3),
      stage<NetCacheHeaders>('sketch', { registers: sketch }, (pkt, env) => {
        const h = pkt.headers;
        if (h.op !== GET || cached(h)) return;
        let est = 0xffff;
        for (let i = 0; i < sketch.length; i++) {
          const c = env.register(sketch[i]!).rmw(hash(h.keyhash, i + 1, sketchW), (x) => (x < 0xffff ? x + 1 : x));
          if (c < est) est = c;
        }
        h.estimate = est;
      }),
      stage<NetCacheHeaders>('bloom', { registers: bloom }, (pkt, env) => {
        const h = pkt.headers;
        if (h.op === GET && !cached(h) && h.estimate >= threshold) {
          let seen = true;
          for (let i = 0; i < bloom.length; i++) if (env.register(bloom[i]!).exchange(hash(h.keyhash, 101 + i, bloomW), 1) === 0) seen = false;
          if (!seen) pkt.meta.cloneToCpu = true;
        }
        // The egress decision.
        if (h.op === GET) pkt.meta.egressPort = h.hit === 1 ? h.clientPort : h.serverPort;
        else if (h.op === PUT) pkt.meta.egressPort = h.serverPort;
        else if (h.op === CACHE_FILL) markDrop(pkt, 'cache-fill');
        else pkt.meta.egressPort = h.clientPort;
        if (pkt.meta.egressPort < 0 && pkt.meta.egressPort !== PORT_CPU) markDrop(pkt, 'no-route');
      }),
    ],
  });
}

/** A value's characters, 8 per 64-bit cell (values here are ASCII). */
export function encode(value: string): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < CELLS; i++) {
    let w = 0n;
    for (let b = 0; b < 8; b++) {
      const c = value.charCodeAt(i * 8 + b);
      w = (w << 8n) | BigInt(Number.isNaN(c) ? 0 : c & 0xff);
    }
    out.push(w);
  }
  return out;
}

export function decode(cells: readonly bigint[], length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const w = cells[i >> 3] ?? 0n;
    s += String.fromCharCode(Number((w >> BigInt(8 * (7 - (i & 7)))) & 0xffn));
  }
  return s;
}
