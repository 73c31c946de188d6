// `switchboard bench distributed`: NOPaxos, Multi-Paxos and unreplicated in real processes on
// loopback, one process per host (as `switchboard launch` runs them), over UDP, and NOPaxos over
// WebSocket too. Each configuration runs with a growing number of closed-loop client hosts
// (one operation outstanding each); its peak throughput is the best of those runs, with the
// median latency and the p99 of that run. Latencies: the median is the median of the clients'
// medians, the p99 the worst client's p99.
//
// The servers start first and the clients only once every server is up: starting a process
// takes seconds of CPU on a loaded machine, and a client timed from before its servers were up
// would count their start-up as its own latency.
//
// Ratios, measured in this run: nopaxosVsPaxosThroughput and nopaxosVsUnreplicatedThroughput
// (peaks over UDP), nopaxosWsVsUdpThroughput. Every process shares this machine's cores, so the
// figures say how the protocols compare when the CPU is the bottleneck, not what a cluster of
// machines would do.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exportTopologyFile, formatTopologyFile, type TransportName } from '../actors/topology-file.ts';
import { until } from '../cli/builders/common.ts';
import { builders } from '../cli/builtins.ts';
import { Launcher } from '../cli/launcher.ts';
import { freePorts, freshSecret } from './children.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const SECRET_ENV = 'SWITCHBOARD_SECRET';

interface Config {
  readonly name: string;
  readonly builder: 'nopaxos' | 'paxos' | 'unreplicated';
  readonly transport: TransportName;
  readonly params: Record<string, unknown>;
}

export interface RunFigures {
  readonly clients: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly completed: number;
  readonly retries: number;
  readonly wallMs: number;
}

const CONFIGS: readonly Config[] = [
  { name: 'nopaxos-udp', builder: 'nopaxos', transport: 'udp', params: { replicas: 3, sequencers: 1 } },
  { name: 'paxos-udp', builder: 'paxos', transport: 'udp', params: { replicas: 3 } },
  { name: 'unreplicated-udp', builder: 'unreplicated', transport: 'udp', params: {} },
  { name: 'nopaxos-ws', builder: 'nopaxos', transport: 'ws', params: { replicas: 3, sequencers: 1 } },
];

/** One run: the configuration with `clients` client hosts doing `ops` operations each. */
async function runOnce(cfg: Config, clients: number, ops: number): Promise<RunFigures> {
  const params = { ...cfg.params, clients, ops, cliClients: 0, history: false, finalReads: false, keys: 100 };
  const file = exportTopologyFile(builders, { builder: cfg.builder, params, transport: cfg.transport, basePort: 1, secret: { env: SECRET_ENV } });
  const hosts = Object.values(file.hosts);
  const ports = await freePorts(cfg.transport === 'udp' ? 'udp' : 'tcp', hosts.length);
  hosts.forEach((h, i) => { h.port = ports[i]!; });
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const path = join(dir, 'topology.json');
  writeFileSync(path, formatTopologyFile(file));
  const tail: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) tail.push(line);
      tail.splice(0, Math.max(0, tail.length - 40));
      cb();
    },
  });
  const env = { [SECRET_ENV]: freshSecret() };
  const launcherOf = (hosts: string[]): Launcher => new Launcher({
    name: cfg.name, transport: cfg.transport, file: path,
    hosts: hosts.map((name) => ({ name, address: file.hosts[name]!.address, port: file.hosts[name]!.port })),
    statusEveryMs: 0, graceMs: 2000, timeoutMs: 120_000, out: sink, err: sink, tty: false, env,
  });
  const isClient = (h: string): boolean => /^c\d+$/.test(h);
  const servers = launcherOf(Object.keys(file.hosts).filter((h) => !isClient(h)));
  try {
    servers.start();
    const failed = (what: string): Error => new Error(`${cfg.name} with ${clients} clients: ${what}\n${tail.join('\n')}`);
    const ended = servers.done.then((r) => { throw failed(`a server ended before all were up: ${r.reason}`); });
    ended.catch(() => {}); // raced below; once the servers are up, their end is ours (finally)
    await Promise.race([until(() => servers.hostStates().every((h) => h.state === 'up'), SERVERS_UP_MS, 'servers up'), ended]);
    const clientRun = launcherOf(Object.keys(file.hosts).filter(isClient));
    clientRun.start();
    const result = await clientRun.done;
    if (result.exitCode !== 0) throw failed(result.reason);
    const finished = Object.values(result.hosts).map((h) => h.finished).filter((f): f is Record<string, unknown> => f !== undefined);
    let completed = 0;
    let retries = 0;
    let opsPerSec = 0;
    const p50s: number[] = [];
    let p99 = 0;
    for (const f of finished) {
      completed += f.completed as number;
      retries += f.retries as number;
      // Clients start within a moment of each other: the sum of their rates is the cluster's.
      opsPerSec += f.opsPerSec as number;
      const l = f.latencyMs as { p50: number; p99: number };
      p50s.push(l.p50);
      p99 = Math.max(p99, l.p99);
    }
    p50s.sort((a, b) => a - b);
    return {
      clients, opsPerSec: Math.round(opsPerSec), p50Ms: p50s[Math.floor(p50s.length / 2)] ?? 0, p99Ms: p99, completed, retries, wallMs: result.wallMs,
    };
  } finally {
    servers.stop('jobs');
    await servers.done;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Servers get this long to come up. */
const SERVERS_UP_MS = 60_000;

export async function benchDistributed(opts: BenchOptions): Promise<BenchResult> {
  const say = opts.progress ?? (() => {});
  // Quick: one run per configuration, as few processes as show the protocols at work; starting
  // a process (loading the TypeScript sources) costs ~1.5 s of CPU, most of a quick run.
  const clientCounts = opts.quick ? [2] : [1, 2, 4, 6];
  const ops = opts.quick ? 600 : 5000;
  const results: Record<string, { peak: RunFigures; runs: RunFigures[] }> = {};
  for (const cfg of CONFIGS) {
    const runs: RunFigures[] = [];
    for (const clients of clientCounts) {
      const r = await runOnce(cfg, clients, ops);
      say(`${cfg.name}: ${clients} clients: ${r.opsPerSec} ops/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.retries} retries, ${(r.wallMs / 1000).toFixed(1)} s)`);
      runs.push(r);
    }
    const peak = runs.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
    results[cfg.name] = { peak, runs };
  }
  const peak = (name: string): number => results[name]!.peak.opsPerSec;
  const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);
  return {
    name: 'distributed',
    config: {
      quick: opts.quick, clientCounts, opsPerClient: ops, replicas: 3, keys: 100,
      processes: 'one per host on loopback (switchboard node), sharing this machine\'s cores',
    },
    results: Object.fromEntries(Object.entries(results).map(([name, r]) => [name, {
      peakOpsPerSec: r.peak.opsPerSec, clientsAtPeak: r.peak.clients, p50Ms: r.peak.p50Ms, p99Ms: r.peak.p99Ms, runs: r.runs,
    }])),
    ratios: {
      nopaxosVsPaxosThroughput: ratio(peak('nopaxos-udp'), peak('paxos-udp')),
      nopaxosVsUnreplicatedThroughput: ratio(peak('nopaxos-udp'), peak('unreplicated-udp')),
      nopaxosWsVsUdpThroughput: ratio(peak('nopaxos-ws'), peak('nopaxos-udp')),
    },
  };
}
