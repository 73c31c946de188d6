// `switchboard node`: run one host of a topology in this process, over WebSocket or UDP.
// It prints JSON lines on stdout: {"event":"ready"} once listening, {"event":"finished", ...}
// when its part of the job is done. SIGINT/SIGTERM shut it down cleanly.
import type { Command } from 'commander';
import { runNode } from '../../actors/index.ts';
import { loadSecret, type SecretSource } from '../../transport/auth.ts';
import { builtins } from '../builtins.ts';
import { UsageError } from '../main.ts';
import { parseChoice, parseInteger } from '../options.ts';
import { makeTransport, parsePeers, TRANSPORTS, type TransportName } from '../transports.ts';

export const SECRET_ENV = 'SWITCHBOARD_SECRET';

export function registerNode(program: Command): void {
  program.command('node')
    .description('run one host of a topology in this process')
    .requiredOption('--topology <name>', `a built-in topology: ${Object.keys(builtins).join(', ')}`)
    .requiredOption('--host <name>', 'the host this process runs')
    .requiredOption('--peers <list>', 'where every host listens: a=127.0.0.1:4001,b=127.0.0.1:4002')
    .option('--transport <kind>', 'ws or udp', parseChoice(TRANSPORTS), 'ws' as TransportName)
    .option('--secret-file <path>', `file holding the cluster secret (default: $${SECRET_ENV})`)
    .option('--ops <n>', 'operations for the topology\'s clients', parseInteger(1, 100_000_000))
    .option('--exit-when-done', 'exit once this host has finished its job')
    .action(async (opts) => {
      const make = builtins[opts.topology];
      if (!make) throw new UsageError(`unknown topology '${opts.topology}'; built in: ${Object.keys(builtins).join(', ')}`);
      const builtin = make({ ops: opts.ops });
      builtin.topology.hostSpec(opts.host);
      const source: SecretSource = opts.secretFile ? { file: opts.secretFile } : { env: SECRET_ENV };
      let secret: Buffer;
      try {
        secret = loadSecret(source);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const transport = makeTransport({
        kind: opts.transport, host: opts.host, peers: parsePeers(opts.peers), secret, schemas: builtin.topology.schemas,
      });
      const node = await runNode(builtin.topology, opts.host, { transport });
      const stop = async (): Promise<void> => {
        await node.shutdown();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      emit({ event: 'ready', host: opts.host, transport: opts.transport });
      const done = builtin.watch(node);
      if (done) {
        const summary = await done;
        emit({ event: 'finished', host: opts.host, ...summary, transportStats: transport.stats() });
        if (opts.exitWhenDone) {
          await node.shutdown();
          process.exit(0);
        }
      }
      // Servers run until signalled.
      await new Promise(() => {});
    });
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}
