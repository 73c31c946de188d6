// An in-network heavy-hitter detector, written from docs/switch-model.md.
//
// A count-min sketch over the source MAC: 3 rows of 1024 32-bit cells, each row a register
// array in its own stage (one read-modify-write per array per packet). The estimate of a
// packet's flow is the least of its three cells after the increment. When it goes above the
// threshold the packet is cloned to the control plane (a report), once per flow: a fourth array,
// 'reported', remembers (by a hash of the flow) which flows were reported since the last reset.
// Frames are forwarded by destination MAC (exact table 'dmac'), as in the L2 program.
//
// The report is built by the deparser: the CPU copy goes through it too, with its egress port
// PORT_CPU, and what it returns is the `msg` of the PacketIn: here `HhReport { src, estimate }`.
// The controller receives the switch's PacketIns, keeps the reports, and on `HhReset`
// clears the sketch through the control plane (RegisterReset on the four arrays).

import { behavior, type ActorRef } from '../../actors/index.ts';
import {
  defineProgram, markDrop, PORT_CPU, rack, register, stage, table,
  type ControlReply, type ControlRequest, type Frame, type PacketIn, type RackOptions, type SwitchProgram,
} from '../../switch-model/index.ts';

export const HH_ROWS = ['cms0', 'cms1', 'cms2'] as const;
export const HH_REPORTED = 'reported';
export const HH_CELLS = 1024;

export interface HhHeaders {
  src: number;
  dst: number;
  srcHi: number; // the source MAC split by the parser into PHV-sized halves (16 + 32 bits):
  srcLo: number; // stage code may not divide, so the split happens where hardware does it
  threshold: number; // metadata: from table 'hh_config'
  c0: number; // metadata: this packet's count in each row, after the increment
  c1: number;
  c2: number;
  estimate: number; // metadata: the least of c0..c2
}

/** What the controller gets in a PacketIn for a heavy flow. */
export type HhReportMsg = { type: 'HhReport'; src: number; estimate: number };

// Stands in for the chip's hash units (CRC on hardware): a few multiplies, xors and shifts of
// the flow key, one seed per row, 10 bits out.
export function flowHash(hi: number, lo: number, seed: number): number {
  let x = Math.imul(lo ^ seed, 0x9e3779b1);
  x ^= Math.imul(hi + seed, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 15), 0xc2b2ae35);
  return (x ^ (x >>> 13)) & (HH_CELLS - 1);
}
/** One hash seed per sketch row, and one for 'reported'. */
export const HH_SEEDS = [0x1b873593, 0x7fb5a4c1, 0x2545f491, 0x5bd1e995];

export interface HeavyHitterOptions {
  threshold?: number; // initial threshold (a default action's parameter: the controller may change it)
}

export function heavyHitter(opts: HeavyHitterOptions = {}): SwitchProgram<HhHeaders> {
  const threshold = opts.threshold ?? 100;
  const config = table<HhHeaders>({
    name: 'hh_config',
    match: 'exact',
    keys: [{ name: 'dst', bits: 48, get: (h) => h.dst }], // never hit: only the default action is used
    size: 1,
    actions: {
      set_threshold: { params: { threshold: 32 }, run: (pkt, p) => { pkt.headers.threshold = p.threshold!; } },
    },
    defaultAction: { action: 'set_threshold', params: { threshold } },
  });
  const dmac = table<HhHeaders>({
    name: 'dmac',
    match: 'exact',
    keys: [{ name: 'dst', bits: 48, get: (h) => h.dst }],
    size: 1024,
    actions: {
      forward: { params: { port: 9 }, run: (pkt, p) => { pkt.meta.egressPort = p.port!; } },
      drop: { run: (pkt) => markDrop(pkt, 'unknown-destination') },
    },
    defaultAction: { action: 'drop' },
  });
  const r0 = register(HH_ROWS[0], 32, HH_CELLS);
  const r1 = register(HH_ROWS[1], 32, HH_CELLS);
  const r2 = register(HH_ROWS[2], 32, HH_CELLS);
  const reported = register(HH_REPORTED, 8, HH_CELLS);

  return defineProgram<HhHeaders>({
    name: 'heavy-hitter',
    parse: (msg) => {
      if (msg.type !== 'Frame') return undefined;
      const f = msg as Frame;
      const hi = Math.floor(f.ethSrc / 0x100000000);
      return { src: f.ethSrc, dst: f.ethDst, srcHi: hi, srcLo: f.ethSrc >>> 0, threshold: 0, c0: 0, c1: 0, c2: 0, estimate: 0 };
    },
    deparse: (pkt) => {
      if (pkt.meta.egressPort !== PORT_CPU) return pkt.msg; // forwarded frames are unchanged
      const h = pkt.headers;
      return { type: 'HhReport', src: h.src, estimate: h.estimate } satisfies HhReportMsg;
    },
    ingress: [
      // Row 0, the threshold and forwarding are independent of each other: one stage.
      stage<HhHeaders>('row0', { tables: [config, dmac], registers: [r0] }, (pkt, env) => {
        const h = pkt.headers;
        env.apply(config, pkt);
        env.apply(dmac, pkt);
        h.c0 = env.register(r0).rmw(flowHash(h.srcHi, h.srcLo, HH_SEEDS[0]!), (old) => old + 1);
      }),
      stage<HhHeaders>('row1', { registers: [r1] }, (pkt, env) => {
        const h = pkt.headers;
        h.c1 = env.register(r1).rmw(flowHash(h.srcHi, h.srcLo, HH_SEEDS[1]!), (old) => old + 1);
      }),
      stage<HhHeaders>('row2', { registers: [r2] }, (pkt, env) => {
        const h = pkt.headers;
        h.c2 = env.register(r2).rmw(flowHash(h.srcHi, h.srcLo, HH_SEEDS[2]!), (old) => old + 1);
      }),
      // The estimate needs all three counts, so it is a later stage; so is the report filter.
      stage<HhHeaders>('detect', { registers: [reported] }, (pkt, env) => {
        const h = pkt.headers;
        const est = h.c0 < h.c1 ? (h.c0 < h.c2 ? h.c0 : h.c2) : (h.c1 < h.c2 ? h.c1 : h.c2);
        h.estimate = est;
        if (est <= h.threshold) return;
        const before = env.register(reported).exchange(flowHash(h.srcHi, h.srcLo, HH_SEEDS[3]!), 1);
        if (before === 0) pkt.meta.cloneToCpu = true;
      }),
    ],
  });
}

// ---- the controller ----

export interface HhReport { src: number; estimate: number; ingressPort: number }
export interface HhControllerState {
  reports: HhReport[];
  resets: number; // RegisterResets answered ok
  errors: string[];
}
export type HhReset = { type: 'HhReset' };

export function hhController(control: ActorRef<ControlRequest>) {
  return behavior<HhControllerState, PacketIn | ControlReply | HhReset>({
    init: () => ({ reports: [], resets: 0, errors: [] }),
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'PacketIn': {
          const r = msg.msg as HhReportMsg;
          if (r.type !== 'HhReport') return s;
          return { ...s, reports: [...s.reports, { src: r.src, estimate: r.estimate, ingressPort: msg.ingressPort }] };
        }
        case 'HhReset':
          for (const name of [...HH_ROWS, HH_REPORTED]) {
            ctx.send(control, { type: 'RegisterReset', register: name, replyTo: ctx.self });
          }
          return s;
        case 'ControlReply':
          return msg.ok ? { ...s, resets: s.resets + 1 } : { ...s, errors: [...s.errors, msg.error] };
        default:
          return s;
      }
    },
  });
}

// ---- a rack that runs it ----

export interface HhRackOptions extends Pick<RackOptions<HhHeaders>, 'mode' | 'peer' | 'link'> {
  hosts?: number;
  threshold?: number;
}

/** A rack of `hosts` hosts (h0, h1, ...) around the detector; the controller on the switch host. */
export function heavyHitterRack(opts: HhRackOptions = {}) {
  const ctl = { host: 'tor', path: 'hh/controller' }; // 'tor': the rack's switch host
  const r = rack({
    hosts: opts.hosts ?? 3,
    program: heavyHitter({ threshold: opts.threshold }),
    mode: opts.mode,
    peer: opts.peer,
    link: opts.link,
    packetIn: ctl,
    setup: (hosts) => ({
      entries: hosts.map((h) => ({ table: 'dmac', match: [h.mac], action: 'forward', params: { port: h.port } })),
    }),
  });
  const controller = r.topology.actor(r.switchHost, 'hh/controller', hhController(r.switch.control));
  return { ...r, controller };
}
