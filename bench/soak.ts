// The soak run (`npm run soak`): a NOPaxos cluster over UDP, one process per host on loopback,
// under a steady closed-loop load for 10 minutes (--minutes N). Every --sample-s seconds it
// prints the throughput of the last interval and each process's resident memory; at the end a
// summary (and with --json one object {name, config, results, ratios} as the benchmarks do).
// Exit 1 if a host died, the load stalled (an interval without a completed operation), or a
// process's memory went over --max-rss-mb.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { exportTopologyFile, formatTopologyFile } from '../actors/topology-file.ts';
import { builders } from '../cli/builtins.ts';
import { parseChoice, parseInteger, parseNumber } from '../cli/options.ts';
import { BIN, freePort, freshSecret } from './children.ts';

const SECRET_ENV = 'SWITCHBOARD_SECRET';

/** A bad flag: one line and exit 2, as the switchboard command does. */
function usage(message: string): never {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        minutes: { type: 'string', default: '10' },
        'sample-s': { type: 'string', default: '10' },
        clients: { type: 'string', default: '2' },
        'think-ms': { type: 'string', default: '1' },
        transport: { type: 'string', default: 'udp' },
        'max-rss-mb': { type: 'string', default: '768' },
        json: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
}

/** A flag's value through one of the command line's parsers, or exit 2 naming the flag. */
function flag<T>(name: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    return usage(`--${name}: ${(err as Error).message}`);
  }
}

const args = parseFlags();
const minutes = flag('minutes', args.minutes, parseNumber(0.01, 7 * 24 * 60));
const sampleMs = flag('sample-s', args['sample-s'], parseNumber(0.1, 3600)) * 1000;
const clients = flag('clients', args.clients, parseInteger(1, 64));
const maxRssMb = flag('max-rss-mb', args['max-rss-mb'], parseNumber(16, 1 << 20));
const transport = flag('transport', args.transport, parseChoice(['udp', 'ws'] as const));

interface Host {
  readonly name: string;
  readonly proc: ChildProcess;
  status: Record<string, number>;
  exited: string | undefined;
  maxRssMb: number;
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<number> {
  const params = { replicas: 3, sequencers: 2, clients, cliClients: 0, ops: 100_000_000, thinkMs: flag('think-ms', args['think-ms'], parseNumber(0, 10_000)), history: false, finalReads: false, keys: 100 };
  const file = exportTopologyFile(builders, { builder: 'nopaxos', params, transport, basePort: 1, secret: { env: SECRET_ENV } });
  for (const h of Object.values(file.hosts)) h.port = await freePort(transport === 'udp' ? 'udp' : 'tcp');
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-soak-'));
  const path = join(dir, 'nopaxos.json');
  writeFileSync(path, formatTopologyFile(file));
  const env = { ...process.env, [SECRET_ENV]: freshSecret() };
  const hosts: Host[] = [];
  const start = (name: string): void => {
    const proc = spawn(process.execPath, [BIN, 'node', '--topology', path, '--host', name, '--status-every', '1000'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    const h: Host = { name, proc, status: {}, exited: undefined, maxRssMb: 0 };
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const ev = JSON.parse(line) as Record<string, unknown>;
        if (ev.event === 'status') h.status = Object.fromEntries(Object.entries(ev).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
      } catch {
        // not a JSON line
      }
    });
    proc.on('exit', (code, signal) => { h.exited = signal ?? `exit ${code}`; });
    hosts.push(h);
  };
  const say = (line: string): void => { process.stderr.write(`[soak] ${line}\n`); };
  const names = Object.keys(file.hosts);
  const servers = names.filter((n) => !/^c\d/.test(n) && n !== 'ctrl');
  for (const n of servers) start(n);
  await new Promise((r) => setTimeout(r, 5000));
  for (const n of names.filter((x) => !servers.includes(x))) start(n);
  say(`NOPaxos over ${transport}: ${names.length} processes (${names.join(', ')}), ${clients} closed-loop clients, ${minutes} min`);

  const completed = (): number => hosts.filter((h) => /^c\d/.test(h.name)).reduce((n, h) => n + (h.status.completed ?? 0), 0);
  // The clock starts with the first completed operation (processes take seconds to start).
  const warmUntil = Date.now() + 60_000;
  while (completed() === 0 && Date.now() < warmUntil) await new Promise((r) => setTimeout(r, 100));
  const timeline: { atS: number; opsPerSec: number; rssMb: Record<string, number> }[] = [];
  const failures: string[] = [];
  const t0 = Date.now();
  let last = completed();
  let lastAt = Date.now();
  const endAt = t0 + minutes * 60_000;
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.min(sampleMs, Math.max(0, endAt - Date.now()))));
    const now = Date.now();
    const c = completed();
    const opsPerSec = Math.round(((c - last) / Math.max(1, now - lastAt)) * 1000);
    const rss: Record<string, number> = {};
    for (const h of hosts) {
      rss[h.name] = rssMb(h.proc.pid);
      h.maxRssMb = Math.max(h.maxRssMb, rss[h.name]!);
    }
    timeline.push({ atS: Math.round((now - t0) / 1000), opsPerSec, rssMb: rss });
    say(`${Math.round((now - t0) / 1000)} s: ${opsPerSec} ops/s (${c} completed); RSS MB ${Object.entries(rss).map(([h, m]) => `${h} ${m}`).join(', ')}`);
    if (c === last && timeline.length > 1) failures.push(`no operation completed between ${timeline.at(-2)!.atS} s and ${timeline.at(-1)!.atS} s`);
    last = c;
    lastAt = now;
    for (const h of hosts) if (h.exited) failures.push(`${h.name} died (${h.exited})`);
    if (failures.some((f) => f.includes('died'))) break;
  }
  for (const h of hosts) h.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 2000));
  for (const h of hosts) if (!h.exited) h.proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });

  for (const h of hosts) if (h.maxRssMb > maxRssMb) failures.push(`${h.name} reached ${h.maxRssMb} MB resident (bound ${maxRssMb} MB)`);
  const rates = timeline.map((s) => s.opsPerSec);
  const mean = rates.length ? Math.round(rates.reduce((a, b) => a + b, 0) / rates.length) : 0;
  const result = {
    name: 'soak',
    config: { protocol: 'nopaxos', transport, minutes, clients, thinkMs: params.thinkMs, sampleS: sampleMs / 1000, maxRssMb },
    results: {
      completed: completed(), meanOpsPerSec: mean, minOpsPerSec: Math.min(...rates), maxOpsPerSec: Math.max(...rates),
      maxRssMb: Object.fromEntries(hosts.map((h) => [h.name, h.maxRssMb])), timeline, failures,
    },
    ratios: { lastVsFirstIntervalThroughput: rates.length > 1 && rates[0]! > 0 ? Math.round((rates.at(-1)! / rates[0]!) * 100) / 100 : 0 },
  };
  say(`${completed()} operations, ${mean} ops/s mean (min ${result.results.minOpsPerSec}, max ${result.results.maxOpsPerSec}); `
    + `max RSS MB ${hosts.map((h) => `${h.name} ${h.maxRssMb}`).join(', ')}`);
  say(failures.length ? `FAILED: ${failures.join('; ')}` : 'ok');
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
