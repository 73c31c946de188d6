// A synthetic pipeline of N ingress stages, for benchmarks and for comparing the execution
// modes: stage i < N-1 looks the destination up in its own exact-match table and folds the
// entry's tag into a running value (stage 5 also counts packets per source in a register); the
// last stage forwards by destination. It does the kind of work a real program spreads over a
// pipe, in every stage.
import type { SwitchSetup } from '../control.ts';
import type { Frame } from '../messages.ts';
import { withFields } from '../packet.ts';
import { defineProgram, register, stage, table, type StageDef, type SwitchProgram } from '../program.ts';

export interface ChainHeaders {
  dst: number;
  src: number;
  acc: number;
}

export function stageChain(stages = 12): SwitchProgram<ChainHeaders> {
  if (!(Number.isInteger(stages) && stages >= 1)) throw new RangeError('stageChain: at least one stage');
  const defs: StageDef<ChainHeaders>[] = [];
  const perSource = register('perSource', 32, 1024);
  for (let i = 0; i < stages - 1; i++) {
    const t = table<ChainHeaders>({
      name: `t${i}`, match: 'exact', keys: [{ name: 'dst', bits: 48, get: (h) => h.dst }], size: 1024,
      actions: { mark: { params: { tag: 8 }, run: (pkt, p) => { pkt.headers.acc = (pkt.headers.acc * 31 + p.tag!) & 0xffff; } } },
    });
    const counts = i === 5;
    defs.push(stage<ChainHeaders>(`s${i}`, { tables: [t], registers: counts ? [perSource] : [] }, (pkt, env) => {
      env.apply(t, pkt);
      if (counts) env.register(perSource).rmw(pkt.headers.src & 1023, (n) => n + 1);
    }));
  }
  const fwd = table<ChainHeaders>({
    name: 'fwd', match: 'exact', keys: [{ name: 'dst', bits: 48, get: (h) => h.dst }], size: 1024,
    actions: { forward: { params: { port: 9 }, run: (pkt, p) => { pkt.meta.egressPort = p.port!; } } },
  });
  defs.push(stage<ChainHeaders>('forward', { tables: [fwd] }, (pkt, env) => { env.apply(fwd, pkt); }));
  return defineProgram<ChainHeaders>({
    name: `chain${stages}`,
    parse: (msg) => {
      const f = msg as Partial<Frame>;
      return msg.type === 'Frame' && typeof f.ethDst === 'number' ? { dst: f.ethDst, src: f.ethSrc ?? 0, acc: 0 } : undefined;
    },
    // The running value goes out in the frame, so that every stage's work is visible.
    deparse: (pkt) => withFields(pkt.msg as Frame, { ttl: pkt.headers.acc & 0xff }),
    ingress: defs,
  });
}

/** Entries for destinations (MAC -> port) in every table of a chain of `stages`. */
export function stageChainSetup(dsts: readonly { readonly mac: number; readonly port: number }[], stages = 12): SwitchSetup {
  const entries = [];
  for (const d of dsts) {
    for (let i = 0; i < stages - 1; i++) entries.push({ table: `t${i}`, match: [d.mac], action: 'mark', params: { tag: (d.mac + i) & 0xff } });
    entries.push({ table: 'fwd', match: [d.mac], action: 'forward', params: { port: d.port } });
  }
  return { entries };
}
