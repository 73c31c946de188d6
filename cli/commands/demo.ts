// `switchboard demo`, the main job (`npm start`). First NOPaxos in the simulator under faults
// (a leader crash, a sequencer failure, a controller restart, packet loss) and Pegasus under rkey churn and a server
// crash, both checked for linearizability; then the
// runtime itself: one ping-pong topology run in sim (twice, to show the trace hash is the
// same), in local mode, and across two child processes over WebSocket and over UDP
// (`switchboard node` on a topology file, as docs/deploy.md describes).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { runLocal } from '../../actors/index.ts';
import { exportTopologyFile, formatTopologyFile } from '../../actors/topology-file.ts';
import type { PingerState } from '../../apps/pingpong/pingpong.ts';
import { pingPongTopology } from '../../apps/pingpong/topology.ts';
import { freePorts, freshSecret, startNode } from '../../bench/children.ts';
import { runNopaxosScenario, type FaultPlan } from '../../apps/nopaxos/scenario.ts';
import { builders } from '../builtins.ts';
import { formatFaults, MAX_SEED, parseFaults, parseInteger } from '../options.ts';
import { kvNetworkFaults } from '../kv-scenarios.ts';
import { demoDashboard } from '../../dashboard/demo.ts';
import { PortInUseError } from '../../dashboard/server.ts';
import { UsageError } from '../main.ts';
import { scenarios } from '../scenarios.ts';
import type { TransportName } from '../transports.ts';
import { SECRET_ENV } from './node.ts';

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('the main job: NOPaxos and Pegasus under faults in sim, then one topology in sim, local and distributed mode')
    .option('--quick', 'fewer messages')
    .option('--dashboard', 'instead: run NOPaxos and Pegasus until Ctrl-C and show them live on a page served on 127.0.0.1 (docs/dashboard.md)')
    .option('--port <n>', 'with --dashboard: the page\'s port on 127.0.0.1 (0: any free port)', parseInteger(0, 65_535), 8765)
    .option('--seed <n>', 'with --dashboard: the simulations\' seed', parseInteger(0, MAX_SEED), 1)
    .action(async (opts, cmd: Command) => {
      if (opts.dashboard) return demoDashboard({ port: opts.port, seed: opts.seed }).catch(usageIfPortInUse);
      // Flags of the dashboard alone would be silently ignored: say so instead.
      const stray = ['port', 'seed'].filter((o) => cmd.getOptionValueSource(o) === 'cli');
      if (stray.length > 0) throw new UsageError(`${stray.map((o) => `--${o}`).join(' and ')} ${stray.length > 1 ? 'apply' : 'applies'} only with --dashboard`);
      const ops = opts.quick ? 2000 : 20_000;
      demoNopaxos();
      demoPegasus();
      say('\nThe runtime underneath: a ping-pong topology (pinger on host a, ponger on host b)\n');
      demoSim();
      await demoLocal(ops);
      for (const kind of ['ws', 'udp'] as const) await demoDistributed(kind, ops);
      say('\nDone. Try: switchboard sim pingpong --seed 7 --faults drop=0.1 --json');
    });
}

function demoNopaxos(): void {
  say('NOPaxos (OSDI 2016) in sim mode: 5 replicas, a sequencer with a standby, 3 clients, 1% packet loss;');
  say('the leader crashes at 200 ms and comes back at 900 ms, the sequencer dies at 400 ms, the controller crashes at 600 ms');
  say('and restarts at 650 ms with nothing: it learns the highest session from the replicas and finds the standby in it.');
  const plan: FaultPlan = {
    replicas: 5,
    link: { latencyMs: 0.05, jitterMs: 0.02, dropRate: 0.01 },
    events: [
      { atMs: 200, kind: 'crash', replica: 'leader', id: 1 },
      { atMs: 400, kind: 'crash-sequencer' },
      { atMs: 600, kind: 'crash-controller' },
      { atMs: 650, kind: 'restart-controller' },
      { atMs: 900, kind: 'restart', id: 1 },
    ],
    healAtMs: 1500,
  };
  const t0 = performance.now();
  const r = runNopaxosScenario({ seed: 1, ops: 600, plan });
  const wallMs = Math.round(performance.now() - t0);
  for (const line of r.applied) say(`   ${line}`);
  say(`   ${r.completed}/${r.ops} operations completed in ${Math.round(r.virtualMs)} virtual ms (${wallMs} wall ms); `
    + `${r.stats.viewChanges} view changes, ${r.stats.gapCommits} gap commits, ${r.stats.recoveries} recoveries`);
  say(`   history linearizable: ${r.linearizable === true ? 'yes' : r.linearizable === false ? 'NO' : 'not checked'}; `
    + `invariants: ${r.violations.length === 0 ? 'held at every step' : r.violations.join('; ')}; trace ${r.traceHash}`);
  if (r.linearizable !== true || r.violations.length > 0 || r.completed !== r.ops) process.exitCode = 1;
}

/** The Pegasus demo's seed: a server crash and rkey churn in its plan. */
const PEGASUS_SEED = 4;

function demoPegasus(): void {
  say('\nPegasus (OSDI 2020) in sim mode: an in-switch coherence directory over storage servers in two racks,');
  say('hot keys added to and removed from the directory while clients read and write, a storage server crashing,');
  say(`and the seed's network faults (${formatFaults(kvNetworkFaults(PEGASUS_SEED))}, on 5 µs links):`);
  const r = scenarios.pegasus!.run({ seed: PEGASUS_SEED, ops: 600, faults: {} });
  for (const line of (r.details.plan as string[]).slice(0, 8)) say(`   ${line}`);
  const ctl = r.details.controller as { adds: number; removes: number; failovers: number };
  say(`   ${r.completed}/${r.ops} operations completed in ${r.virtualMs} virtual ms (${Math.round(r.wallMs)} wall ms); `
    + `${ctl.adds} rkey adds, ${ctl.removes} removes, ${ctl.failovers} server failovers`);
  say(`   history linearizable: ${r.linearizable === true ? 'yes' : r.linearizable === false ? 'NO' : 'not checked'}; trace ${r.traceHash}`);
  if (r.linearizable !== true || r.violations.length > 0 || r.completed !== r.ops) process.exitCode = 1;
}

function demoSim(): void {
  const faults = parseFaults('drop=0.05,dup=0.01,jitter=0.05');
  say('1. sim mode: virtual time, seeded faults (5% drop, 1% duplicate, jitter)');
  const runs = [7, 7, 8].map((seed) => scenarios.pingpong!.run({ seed, ops: 1000, faults }));
  for (const r of runs) {
    say(`   seed ${r.seed}: ${r.completed}/${r.ops} pings answered, ${r.details.resent} resent, `
      + `${r.virtualMs} virtual ms in ${r.wallMs} wall ms, trace ${r.traceHash}`);
  }
  const same = runs[0]!.traceHash === runs[1]!.traceHash;
  say(`   same seed, same trace: ${same ? 'yes' : 'NO (non-determinism!)'}; another seed, another trace: ${runs[0]!.traceHash !== runs[2]!.traceHash ? 'yes' : 'no'}`);
  if (!same) process.exitCode = 1;
}

async function demoLocal(ops: number): Promise<void> {
  say('2. local mode: the same topology, one process, real time, nact mailboxes');
  const pp = pingPongTopology({ count: ops, window: 64 });
  const rt = runLocal(pp.topology);
  const t0 = performance.now();
  let s: PingerState | undefined;
  while (!(s = rt.stateOf<PingerState>(pp.pinger))?.finishedAtMs) {
    if (performance.now() - t0 > 30_000) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  await rt.shutdown();
  const ms = performance.now() - t0;
  say(`   ${s?.answered ?? 0}/${ops} pings answered in ${ms.toFixed(0)} ms (${Math.round(((s?.answered ?? 0) / ms) * 1000)} round trips/s)`);
  if (s?.answered !== ops) process.exitCode = 1;
}

async function demoDistributed(kind: TransportName, ops: number): Promise<void> {
  say(`${kind === 'ws' ? 3 : 4}. distributed mode over ${kind === 'ws' ? 'WebSocket' : 'UDP'}: hosts a and b as two child processes on loopback, authenticated with a cluster secret`);
  // The same topology file `switchboard topology export pingpong` writes, on ports free now.
  const file = exportTopologyFile(builders, {
    builder: 'pingpong', params: { count: ops, window: 64 }, transport: kind, basePort: 1, secret: { env: SECRET_ENV },
  });
  const hosts = Object.values(file.hosts);
  const ports = await freePorts(kind === 'ws' ? 'tcp' : 'udp', hosts.length);
  hosts.forEach((h, i) => { h.port = ports[i]!; });
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-demo-'));
  const path = join(dir, 'pingpong.json');
  writeFileSync(path, formatTopologyFile(file));
  const env = { [SECRET_ENV]: freshSecret() };
  const b = startNode(['--topology', path, '--host', 'b'], env);
  const a = startNode(['--topology', path, '--host', 'a', '--exit-when-done'], env);
  try {
    await b.next('ready', 15_000);
    const done = await a.next('finished', 60_000);
    const stats = done.transportStats as { sentFrames: number; sentEnvelopes: number };
    say(`   ${done.answered}/${ops} pings answered in ${done.elapsedMs} ms (${done.pingsPerSec} round trips/s, mean RTT ${done.meanRttMs} ms), `
      + `${done.resent} resent; ${stats.sentEnvelopes} envelopes in ${stats.sentFrames} frames`);
  } catch (err) {
    say(`   FAILED: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    await Promise.all([a.kill(), b.kill()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A dashboard port in use is a usage error: one line, exit 2. */
export function usageIfPortInUse(err: unknown): never {
  throw err instanceof PortInUseError ? new UsageError(err.message) : err;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
