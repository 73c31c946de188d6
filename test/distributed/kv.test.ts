// `switchboard kv` against a running cluster of every kv builder, each host a `switchboard node`
// process over UDP: a put through one cli client host is read back through another (each kv
// run is a new process and a new client incarnation); NOPaxos and Multi-Paxos also take append
// and cas; Pegasus, whose load clients (as NetCache's and consistent hashing's) speak get and
// put only, has the others refused. The clusters are as small as each builder allows and the
// extra operations few (starting a process is most of the cost); the clusters run side by side.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { BIN, freshSecret } from '../../bench/children.ts';
import { Cluster } from './cluster.ts';
import { SECRET_ENV, topologyFile } from './files.ts';

const exec = promisify(execFile);

/** The builders, small, with no workload clients and two cli client hosts. */
const BUILDERS: Record<string, { params: Record<string, unknown>; then?: 'append-cas' | 'refuse-append' }> = {
  nopaxos: { params: { replicas: 1, sequencers: 1 }, then: 'append-cas' },
  'nopaxos-switch': { params: { replicas: 3, switches: 1 } },
  paxos: { params: { replicas: 1 }, then: 'append-cas' },
  unreplicated: { params: {} },
  pegasus: { params: { racks: 1, servers: 1 }, then: 'refuse-append' },
  'kv-hash': { params: { servers: 1 } },
  netcache: { params: { servers: 1 } },
};

interface KvRun {
  code: number;
  stdout: string;
  stderr: string;
}

describe('switchboard kv against a running cluster', { concurrency: 3 }, () => {
  for (const [builder, { params, then }] of Object.entries(BUILDERS)) {
    it(`${builder}: put through k0, read back through k1`, { timeout: 150_000 }, async () => {
      const { path, dir, file } = await topologyFile(builder, 'udp', { ...params, clients: 0, cliClients: 2 });
      const env = { [SECRET_ENV]: freshSecret() };
      const c = new Cluster(path, dir, env, 1000);
      const kv = async (host: string, ...args: string[]): Promise<KvRun> => {
        try {
          const { stdout, stderr } = await exec(process.execPath, [BIN, 'kv', ...args.slice(0, 1), '--topology', path, '--host', host,
            '--timeout-ms', '15000', ...args.slice(1)], { env: { ...process.env, ...env }, timeout: 60_000 });
          c.note(`kv ${args.join(' ')} on ${host}: ${stdout.trim()}`);
          return { code: 0, stdout, stderr };
        } catch (err) {
          const e = err as { code?: number; stdout?: string; stderr?: string };
          c.note(`kv ${args.join(' ')} on ${host}: exit ${e.code} ${e.stderr?.trim()}`);
          return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
        }
      };
      try {
        // Controllers last: one that starts before what it watches fails it over at once.
        const hosts = Object.entries(file.hosts).filter(([, h]) => h.role !== 'cli');
        const servers = hosts.filter(([, h]) => h.role !== 'controller').map(([name]) => name);
        const controllers = hosts.filter(([, h]) => h.role === 'controller').map(([name]) => name);
        for (const h of servers) c.start(h);
        await c.until(() => servers.every((h) => c.isUp(h)), 60_000, 'the servers up');
        for (const h of controllers) c.start(h);
        await c.until(() => controllers.every((h) => c.isUp(h)), 60_000, 'the controllers up');

        const put = await kv('k0', 'put', 'key1', 'hello');
        assert.deepEqual([put.code, put.stdout], [0, 'ok\n'], c.report());
        const got = await kv('k1', 'get', '--json', 'key1');
        assert.equal(got.code, 0, c.report());
        assert.deepEqual(JSON.parse(got.stdout).result, { value: 'hello' }, c.report());
        if (then === 'refuse-append') {
          const refused = await kv('k0', 'append', 'key1', 'x');
          assert.equal(refused.code, 2, c.report());
          assert.match(refused.stderr, new RegExp(`kv append: builder '${builder}' serves get and put only`));
        } else if (then === 'append-cas') {
          assert.equal((await kv('k0', 'append', 'key1', ' world')).code, 0, c.report());
          // The cas applies only if the append did.
          const cas = await kv('k1', 'cas', 'key1', 'hello world', 'done');
          assert.deepEqual([cas.code, cas.stdout], [0, 'ok\n'], c.report());
        }
      } finally {
        await c.stopAll();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
