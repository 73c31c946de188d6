// `switchboard launch --topology FILE`: every host of a topology file as a local child process
// on loopback (see cli/launcher.ts). Exit code: 0 when every host with a job finished it, 1 if
// a host crashed (or every host ended, or --timeout passed, before the jobs were done), 130 when
// stopped by Ctrl-C/SIGTERM before then, 2 for a bad file or flag.
//
// Hosts whose role is 'cli' (kept for `switchboard kv`) are not started. With --check, every
// host writes the history its clients recorded (SWITCHBOARD_HISTORY_DIR), and at the end the
// histories are merged and checked for linearizability: exit 1 if they are not.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatTopologyFile, type TopologyFile, type TransportName } from '../../actors/topology-file.ts';
import { Launcher, type LaunchResult } from '../launcher.ts';
import { checkHistory, decodeHistory } from '../../apps/linearizability/checker.ts';
import { formatJsonHistory, parseJsonHistory, type History } from '../../apps/linearizability/history.ts';
import { kvModel } from '../../apps/linearizability/models.ts';
import { parseChoice, parseInteger } from '../options.ts';
import { freePorts } from '../../transport/free-ports.ts';
import { isLoopbackAddress, secretOf, tlsOf, TRANSPORTS } from '../transports.ts';
import { HISTORY_DIR_ENV, loadFile } from './node.ts';
import { CLOCK_ANCHOR_ENV, takeAnchor } from '../history-clock.ts';
import { launchDashboard } from '../../dashboard/launch.ts';
import { usageIfPortInUse } from './demo.ts';

/** Role of the hosts launch leaves out: kept for ad-hoc clients (`switchboard kv`). */
export const CLI_ROLE = 'cli';
/**
 * Every operation's interval is widened by this much on both sides when histories of several
 * processes are merged: their clocks (one machine's, read through each process's time origin)
 * may disagree by a little, and a wider interval only removes real-time constraints, so the
 * check stays sound for a skew up to twice this.
 */
export const CLOCK_SLACK_MS = 1;
/** The linearizability check gives up (verdict unknown) after this long. */
const CHECK_TIMEOUT_MS = 60_000;

interface LaunchFlags {
  topology: string;
  transport?: TransportName;
  statusEvery?: number;
  graceMs: number;
  timeout?: number;
  json?: boolean;
  check?: boolean;
  historyOut?: string;
  dashboard?: boolean;
  port: number;
}

export function registerLaunch(program: Command): void {
  program.command('launch')
    .description('run every host of a topology file as a local process on loopback, with merged logs and live status')
    .requiredOption('--topology <file>', 'the topology file')
    .option('--transport <kind>', 'ws or udp, instead of the file\'s', parseChoice(TRANSPORTS))
    .option('--status-every <ms>', 'status line period, 0 for none (default: 1000 on a terminal, else 5000)', parseInteger(0, 3_600_000))
    .option('--grace-ms <ms>', 'time hosts get to stop after SIGTERM before SIGKILL', parseInteger(0, 600_000), 5000)
    .option('--timeout <s>', 'stop after this many seconds even if jobs are unfinished (exit 1)', parseInteger(1, 7 * 86_400))
    .option('--json', 'print a JSON summary on stdout at the end (host output then goes to stderr)')
    .option('--check', 'collect the histories the client hosts record and check them for linearizability at the end (exit 1 if not)')
    .option('--history-out <file>', 'with --check: also write the merged history here (the checker\'s JSON format)')
    .option('--dashboard', 'serve a live page of the hosts on 127.0.0.1 (up/down, counters, kill and restart; docs/dashboard.md)')
    .option('--port <n>', 'with --dashboard: the page\'s port on 127.0.0.1 (0: any free port)', parseInteger(0, 65_535), 8765)
    .action(async (opts: LaunchFlags) => {
      const loaded = loadFile(opts.topology);
      let file: TopologyFile = loaded.file;
      const transport = opts.transport ?? file.transport;
      if (transport !== file.transport) {
        if (transport === 'udp' && file.tls) {
          process.stderr.write('[launch] --transport udp: the file\'s TLS files are not used (TLS is for ws)\n');
          const { tls: _tls, ...rest } = file;
          file = rest;
        }
        file = { ...file, transport };
      }
      // Fail here, once, rather than in every child.
      secretOf({ ...loaded, file });
      tlsOf(file.tls);
      file = await onLoopback(file);

      const dir = mkdtempSync(join(tmpdir(), 'switchboard-launch-'));
      const path = join(dir, 'topology.json');
      writeFileSync(path, formatTopologyFile(file));
      const historyDir = join(dir, 'histories');
      if (opts.check) mkdirSync(historyDir);
      const tty = Boolean(process.stderr.isTTY);
      const roleOf = (name: string): string | undefined => loaded.built.topology.hostSpec(name).options.role;
      const skipped = Object.keys(file.hosts).filter((h) => roleOf(h) === CLI_ROLE);
      if (skipped.length) process.stderr.write(`[launch] not started: ${skipped.join(', ')} (kept for \`switchboard kv\`)\n`);
      const launcher = new Launcher({
        name: file.name, transport, file: path,
        hosts: Object.entries(file.hosts).filter(([name]) => roleOf(name) !== CLI_ROLE)
          .map(([name, h]) => ({ name, address: h.address, port: h.port, ...(h.role ? { role: h.role } : {}) })),
        // Every host is on this machine: one clock anchor for all, so that their histories merge
        // on one time base (cli/history-clock.ts).
        ...(opts.check ? { env: { [HISTORY_DIR_ENV]: historyDir, [CLOCK_ANCHOR_ENV]: String(takeAnchor()) } } : {}),
        statusEveryMs: opts.statusEvery ?? (tty ? 1000 : 5000),
        graceMs: opts.graceMs,
        ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
        out: opts.json ? process.stderr : process.stdout,
        err: process.stderr,
        tty,
      });
      const onSignal = (signal: NodeJS.Signals): void => launcher.stop('signal', signal);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let dashboard: Awaited<ReturnType<typeof launchDashboard>> | undefined;
      try {
        if (opts.dashboard) {
          const hosts = Object.keys(file.hosts).filter((h) => roleOf(h) !== CLI_ROLE);
          dashboard = await launchDashboard(launcher, loaded.built.topology, transport, hosts, opts.port).catch(usageIfPortInUse);
        }
        launcher.start();
        let result: LaunchResult & { linearizability?: LinearizabilityReport } = await launcher.done;
        await dashboard?.close();
        if (opts.check) {
          const report = checkHistories(historyDir, opts.historyOut);
          process.stderr.write(`[launch] linearizability: ${report.verdict} (${report.operations} operations from `
            + `${report.hosts.length} host${report.hosts.length === 1 ? '' : 's'}: ${report.hosts.join(', ') || 'none'}`
            + `${report.unknown ? `, ${report.unknown} with unknown outcome` : ''}, checked in ${report.checkMs} ms)`
            + `${report.violation ? `\n[launch]   ${report.violation}` : ''}\n`);
          result = { ...result, linearizability: report };
          if (report.verdict !== 'linearizable' && result.exitCode === 0) {
            result = { ...result, exitCode: 1, reason: `the history is ${report.verdict}` };
          }
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        process.exitCode = result.exitCode;
      } finally {
        await dashboard?.close();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        rmSync(dir, { recursive: true, force: true });
      }
    });
}

export interface LinearizabilityReport {
  readonly verdict: 'linearizable' | 'not-linearizable' | 'unknown';
  readonly operations: number;
  /** Operations whose outcome is unknown (still open when their host stopped). */
  readonly unknown: number;
  /** Hosts whose histories were merged. */
  readonly hosts: string[];
  readonly checkMs: number;
  readonly violation?: string;
  readonly reason?: string;
}

/**
 * Merge the histories the hosts wrote into `dir` (HOST.json, times in ms since the epoch) and
 * check them with the kv model. No history at all is 'unknown'.
 */
export function checkHistories(dir: string, out?: string): LinearizabilityReport {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const hosts = files.map((f) => f.slice(0, -'.json'.length));
  const merged: History<unknown, unknown> = { model: 'kv', operations: [] };
  for (const f of files) {
    const h = parseJsonHistory(readFileSync(join(dir, f), 'utf8'));
    for (const op of h.operations) {
      merged.operations.push({
        ...op, id: 0, invokeTime: op.invokeTime - CLOCK_SLACK_MS, returnTime: op.returnTime === null ? null : op.returnTime + CLOCK_SLACK_MS,
      });
    }
  }
  merged.operations.sort((a, b) => a.invokeTime - b.invokeTime);
  merged.operations.forEach((op, i) => { op.id = i; });
  if (out) writeFileSync(out, formatJsonHistory(merged));
  const unknown = merged.operations.filter((op) => op.returnTime === null).length;
  const base = { operations: merged.operations.length, unknown, hosts };
  if (merged.operations.length === 0) return { ...base, verdict: 'unknown', checkMs: 0, reason: 'no host wrote a history' };
  const t0 = performance.now();
  const model = kvModel();
  const res = checkHistory(model, decodeHistory(model, merged), { timeoutMs: CHECK_TIMEOUT_MS, now: () => performance.now() });
  return {
    ...base, verdict: res.verdict, checkMs: Math.round(performance.now() - t0),
    ...(res.violation ? { violation: res.violation.text.slice(0, 4000) } : {}),
    ...(res.reason ? { reason: res.reason } : {}),
  };
}

/**
 * The file as it runs on this machine: as it is when every host is on loopback already; else
 * (a file for several machines) every host on 127.0.0.1 with a port free now.
 */
async function onLoopback(file: TopologyFile): Promise<TopologyFile> {
  if (Object.values(file.hosts).every((h) => isLoopbackAddress(h.address))) return file;
  const hosts: TopologyFile['hosts'] = {};
  const moved: string[] = [];
  const ports = await freePorts(file.transport === 'udp' ? 'udp' : 'tcp', Object.keys(file.hosts).length);
  for (const [k, [name, h]] of Object.entries(file.hosts).entries()) {
    const port = ports[k]!;
    hosts[name] = { ...h, address: '127.0.0.1', port };
    moved.push(`${name} ${h.address}:${h.port} -> 127.0.0.1:${port}`);
  }
  process.stderr.write(`[launch] not every host is on loopback; running them here on free ports: ${moved.join(', ')}\n`);
  return { ...file, hosts };
}

