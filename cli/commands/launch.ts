// `switchboard launch --topology FILE`: every host of a topology file as a local child process
// on loopback (see cli/launcher.ts). Exit code: 0 when every host with a job finished it, 1 if
// a host crashed (or every host ended, or --timeout passed, before the jobs were done), 130 when
// stopped by Ctrl-C/SIGTERM before then, 2 for a bad file or flag.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatTopologyFile, type TopologyFile, type TransportName } from '../../actors/topology-file.ts';
import { Launcher } from '../launcher.ts';
import { parseChoice, parseInteger } from '../options.ts';
import { secretOf, tlsOf, TRANSPORTS } from '../transports.ts';
import { loadFile } from './node.ts';

interface LaunchFlags {
  topology: string;
  transport?: TransportName;
  statusEvery?: number;
  graceMs: number;
  timeout?: number;
  json?: boolean;
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
      const tty = Boolean(process.stderr.isTTY);
      const launcher = new Launcher({
        name: file.name, transport, file: path,
        hosts: Object.entries(file.hosts).map(([name, h]) => ({ name, address: h.address, port: h.port, ...(h.role ? { role: h.role } : {}) })),
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
      try {
        launcher.start();
        const result = await launcher.done;
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        process.exitCode = result.exitCode;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        rmSync(dir, { recursive: true, force: true });
      }
    });
}

function isLoopback(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || address.toLowerCase() === 'localhost';
}

/**
 * The file as it runs on this machine: as it is when every host is on loopback already; else
 * (a file for several machines) every host on 127.0.0.1 with a port free now.
 */
async function onLoopback(file: TopologyFile): Promise<TopologyFile> {
  if (Object.values(file.hosts).every((h) => isLoopback(h.address))) return file;
  const hosts: TopologyFile['hosts'] = {};
  const moved: string[] = [];
  for (const [name, h] of Object.entries(file.hosts)) {
    const port = await freePort(file.transport === 'udp' ? 'udp' : 'tcp');
    hosts[name] = { ...h, address: '127.0.0.1', port };
    moved.push(`${name} ${h.address}:${h.port} -> 127.0.0.1:${port}`);
  }
  process.stderr.write(`[launch] not every host is on loopback; running them here on free ports: ${moved.join(', ')}\n`);
  return { ...file, hosts };
}

/** A port free on 127.0.0.1 right now. */
function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  return new Promise((resolve, reject) => {
    if (kind === 'tcp') {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
      return;
    }
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}
