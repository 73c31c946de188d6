// `switchboard bench switch`: what the switch model costs, measured in one run with the switch
// processing a stream of packets from a source host to sink hosts.
//   fusedVsStaged           packets/s of the fused pipeline ÷ the staged one, local mode (real time, nact)
//   fusedVsStagedIsolated   the same with source and sinks on the switch's host (no network crossing)
//   fusedVsStagedSim        the same in sim mode
//   fusedVsBareFunctions    fused pipeline in sim ÷ calling the same parser, stage and deparser
//                           functions directly in a loop: what the actors, the scheduler, the
//                           network and the traffic manager add
//   sequencerVsForwarding   the OUM sequencer ÷ L2 forwarding, both fanning each packet out to the
//                           same 3 hosts (fused, sim): stamping should be nearly free
import { behavior, runLocal, runSim, type ActorRef, type Behavior, type Msg } from '../actors/index.ts';
import type { OumMessage } from '../apps/oum/messages.ts';
import {
  BROADCAST_MAC, DeparserUnit, l2Forwarding, l2Setup, oumMulticastGroup, oumSequencer, ParserUnit, rack, StageRuntime, stageChain,
  stageChainSetup, type Frame, type SwitchMode, type SwitchProgram, type SwitchSetup,
} from '../switch-model/index.ts';
import type { BenchOptions, BenchResult } from './types.ts';

// ---- source and sinks ---------------------------------------------------------------------------

interface Go { readonly type: 'Go' }
interface Next { readonly type: 'Next' }

interface SourceConfig {
  readonly to: ActorRef<Msg>;
  readonly total: number;
  /** Messages per burst, and the pause between bursts (virtual time in sim; 0 = yield only). */
  readonly burst: number;
  readonly gapMs: number;
  readonly make: (i: number) => Msg;
}

/** Sends `total` messages in bursts, paced so that the switch's queues never overflow. */
function source(cfg: SourceConfig): Behavior<{ sent: number }, Go | Next> {
  return behavior<{ sent: number }, Go | Next>({
    init: () => ({ sent: 0 }),
    receive: (s, _msg, ctx) => {
      const end = Math.min(cfg.total, s.sent + cfg.burst);
      for (let i = s.sent; i < end; i++) ctx.send(cfg.to, cfg.make(i));
      if (end < cfg.total) {
        if (cfg.gapMs > 0) ctx.startTimer('next', cfg.gapMs, { type: 'Next' });
        else ctx.send(ctx.self, { type: 'Next' });
      }
      return { sent: end };
    },
  });
}

/** Counts what arrives; calls `onDone` when `expected` have. */
function sink(counter: { n: number }, expected: number, onDone: () => void): Behavior<null, Msg> {
  return behavior<null, Msg>({
    init: () => null,
    receive: (s) => {
      if (++counter.n === expected) onDone();
      return s;
    },
  });
}

// ---- a stream through a rack ----------------------------------------------------------------------

type Workload = 'chain' | 'l2' | 'sequencer';

interface StreamRun {
  readonly workload: Workload;
  readonly mode: SwitchMode;
  readonly runtime: 'sim' | 'local';
  readonly packets: number;
  /**
   * Source and sinks on the switch's own host: the stream enters and leaves the switch without
   * crossing the simulated network, so only the switch's own machinery is measured.
   */
  readonly isolated?: boolean;
}

const PAYLOAD_BYTES = 100;
/** Hosts that receive each packet of the fan-out workloads (l2 flood, sequencer group). */
const FANOUT = 3;

function streamTopology(run: StreamRun, onDone: () => void) {
  const nHosts = run.workload === 'chain' ? 2 : 1 + FANOUT;
  const program: SwitchProgram<any> = run.workload === 'chain' ? stageChain() : run.workload === 'l2' ? l2Forwarding() : oumSequencer();
  const r = rack({
    hosts: nHosts, program, mode: run.mode, peer: (h) => (run.isolated ? { host: 'tor', path: `at-${h}` } : { host: h, path: 'sink' }),
    setup: (hs): SwitchSetup => {
      if (run.workload === 'chain') return stageChainSetup([{ mac: hs[1]!.mac, port: 1 }]);
      if (run.workload === 'l2') return l2Setup(hs, hs.length);
      const members = hs.slice(1).map((h) => h.port);
      return {
        entries: [{ table: 'groups', match: [0], action: 'sequence', params: { counter: 0, mgid: oumMulticastGroup(0) } }],
        multicast: [{ group: oumMulticastGroup(0), ports: members }],
        registers: [{ register: 'session', index: 0, value: 1 }],
      };
    },
  });
  const [src, ...sinks] = r.hosts;
  const expected = run.workload === 'chain' ? run.packets : run.packets * FANOUT;
  const counter = { n: 0 };
  for (const h of sinks) r.topology.actor(h.peer.host, h.peer.path, sink(counter, expected, onDone));
  const dstMac = run.workload === 'chain' ? sinks[0]!.mac : BROADCAST_MAC;
  const make = run.workload === 'sequencer'
    ? (i: number): Msg => ({ type: 'Request', op: i, clientId: 1, clientReqId: i, sizeBytes: PAYLOAD_BYTES, oum: { group: 0, sessionNum: 0, msgNum: 0 } } as OumMessage<Msg>)
    : (i: number): Msg => ({ type: 'Frame', ethSrc: src!.mac, ethDst: dstMac, sizeBytes: PAYLOAD_BYTES, payload: { type: 'Data', seq: i } } as Frame);
  // In sim, bursts are paced at 80% of the 100 Gb/s line rate, so queues stay short.
  const burst = 64;
  const gapMs = run.runtime === 'sim' ? (burst * PAYLOAD_BYTES * 8) / (100e6 * 0.8) : 0;
  // The source sends to the switch's address, which places it on its host's port (port 0); in
  // isolated runs it is the actor at the switch end of port 0's cable.
  const at = run.isolated ? src!.peer : { host: src!.name, path: 'source' };
  const go = r.topology.actor(at.host, at.path, source({ to: r.switch.address, total: run.packets, burst, gapMs, make }));
  return { topology: r.topology, go, counter, expected };
}

/** Input packets per wall-clock second through the switch. */
export async function streamPktsPerSec(run: StreamRun): Promise<number> {
  if (run.runtime === 'sim') {
    const s = streamTopology(run, () => {});
    const sim = runSim(s.topology, { seed: 1, trace: false, logLevel: 'warn' });
    sim.send(s.go, { type: 'Go' });
    const t0 = performance.now();
    sim.runUntilIdle();
    const ms = performance.now() - t0;
    if (s.counter.n !== s.expected) throw new Error(`bench switch: ${run.workload}/${run.mode}/sim delivered ${s.counter.n} of ${s.expected}`);
    return (run.packets / ms) * 1000;
  }
  let done!: () => void;
  const finished = new Promise<void>((res) => { done = res; });
  const s = streamTopology(run, () => done());
  const rt = runLocal(s.topology, { logLevel: 'warn' });
  const t0 = performance.now();
  rt.send(s.go, { type: 'Go' });
  const timeout = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 60_000).unref());
  const outcome = await Promise.race([finished, timeout]);
  const ms = performance.now() - t0;
  await rt.shutdown();
  if (outcome === 'timeout') throw new Error(`bench switch: ${run.workload}/${run.mode}/local delivered ${s.counter.n} of ${s.expected} in 60 s`);
  return (run.packets / ms) * 1000;
}

/** The same parser, stage and deparser code, called directly in a loop: no actors, no network. */
export function barePktsPerSec(n: number): number {
  const program = stageChain();
  const setup = stageChainSetup([{ mac: 0x020000000002, port: 1 }]);
  const parser = new ParserUnit(program, 2);
  const stages = program.ingress.map((s) => {
    const rt = new StageRuntime(program, s);
    for (const e of setup.entries ?? []) {
      for (const t of rt.tables.values()) if (t.name === e.table) t.insert(e.match, { action: e.action, params: e.params });
    }
    return rt;
  });
  const deparser = new DeparserUnit(program, 2);
  let delivered = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const msg: Frame = { type: 'Frame', ethSrc: 0x020000000001, ethDst: 0x020000000002, sizeBytes: PAYLOAD_BYTES, payload: { type: 'Data', seq: i } as Msg };
    const pkt = parser.parse({ type: 'Rx', port: 0, msg, atMs: 0 })!;
    for (let j = 0; j < stages.length; j++) stages[j]!.run(pkt);
    if (deparser.emit(pkt) !== undefined) delivered++;
  }
  const ms = performance.now() - t0;
  if (delivered !== n) throw new Error(`bench switch: bare loop delivered ${delivered} of ${n}`);
  return (n / ms) * 1000;
}

// ---- the benchmark --------------------------------------------------------------------------------

interface Summary { min: number; median: number; max: number; runs: number[] }

function summarise(runs: number[]): Summary {
  const s = [...runs].sort((a, b) => a - b);
  return { min: Math.round(s[0]!), median: Math.round(s[Math.floor(s.length / 2)]!), max: Math.round(s[s.length - 1]!), runs: runs.map(Math.round) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Run every case once per round, round after round, after one warm-up round that is not
 * counted: the cases of a ratio are measured side by side, so a machine that is busier for a
 * while (other processes, the JIT) skews both alike.
 */
async function rounds<K extends string>(reps: number, cases: Record<K, () => Promise<number> | number>, say: (l: string) => void): Promise<Record<K, number[]>> {
  const out = {} as Record<K, number[]>;
  const keys = Object.keys(cases) as K[];
  for (const k of keys) out[k] = [];
  for (let r = 0; r <= reps; r++) {
    say(r === 0 ? 'warm-up round ...' : `round ${r} of ${reps} ...`);
    for (const k of keys) {
      const v = await cases[k]();
      if (r > 0) out[k].push(v);
    }
  }
  return out;
}

export async function benchSwitch(opts: BenchOptions): Promise<BenchResult> {
  const q = opts.quick;
  const reps = q ? 3 : 7;
  const say = opts.progress ?? (() => {});
  const nSim = q ? 20_000 : 100_000;
  const nLocal = q ? 15_000 : 60_000;
  const nBare = q ? 100_000 : 500_000;
  const nFan = q ? 15_000 : 60_000;
  const chain = (mode: SwitchMode, runtime: 'sim' | 'local', isolated = false) =>
    () => streamPktsPerSec({ workload: 'chain', mode, runtime, packets: runtime === 'sim' ? nSim : nLocal, isolated });
  const fan = (workload: Workload, mode: SwitchMode) => () => streamPktsPerSec({ workload, mode, runtime: 'sim', packets: nFan });

  const m = await rounds(reps, {
    simStaged: chain('staged', 'sim'),
    simFused: chain('fused', 'sim'),
    simStagedIsolated: chain('staged', 'sim', true),
    simFusedIsolated: chain('fused', 'sim', true),
    bare: () => barePktsPerSec(nBare),
    localStaged: chain('staged', 'local'),
    localFused: chain('fused', 'local'),
    localStagedIsolated: chain('staged', 'local', true),
    localFusedIsolated: chain('fused', 'local', true),
    sequencerFused: fan('sequencer', 'fused'),
    l2Fused: fan('l2', 'fused'),
    sequencerStaged: fan('sequencer', 'staged'),
    l2Staged: fan('l2', 'staged'),
  }, say);

  // The median over rounds of each round's ratio.
  const ratio = (a: number[], b: number[]): number => Math.round(median(a.map((x, i) => x / b[i]!)) * 100) / 100;
  return {
    name: 'switch',
    config: {
      quick: q, rounds: reps, simPackets: nSim, localPackets: nLocal, barePackets: nBare, fanoutPackets: nFan,
      pipeline: '12 ingress stages: 11 exact-match tables (one with a register), then an exact-match forwarding table',
      payloadBytes: PAYLOAD_BYTES, fanout: FANOUT, simTrace: false, simPacing: '64-packet bursts at 80% of the 100 Gb/s line rate',
      isolated: 'source and sinks on the switch host: the stream crosses no network (simulated or in-process)',
      entry: "sources send to the switch's address (the ingress port is the sender's), not through a port actor",
      bare: 'parser, the 12 stages and the deparser called in a loop (no actors, no traffic manager, no network)',
      ratios: 'median over rounds of the ratio of the two cases, measured side by side',
      node: process.version, note: 'input packets per wall-clock second',
    },
    results: {
      simStagedPktsPerSec: summarise(m.simStaged), simFusedPktsPerSec: summarise(m.simFused),
      simStagedIsolatedPktsPerSec: summarise(m.simStagedIsolated), simFusedIsolatedPktsPerSec: summarise(m.simFusedIsolated),
      bareFunctionsPktsPerSec: summarise(m.bare),
      localStagedPktsPerSec: summarise(m.localStaged), localFusedPktsPerSec: summarise(m.localFused),
      localStagedIsolatedPktsPerSec: summarise(m.localStagedIsolated), localFusedIsolatedPktsPerSec: summarise(m.localFusedIsolated),
      sequencerFusedPktsPerSec: summarise(m.sequencerFused), l2ForwardingFusedPktsPerSec: summarise(m.l2Fused),
      sequencerStagedPktsPerSec: summarise(m.sequencerStaged), l2ForwardingStagedPktsPerSec: summarise(m.l2Staged),
    },
    ratios: {
      fusedVsStaged: ratio(m.localFused, m.localStaged),
      fusedVsStagedIsolated: ratio(m.localFusedIsolated, m.localStagedIsolated),
      fusedVsStagedSim: ratio(m.simFused, m.simStaged),
      fusedVsStagedSimIsolated: ratio(m.simFusedIsolated, m.simStagedIsolated),
      fusedVsBareFunctions: ratio(m.simFusedIsolated, m.bare),
      fusedVsBareFunctionsWithNetwork: ratio(m.simFused, m.bare),
      sequencerVsForwarding: ratio(m.sequencerFused, m.l2Fused),
      sequencerVsForwardingStaged: ratio(m.sequencerStaged, m.l2Staged),
    },
  };
}
