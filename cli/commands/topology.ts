// `switchboard topology export|validate|builders`: write the topology file of a topology built
// in code, check a file (every problem at once, each under its field), list the builders.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Value } from '@sinclair/typebox/value';
import {
  checkTopologyFile, exportTopologyFile, formatProblem, formatTopologyFile, parseTopologyJson, TopologyFileError,
  type SecretRef, type TransportName,
} from '../../actors/topology-file.ts';
import { builders } from '../builtins.ts';
import { UsageError } from '../main.ts';
import { parseChoice, parseInteger } from '../options.ts';
import { TRANSPORTS } from '../transports.ts';
import { SECRET_ENV } from './node.ts';

export const DEFAULT_BASE_PORT = 4100;

export function registerTopology(program: Command): void {
  const topology = program.command('topology')
    .description('topology files: export one for a topology built in code, validate one, list the builders');

  topology.command('export')
    .description('write the topology file of a topology built in code (loopback addresses, consecutive ports)')
    .argument('<builder>', `a registered builder: ${Object.keys(builders).join(', ')}`)
    .option('--params <json>', 'the builder\'s parameters as a JSON object (defaults fill the rest)')
    .option('--transport <kind>', 'ws or udp', parseChoice(TRANSPORTS), 'ws' as TransportName)
    .option('--base-port <n>', 'port of the first host; the others follow', parseInteger(1, 65535), DEFAULT_BASE_PORT)
    .option('--secret-env <var>', 'environment variable holding the cluster secret', SECRET_ENV)
    .option('--secret-file <path>', 'file holding the cluster secret (instead of --secret-env)')
    .option('--out <file>', 'write here instead of stdout')
    .action((name: string, opts: { params?: string; transport: TransportName; basePort: number; secretEnv: string; secretFile?: string; out?: string }) => {
      let params: unknown;
      if (opts.params !== undefined) {
        try {
          params = JSON.parse(opts.params);
        } catch (err) {
          throw new UsageError(`--params is not JSON: ${(err as Error).message}`);
        }
      }
      const secret: SecretRef = opts.secretFile ? { file: opts.secretFile } : { env: opts.secretEnv };
      let text: string;
      try {
        const file = exportTopologyFile(builders, { builder: name, params, transport: opts.transport, basePort: opts.basePort, secret });
        text = formatTopologyFile(file);
      } catch (err) {
        if (err instanceof TopologyFileError) {
          throw new UsageError(err.problems.map((p) => formatProblem({ ...p, path: p.path.replace(/^builder\.name$/, '<builder>').replace(/^params/, '--params') })).join('; '));
        }
        throw err;
      }
      if (opts.out) {
        writeFileSync(opts.out, text);
        process.stderr.write(`wrote ${opts.out}\n`);
      } else {
        process.stdout.write(text);
      }
    });

  topology.command('validate')
    .description('check a topology file; list every problem, each under the field it is about (exit 1 if any)')
    .argument('<file>')
    .action((path: string) => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      let problems: readonly { path: string; message: string }[];
      let summary = '';
      try {
        const result = checkTopologyFile(parseTopologyJson(text, path), builders);
        problems = result.ok ? [] : result.problems;
        if (result.ok) {
          const f = result.loaded.file;
          const actors = Object.values(f.hosts).reduce((n, h) => n + h.actors.length, 0);
          summary = `${Object.keys(f.hosts).length} hosts, ${actors} actors, builder ${f.builder.name}, transport ${f.transport}${f.tls ? ' (wss)' : ''}`;
        }
      } catch (err) {
        if (!(err instanceof TopologyFileError)) throw err;
        problems = err.problems;
      }
      if (problems.length === 0) {
        process.stdout.write(`${path}: ok: ${summary}\n`);
        return;
      }
      process.stdout.write(`${new TopologyFileError(path, problems).message}\n`);
      process.exitCode = 1;
    });

  topology.command('builders')
    .description('list the registered builders and their parameters with defaults')
    .option('--json', 'as JSON')
    .action((opts: { json?: boolean }) => {
      const list = Object.entries(builders).map(([name, b]) => ({
        name, description: b.description, defaults: Value.Default(b.params, {}) as Record<string, unknown>,
        params: Object.fromEntries(Object.entries(b.params.properties).map(([k, s]) => [k, (s as { description?: string }).description ?? ''])),
      }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      for (const b of list) {
        process.stdout.write(`${b.name}: ${b.description}\n`);
        for (const [k, d] of Object.entries(b.params)) process.stdout.write(`  ${k} (default ${JSON.stringify(b.defaults[k])})${d ? `: ${d}` : ''}\n`);
      }
    });
}
