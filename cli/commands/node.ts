// `switchboard node --topology FILE --host NAME`: run one host of a topology file in this
// process, over the file's transport (WebSocket, wss when it gives TLS files, or UDP).
//
// stdout carries JSON lines only, for whoever started the node (`switchboard launch`, a test):
//   {"event":"ready", host, transport, address, port, tls, job, pid}   once listening
//   {"event":"status", host, processed, failures, deadLetters, rejected, dropped, ...}
//                                                                       every --status-every ms
//   {"event":"finished", host, ...summary, transportStats}             when its job is done
// Logs (pino JSON) go to stderr. SIGINT/SIGTERM shut it down cleanly and exit 0.
//
// A host whose clients record a history writes it (the checker's JSON format, times in ms since
// the epoch so that files of several hosts merge) to --history-out FILE, or to
// $SWITCHBOARD_HISTORY_DIR/HOST.json, once its job is done (or when it is stopped before).
// --rejoin starts a host that crashed and lost its state: its actors start as restarted ones
// (ctx.incarnation > 0) and recover from their peers (a NOPaxos replica runs its recovery).
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeRuntime } from '../../actors/index.ts';
import { loadTopologyFile, TopologyFileError, type LoadedTopology } from '../../actors/topology-file.ts';
import { builders } from '../builtins.ts';
import { historyJson, historyOf } from '../builders/common.ts';
import { CLOCK_ANCHOR_ENV, epochOffsetMs, parseAnchor } from '../history-clock.ts';
import { UsageError } from '../main.ts';
import { parseInteger } from '../options.ts';
import { transportForHost } from '../transports.ts';

/** The environment variable exported files name for the cluster secret. */
export const SECRET_ENV = 'SWITCHBOARD_SECRET';

/** The folder where hosts write their histories as HOST.json (what `launch --check` sets). */
export const HISTORY_DIR_ENV = 'SWITCHBOARD_HISTORY_DIR';

/** How often a node started with --parent-pid checks that its parent is still there. */
const PARENT_CHECK_MS = 500;

export function registerNode(program: Command): void {
  program.command('node')
    .description('run one host of a topology file in this process')
    .requiredOption('--topology <file>', 'the topology file (see docs/deploy.md; `switchboard topology export` writes one)')
    .requiredOption('--host <name>', 'the host of the file this process runs')
    .option('--exit-when-done', 'exit once this host has finished its job')
    .option('--status-every <ms>', 'print a status line on stdout this often', parseInteger(10, 3_600_000))
    .option('--history-out <file>', `write the history this host's clients recorded here (default: $${HISTORY_DIR_ENV}/HOST.json if set)`)
    .option('--rejoin', 'this host crashed and lost its state: its actors start as restarted and recover from their peers')
    .addOption(new Option('--parent-pid <pid>', 'exit when this process is no longer our parent (used by launch)')
      .argParser(parseInteger(1)).hideHelp())
    .action(async (opts: {
      topology: string; host: string; exitWhenDone?: boolean; statusEvery?: number; parentPid?: number; historyOut?: string; rejoin?: boolean;
    }) => {
      /** The running node, once it is up. */
      const up: { node?: NodeRuntime } = {};
      let stopping = false;
      let historyWritten: { path: string; operations: number } | undefined;
      const historyPath = opts.historyOut ?? (process.env[HISTORY_DIR_ENV] ? join(process.env[HISTORY_DIR_ENV], `${opts.host}.json`) : undefined);
      // Started by launch (or a test) on its machine: the clock anchor every host shares.
      let anchor: number | undefined;
      try {
        anchor = parseAnchor(process.env[CLOCK_ANCHOR_ENV]);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const writeHistory = (node: NodeRuntime): void => {
        const source = historyOf(loaded.built);
        if (!historyPath || !source || historyWritten) return;
        const h = source.history();
        if (h.operations.length === 0) return;
        writeFileSync(historyPath, historyJson(h, epochOffsetMs(() => node.now(), { anchor })));
        historyWritten = { path: historyPath, operations: h.operations.length };
      };
      const stop = async (code = 0): Promise<void> => {
        if (stopping) return;
        stopping = true;
        if (up.node) {
          // A last status line, so that whoever watches has the final counts.
          if (opts.statusEvery) emit(statusOf(up.node, loaded, opts.host));
          try {
            writeHistory(up.node);
          } catch (err) {
            process.stderr.write(`error: cannot write the history to ${historyPath}: ${(err as Error).message}\n`);
          }
          await up.node.shutdown();
        }
        process.exit(code);
      };
      if (opts.parentPid !== undefined) {
        // Started by launch: never outlive it, even if it was killed with SIGKILL.
        const parent = opts.parentPid;
        setInterval(() => {
          if (process.ppid !== parent) void stop();
        }, PARENT_CHECK_MS).unref();
      }
      const loaded = loadFile(opts.topology);
      const entry = Object.hasOwn(loaded.file.hosts, opts.host) ? loaded.file.hosts[opts.host] : undefined;
      if (!entry) {
        throw new UsageError(`${opts.topology}: no host '${opts.host}' (hosts: ${Object.keys(loaded.file.hosts).join(', ')})`);
      }
      const logger = pino({ level: process.env.SWITCHBOARD_LOG ?? 'warn', base: undefined }, pino.destination({ fd: 2, sync: true }));
      const transport = transportForHost(loaded, opts.host, logger);
      let running: NodeRuntime;
      try {
        // A rejoining host's actors see ctx.incarnation > 0, as after a restart in sim (and a
        // client's id, which includes it, is new). The clock makes it unique across rejoins.
        running = new NodeRuntime(loaded.built.topology, opts.host, { transport, ...(opts.rejoin ? { incarnation: Date.now() } : {}) });
        await running.start();
      } catch (err) {
        await transport.close().catch(() => {});
        throw new UsageError(`host '${opts.host}' cannot start on ${entry.address}:${entry.port}: ${(err as Error).message}`);
      }
      up.node = running;
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());

      const done = loaded.built.watch?.(running);
      emit({
        event: 'ready', host: opts.host, transport: loaded.file.transport, address: entry.address, port: entry.port,
        tls: loaded.file.tls !== undefined, job: done !== undefined, pid: process.pid,
      });
      if (opts.statusEvery) {
        const every = opts.statusEvery;
        setInterval(() => emit(statusOf(running, loaded, opts.host)), every).unref();
      }
      if (done) {
        const summary = await done;
        writeHistory(running);
        emit({
          event: 'finished', host: opts.host, ...summary,
          ...(historyWritten ? { history: historyWritten.path, historyOps: historyWritten.operations } : {}),
          transportStats: transport.stats(),
        });
        if (opts.exitWhenDone) await stop();
      }
      // Servers, and hosts whose job is done, run until signalled.
      await new Promise(() => {});
    });
}

/** Load a topology file for the CLI: a bad one is a usage error that lists every problem. */
export function loadFile(path: string): LoadedTopology {
  try {
    return loadTopologyFile(path, builders);
  } catch (err) {
    if (err instanceof TopologyFileError) throw new UsageError(err.message);
    throw err;
  }
}

function statusOf(node: NodeRuntime, loaded: LoadedTopology, host: string): Record<string, unknown> {
  const m = node.metrics();
  const local = m.actors.filter((a) => a.host === host);
  const t = node.transport.stats();
  const sum = (r: Record<string, number | undefined>): number => Object.values(r).reduce<number>((n, v) => n + (v ?? 0), 0);
  return {
    event: 'status', host,
    processed: local.reduce((n, a) => n + a.processed, 0),
    failures: local.reduce((n, a) => n + a.failures, 0),
    deadLetters: m.deadLetters,
    rejected: sum(t.rejected), dropped: sum(t.dropped),
    ...loaded.built.status?.(node),
  };
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}
