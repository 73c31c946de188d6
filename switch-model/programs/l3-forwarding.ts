// L3 forwarding: longest-prefix match on the IPv4 destination chooses the egress port and the
// next hop's MAC; the switch rewrites the MACs and decrements the TTL, as a router does.
import type { SwitchSetup } from '../control.ts';
import type { Frame } from '../messages.ts';
import { markDrop, withFields } from '../packet.ts';
import { defineProgram, stage, table, type SwitchProgram } from '../program.ts';

export interface L3Headers {
  ethSrc: number;
  ethDst: number;
  ipDst: number;
  ttl: number;
}

export interface L3Options {
  /** Routes. Default 8192 (16 TCAM blocks of a Tofino-like stage's 24). */
  readonly routeTableSize?: number;
}

export function l3Forwarding(opts: L3Options = {}): SwitchProgram<L3Headers> {
  const routes = table<L3Headers>({
    name: 'ipv4_lpm',
    match: 'lpm',
    keys: [{ name: 'ipDst', bits: 32, get: (h) => h.ipDst }],
    size: opts.routeTableSize ?? 8192,
    actions: {
      route: {
        params: { port: 9, dmac: 48, smac: 48 },
        run: (pkt, p) => {
          const h = pkt.headers;
          pkt.meta.egressPort = p.port!;
          h.ethDst = p.dmac!;
          h.ethSrc = p.smac!;
          h.ttl--;
        },
      },
      drop: { run: (pkt) => markDrop(pkt, 'no-route') },
    },
    defaultAction: { action: 'drop' },
  });
  return defineProgram<L3Headers>({
    name: 'l3-forwarding',
    parse: (msg) => {
      const f = msg as Partial<Frame>;
      if (msg.type !== 'Frame' || typeof f.ethDst !== 'number' || typeof f.ethSrc !== 'number' || typeof f.ipDst !== 'number') return undefined;
      return { ethSrc: f.ethSrc, ethDst: f.ethDst, ipDst: f.ipDst, ttl: typeof f.ttl === 'number' ? f.ttl : 64 };
    },
    deparse: (pkt) => {
      const h = pkt.headers;
      return withFields(pkt.msg as Frame, { ethSrc: h.ethSrc, ethDst: h.ethDst, ttl: h.ttl });
    },
    ingress: [
      stage<L3Headers>('route', { tables: [routes] }, (pkt, env) => {
        if (pkt.headers.ttl <= 1) {
          markDrop(pkt, 'ttl-expired');
          return;
        }
        env.apply(routes, pkt);
      }),
    ],
  });
}

export interface Route {
  /** IPv4 prefix and its length. */
  readonly prefix: number;
  readonly prefixLen: number;
  readonly port: number;
  /** MAC of the next hop (the host, or the next router). */
  readonly dmac: number;
  /** MAC this router writes as the source. */
  readonly smac: number;
}

export function l3Setup(routes: readonly Route[]): SwitchSetup {
  return {
    entries: routes.map((r) => ({
      table: 'ipv4_lpm', match: [{ value: r.prefix, prefixLen: r.prefixLen }], action: 'route',
      params: { port: r.port, dmac: r.dmac, smac: r.smac },
    })),
  };
}

/** a.b.c.d as a 32-bit number. */
export function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
