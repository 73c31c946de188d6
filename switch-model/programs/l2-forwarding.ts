// L2 forwarding: a MAC table (exact match on the destination MAC) sends a frame to its port;
// an unknown or broadcast destination floods to every other port through a multicast group.
// With `learning`, frames from an unknown source MAC are cloned to the CPU, and a learning
// controller (l2Learner) installs the source MAC on the port it came from, as an Ethernet
// switch learns, but through the control plane as on a P4 switch.
import { behavior, type ActorRef, type Behavior, type Msg } from '../../actors/index.ts';
import type { SwitchSetup } from '../control.ts';
import type { ControlReply, ControlRequest, Frame, PacketIn } from '../messages.ts';
import { markDrop, type Packet } from '../packet.ts';
import { defineProgram, stage, table, type SwitchProgram } from '../program.ts';

export interface L2Headers {
  ethSrc: number;
  ethDst: number;
}

/** The multicast group that floods to all ports (the egress stage prunes the ingress port). */
export const FLOOD_GROUP = 1;

export interface L2Options {
  /** MAC table entries. Default 4096. */
  readonly macTableSize?: number;
  /** Clone frames from unknown source MACs to the CPU. Default false. */
  readonly learning?: boolean;
}

export function isFrame(msg: Msg): msg is Frame {
  const f = msg as Partial<Frame>;
  return msg.type === 'Frame' && typeof f.ethDst === 'number' && typeof f.ethSrc === 'number';
}

export function l2Forwarding(opts: L2Options = {}): SwitchProgram<L2Headers> {
  const size = opts.macTableSize ?? 4096;
  const dmac = table<L2Headers>({
    name: 'dmac',
    match: 'exact',
    keys: [{ name: 'ethDst', bits: 48, get: (h) => h.ethDst }],
    size,
    actions: {
      forward: { params: { port: 9 }, run: (pkt, p) => { pkt.meta.egressPort = p.port!; } },
      flood: { run: (pkt) => { pkt.meta.mcastGroup = FLOOD_GROUP; } },
      drop: { run: (pkt) => markDrop(pkt, 'dmac-drop') },
    },
    defaultAction: { action: 'flood' },
  });
  const smac = table<L2Headers>({
    name: 'smac',
    match: 'exact',
    keys: [{ name: 'ethSrc', bits: 48, get: (h) => h.ethSrc }],
    size,
    actions: {
      known: { run: () => {} },
      learn: { run: (pkt) => { pkt.meta.cloneToCpu = true; } },
    },
    defaultAction: { action: opts.learning ? 'learn' : 'known' },
  });
  return defineProgram<L2Headers>({
    name: 'l2-forwarding',
    parse: (msg) => (isFrame(msg) ? { ethSrc: msg.ethSrc, ethDst: msg.ethDst } : undefined),
    // L2 forwarding rewrites nothing: the frame leaves as it came.
    deparse: (pkt: Packet<L2Headers>) => pkt.msg,
    ingress: [
      // The two lookups are independent, so they share one stage, as a compiler would place them.
      stage<L2Headers>('mac', { tables: [smac, dmac] }, (pkt, env) => {
        env.apply(smac, pkt);
        env.apply(dmac, pkt);
      }),
    ],
    egress: [
      stage<L2Headers>('prune', {}, (pkt) => {
        if (pkt.meta.egressPort === pkt.meta.ingressPort) markDrop(pkt, 'same-port');
      }),
    ],
  });
}

/** Entries for hosts at known ports, and the flood group over `ports` ports. */
export function l2Setup(hosts: readonly { readonly mac: number; readonly port: number }[], ports: number): SwitchSetup {
  return {
    entries: hosts.flatMap((h) => [
      { table: 'dmac', match: [h.mac], action: 'forward', params: { port: h.port } },
      { table: 'smac', match: [h.mac], action: 'known' },
    ]),
    multicast: [{ group: FLOOD_GROUP, ports: Array.from({ length: ports }, (_, i) => i) }],
  };
}

interface LearnerState {
  readonly learned: Set<number>;
}

/**
 * The learning controller: subscribes to the switch's PacketIn and installs every new source
 * MAC on the port it arrived on (both tables, so it is cloned only once).
 */
export function l2Learner(control: ActorRef<ControlRequest>): Behavior<LearnerState, PacketIn | ControlReply> {
  return behavior<LearnerState, PacketIn | ControlReply>({
    init: (ctx) => {
      ctx.send(control, { type: 'PacketInSubscribe', subscriber: ctx.self as ActorRef<PacketIn> });
      return { learned: new Set() };
    },
    receive: (s, msg, ctx) => {
      if (msg.type === 'ControlReply') {
        if (!msg.ok) ctx.log.warn({ error: msg.error }, 'l2 learner: control plane refused');
        return s;
      }
      if (!isFrame(msg.msg) || msg.ingressPort < 0 || s.learned.has(msg.msg.ethSrc)) return s;
      const mac = msg.msg.ethSrc;
      s.learned.add(mac);
      const replyTo = ctx.self as ActorRef<ControlReply>;
      ctx.send(control, { type: 'TableInsert', table: 'dmac', match: [mac], action: 'forward', params: { port: msg.ingressPort }, replyTo });
      ctx.send(control, { type: 'TableInsert', table: 'smac', match: [mac], action: 'known', replyTo });
      return s;
    },
  });
}
