// `switchboard bench switch`: what the switch model costs, measured in one run with the switch
// processing a stream of packets from a source host to sink hosts.
//   fusedVsStaged           packets/s of the fused pipeline ÷ the staged one, local mode (real time, nact)
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
    hosts: nHosts, program, mode: run.mode, peer: (h) => (run.isolated ? { host: 'tor', path: `sink-${h}` } : { host: h, path: 'sink' }),
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
  const go = r.topology.actor(run.isolated ? r.switchHost : src!.name, 'source', source({ to: src!.ingress, total: run.packets, burst, gapMs, make }));
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

async function repeat(times: number, f: () => Promise<number> | number): Promise<Summary> {
  const runs: number[] = [];
  for (let i = 0; i < times; i++) runs.push(await f());
  return summarise(runs);
}

export async function benchSwitch(opts: BenchOptions): Promise<BenchResult> {
  const q = opts.quick;
  const reps = q ? 3 : 5;
  const say = opts.progress ?? (() => {});
  const nSim = q ? 30_000 : 150_000;
  const nLocal = q ? 20_000 : 100_000;
  const nBare = q ? 200_000 : 1_000_000;
  const nFan = q ? 20_000 : 100_000;

  say('warm-up ...');
  await streamPktsPerSec({ workload: 'chain', mode: 'fused', runtime: 'sim', packets: 5_000 });
  await streamPktsPerSec({ workload: 'chain', mode: 'staged', runtime: 'sim', packets: 5_000 });
  barePktsPerSec(20_000);
  say('12-stage pipeline in sim mode ...');
  const simStaged = await repeat(reps, () => streamPktsPerSec({ workload: 'chain', mode: 'staged', runtime: 'sim', packets: nSim }));
  const simFused = await repeat(reps, () => streamPktsPerSec({ workload: 'chain', mode: 'fused', runtime: 'sim', packets: nSim }));
  say('bare stage functions ...');
  const bare = await repeat(reps, () => barePktsPerSec(nBare));
  say('12-stage pipeline in local mode ...');
  const localStaged = await repeat(reps, () => streamPktsPerSec({ workload: 'chain', mode: 'staged', runtime: 'local', packets: nLocal }));
  const localFused = await repeat(reps, () => streamPktsPerSec({ workload: 'chain', mode: 'fused', runtime: 'local', packets: nLocal }));
  say('sequencer and L2 forwarding ...');
  const seqFused = await repeat(reps, () => streamPktsPerSec({ workload: 'sequencer', mode: 'fused', runtime: 'sim', packets: nFan }));
  const l2Fused = await repeat(reps, () => streamPktsPerSec({ workload: 'l2', mode: 'fused', runtime: 'sim', packets: nFan }));
  const seqStaged = await repeat(reps, () => streamPktsPerSec({ workload: 'sequencer', mode: 'staged', runtime: 'sim', packets: nFan }));
  const l2Staged = await repeat(reps, () => streamPktsPerSec({ workload: 'l2', mode: 'staged', runtime: 'sim', packets: nFan }));

  const ratio = (a: Summary, b: Summary): number => Math.round((a.median / b.median) * 100) / 100;
  return {
    name: 'switch',
    config: {
      quick: q, repetitions: reps, simPackets: nSim, localPackets: nLocal, barePackets: nBare, fanoutPackets: nFan,
      pipeline: '12 ingress stages: 11 exact-match tables (one with a register), then an exact-match forwarding table',
      payloadBytes: PAYLOAD_BYTES, fanout: FANOUT, simTrace: false, simPacing: '64-packet bursts at 80% of 100 Gb/s line rate',
      node: process.version, note: 'medians of the runs; input packets per wall-clock second',
    },
    results: {
      simStagedPktsPerSec: simStaged, simFusedPktsPerSec: simFused,
      localStagedPktsPerSec: localStaged, localFusedPktsPerSec: localFused,
      bareFunctionsPktsPerSec: bare,
      sequencerFusedPktsPerSec: seqFused, l2ForwardingFusedPktsPerSec: l2Fused,
      sequencerStagedPktsPerSec: seqStaged, l2ForwardingStagedPktsPerSec: l2Staged,
    },
    ratios: {
      fusedVsStaged: ratio(localFused, localStaged),
      fusedVsStagedSim: ratio(simFused, simStaged),
      fusedVsBareFunctions: ratio(simFused, bare),
      sequencerVsForwarding: ratio(seqFused, l2Fused),
      sequencerVsForwardingStaged: ratio(seqStaged, l2Staged),
    },
  };
}
