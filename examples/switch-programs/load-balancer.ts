// A stateless L4-style load balancer, written from docs/switch-model.md.
//
// A frame to a virtual address (table 'vips', exact on the destination IPv4) is sent to one
// backend of that address's pool: a hash of the flow (source and destination IPv4: a Frame has
// no L4 ports) picks one of 16 buckets, and table 'pool', exact on (vip, bucket), gives the
// bucket's backend, whose IPv4 and MAC the frame is rewritten to. The control plane fills the
// 16 buckets of a pool from its backends (bucket b -> backend b mod n), as an ECMP group is
// spread over a fixed number of hash buckets: stage code has no modulo. The same flow always
// hashes to the same bucket, hence the same backend, with no per-flow state.
// Counter 'backend_pkts' counts packets and bytes per backend; other frames are forwarded by
// destination MAC (table 'dmac').
//
// The controller reads the per-backend counters through the control plane on `LbReadCounters`.

import { behavior, type ActorRef } from '../../actors/index.ts';
import {
  counter, defineProgram, ipv4, markDrop, rack, stage, table, withFields,
  type ControlReply, type ControlRequest, type Frame, type RackOptions, type SwitchProgram,
} from '../../switch-model/index.ts';

export const LB_BUCKETS = 16; // a power of 2: the bucket is the hash's low bits
export const LB_MAX_BACKENDS = 64;

export interface LbHeaders {
  ipSrc: number;
  ipDst: number;
  dst: number; // destination MAC
  bucket: number; // metadata: the flow's hash bucket
  vip: number; // metadata: which virtual address (-1: not one)
  backend: number; // metadata: the chosen backend's index (-1: none)
}

// Stands in for the chip's hash unit (CRC on hardware): multiplies, xors and shifts.
export function flowBucket(ipSrc: number, ipDst: number): number {
  let x = Math.imul(ipSrc ^ 0x2545f491, 0x9e3779b1);
  x ^= Math.imul(ipDst, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 15), 0xc2b2ae35);
  return (x ^ (x >>> 16)) & (LB_BUCKETS - 1);
}

export function loadBalancer(): SwitchProgram<LbHeaders> {
  const vips = table<LbHeaders>({
    name: 'vips',
    match: 'exact',
    keys: [{ name: 'ipDst', bits: 32, get: (h) => h.ipDst }],
    size: 256,
    actions: {
      balance: { params: { vip: 8 }, run: (pkt, p) => { pkt.headers.vip = p.vip!; } },
      not_vip: { run: (pkt) => { pkt.headers.vip = -1; } },
    },
    defaultAction: { action: 'not_vip' },
  });
  const dmac = table<LbHeaders>({
    name: 'dmac',
    match: 'exact',
    keys: [{ name: 'dst', bits: 48, get: (h) => h.dst }],
    size: 1024,
    actions: {
      forward: { params: { port: 9 }, run: (pkt, p) => { pkt.meta.egressPort = p.port!; } },
      // Not a drop: a frame to a VIP misses here (and markDrop would skip the later stages).
      // With no egress port set, an unknown destination is dropped as 'no-egress-port'.
      miss: { run: () => {} },
    },
    defaultAction: { action: 'miss' },
  });
  const pool = table<LbHeaders>({
    name: 'pool',
    match: 'exact',
    keys: [
      { name: 'vip', bits: 8, get: (h) => h.vip },
      { name: 'bucket', bits: 4, get: (h) => h.bucket },
    ],
    size: 256 * LB_BUCKETS,
    actions: {
      to_backend: {
        params: { backend: 6, ip: 32, mac: 48, port: 9 },
        run: (pkt, p) => {
          const h = pkt.headers;
          h.backend = p.backend!;
          h.ipDst = p.ip!;
          h.dst = p.mac!;
          pkt.meta.egressPort = p.port!;
        },
      },
      no_backend: { run: (pkt) => markDrop(pkt, 'no-backend') },
    },
    defaultAction: { action: 'no_backend' },
  });
  const perBackend = counter('backend_pkts', LB_MAX_BACKENDS);

  return defineProgram<LbHeaders>({
    name: 'load-balancer',
    parse: (msg) => {
      if (msg.type !== 'Frame') return undefined;
      const f = msg as Frame;
      return { ipSrc: f.ipSrc ?? 0, ipDst: f.ipDst ?? 0, dst: f.ethDst, bucket: 0, vip: -1, backend: -1 };
    },
    deparse: (pkt) => {
      const h = pkt.headers;
      return h.backend < 0 ? pkt.msg : withFields(pkt.msg as Frame, { ipDst: h.ipDst, ethDst: h.dst });
    },
    ingress: [
      // Three independent things: is it a VIP, where would L2 send it, the flow's bucket.
      stage<LbHeaders>('classify', { tables: [vips, dmac] }, (pkt, env) => {
        const h = pkt.headers;
        env.apply(vips, pkt);
        env.apply(dmac, pkt);
        h.bucket = flowBucket(h.ipSrc, h.ipDst);
      }),
      // Needs 'vips' result: a later stage. Overrides dmac's egress port for a VIP.
      stage<LbHeaders>('select', { tables: [pool] }, (pkt, env) => {
        if (pkt.headers.vip >= 0) env.apply(pool, pkt);
      }),
      // Needs 'pool' result: a later stage.
      stage<LbHeaders>('count', { counters: [perBackend] }, (pkt, env) => {
        if (pkt.headers.backend >= 0) env.counter(perBackend).count(pkt.headers.backend, pkt);
      }),
    ],
  });
}

// ---- the controller ----

export interface LbControllerState {
  counts: Array<{ packets: number; bytes: number } | undefined>; // per backend, from the last read
  errors: string[];
}
export type LbReadCounters = { type: 'LbReadCounters'; backends: number };

export function lbController(control: ActorRef<ControlRequest>) {
  return behavior<LbControllerState, ControlReply | LbReadCounters>({
    init: () => ({ counts: [], errors: [] }),
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'LbReadCounters':
          for (let i = 0; i < msg.backends; i++) {
            ctx.send(control, { type: 'CounterRead', counter: 'backend_pkts', index: i, id: i, replyTo: ctx.self });
          }
          return { ...s, counts: [] };
        case 'ControlReply': {
          if (!msg.ok) return { ...s, errors: [...s.errors, msg.error] };
          if (typeof msg.id !== 'number') return s;
          const counts = [...s.counts];
          counts[msg.id] = { packets: msg.packets ?? 0, bytes: msg.bytes ?? 0 };
          return { ...s, counts };
        }
        default:
          return s;
      }
    },
  });
}

// ---- a rack that runs it: clients c0.., backends b0.., one VIP over all backends ----

export const LB_VIP = ipv4(10, 0, 100, 1);

export interface LbRackOptions extends Pick<RackOptions<LbHeaders>, 'mode' | 'peer' | 'link'> {
  clients?: number;
  backends?: number;
}

export function loadBalancerRack(opts: LbRackOptions = {}) {
  const nc = opts.clients ?? 2;
  const nb = opts.backends ?? 4;
  const names = [
    ...Array.from({ length: nc }, (_, i) => `c${i}`),
    ...Array.from({ length: nb }, (_, i) => `b${i}`),
  ];
  const r = rack({
    hosts: names,
    program: loadBalancer(),
    mode: opts.mode,
    peer: opts.peer,
    link: opts.link,
    setup: (hosts) => {
      const backends = hosts.filter((h) => h.name.startsWith('b'));
      return {
        entries: [
          ...hosts.map((h) => ({ table: 'dmac', match: [h.mac], action: 'forward', params: { port: h.port } })),
          { table: 'vips', match: [LB_VIP], action: 'balance', params: { vip: 0 } },
          ...Array.from({ length: LB_BUCKETS }, (_, b) => {
            const be = backends[b % backends.length]!;
            return {
              table: 'pool', match: [0, b], action: 'to_backend',
              params: { backend: b % backends.length, ip: be.ip, mac: be.mac, port: be.port },
            };
          }),
        ],
      };
    },
  });
  const controller = r.topology.actor(r.switchHost, 'lb/controller', lbController(r.switch.control));
  return { ...r, controller };
}
