// `switchboard kv get|put|append|cas --topology FILE [--host NAME] KEY [VALUE...]`: one
// operation against a running cluster. This process joins the cluster as one of the hosts the
// builder keeps for ad-hoc clients (role 'cli', k0, k1, ...; `launch` does not start them), runs
// the operation through that host's protocol client (the same client the workload uses: NOPaxos
// through the OUM sequencer, Multi-Paxos through the leader, ...), prints the result and leaves.
//
// Output: get prints the value; put and append print "ok"; cas prints "ok" or "not applied"
// (the value differed). --json prints {host, op, result, latencyMs} instead.
// Exit code: 0 with an answer (a cas that did not apply included), 1 when no answer came within
// --timeout-ms or the host could not join (its port in use: another kv command runs on it; try
// --host), 2 for a usage error.
import { Argument, type Command } from 'commander';
import { pino } from 'pino';
import { NodeRuntime } from '../../actors/index.ts';
import type { KvOp } from '../../apps/kv/kv.ts';
import { cliAccessOf } from '../builders/common.ts';
import { UsageError } from '../main.ts';
import { parseInteger } from '../options.ts';
import { transportForHost } from '../transports.ts';
import { loadFile } from './node.ts';

const OPS = ['get', 'put', 'append', 'cas'] as const;
type OpName = (typeof OPS)[number];
const ARITY: Record<OpName, string[]> = { get: [], put: ['VALUE'], append: ['VALUE'], cas: ['FROM', 'TO'] };

export function registerKv(program: Command): void {
  program.command('kv')
    .description('run one operation (get, put, append, cas) against a running cluster of a topology file')
    .addArgument(new Argument('<op>', 'get KEY | put KEY VALUE | append KEY VALUE | cas KEY FROM TO').choices(OPS))
    .argument('<key>')
    .argument('[values...]')
    .requiredOption('--topology <file>', 'the topology file the cluster runs')
    .option('--host <name>', 'the cli client host of the file to run as (default: the first one, k0)')
    .option('--timeout-ms <ms>', 'give up (exit 1) without an answer this long', parseInteger(1, 3_600_000), 5000)
    .option('--json', 'print {host, op, result, latencyMs}')
    .action(async (name: OpName, key: string, values: string[], opts: { topology: string; host?: string; timeoutMs: number; json?: boolean }) => {
      const want = ARITY[name];
      if (values.length !== want.length) {
        throw new UsageError(`kv ${name} takes KEY${want.map((w) => ` ${w}`).join('')}; got ${1 + values.length} argument${values.length ? 's' : ''}`);
      }
      const op: KvOp = name === 'get' ? { op: 'get', key }
        : name === 'cas' ? { op: 'cas', key, from: values[0]!, to: values[1]! }
          : { op: name, key, value: values[0]! };
      const loaded = loadFile(opts.topology);
      const cli = cliAccessOf(loaded.built);
      if (!cli || cli.hosts.length === 0) {
        throw new UsageError(`${opts.topology}: builder '${loaded.file.builder.name}' keeps no host for cli clients`
          + `${cli ? ' (set builder.params.cliClients >= 1 and restart the cluster)' : ''}`);
      }
      if (cli.ops && !cli.ops.includes(op.op)) {
        throw new UsageError(`kv ${name}: builder '${loaded.file.builder.name}' serves ${cli.ops.join(' and ')} only`);
      }
      if (cli.ops && op.op === 'put' && op.value === '') {
        throw new UsageError(`kv put: builder '${loaded.file.builder.name}' needs a non-empty value (its clients make one up for '')`);
      }
      const host = opts.host ?? cli.hosts[0]!;
      if (!cli.hosts.includes(host)) {
        throw new UsageError(`--host ${host}: not a cli client host of ${opts.topology} (those are: ${cli.hosts.join(', ')})`);
      }
      // Quiet by default: late answers to an earlier kv command on this host are dead letters.
      const logLevel = process.env.SWITCHBOARD_LOG ?? 'error';
      const logger = pino({ level: logLevel, base: undefined }, pino.destination({ fd: 2, sync: true }));
      const transport = transportForHost(loaded, host, logger);
      // A new incarnation each time: the client's id (or its request numbers) include it, and a
      // reused one would make the servers' client tables take request 1 of this run for
      // request 1 of an earlier one.
      const node = new NodeRuntime(loaded.built.topology, host, { transport, logLevel, incarnation: Date.now() });
      try {
        await node.start();
      } catch (err) {
        await transport.close().catch(() => {});
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        process.stderr.write(`error: cannot join as ${host}: ${(err as Error).message}`
          + `${inUse ? ` (another kv command, or a node, runs as ${host}${cli.hosts.length > 1 ? `; try --host ${cli.hosts.find((h) => h !== host)}` : ''})` : ''}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        const { result, latencyMs } = await cli.invoke(node, op, opts.timeoutMs);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ host, op, result, latencyMs: Math.round(latencyMs * 1000) / 1000 })}\n`);
        } else if (op.op === 'get') {
          process.stdout.write(`${result.value ?? ''}\n`);
        } else if (op.op === 'cas') {
          process.stdout.write(result.ok ? 'ok\n' : 'not applied\n');
        } else {
          process.stdout.write('ok\n');
        }
        process.exitCode = 0;
      } catch (err) {
        process.stderr.write(`error: ${name} ${key}: ${(err as Error).message}\n`);
        process.exitCode = 1;
      } finally {
        await node.shutdown();
      }
    });
}
