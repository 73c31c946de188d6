// NOPaxos with hosts in network namespaces this test makes (test/distributed/netns.ts), so that
// cutting a cable is a real partition: 3 replicas, two software switch hosts (tor0 active,
// tor1 standby), the controller and a workload client over UDP, each host a `switchboard node`
// process in its own namespace with an address that exists only there (10.213.0.x). While the
// client runs: the leader's cable goes down (the others change view and go on), comes back (the
// old leader rejoins the new view); the active switch's cable goes down (the controller fails
// over to the standby with a higher session), comes back. Each step must leave the client making
// progress; at the end every key is read through cli client hosts and the history must be
// linearizable. Skipped, with the reason, where namespaces cannot be made (not root, no
// iproute2, not Linux). The namespaces are deleted at the end, whatever happened.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { formatTopologyFile } from '../../actors/topology-file.ts';
import { formatJsonHistory } from '../../apps/linearizability/history.ts';
import { BIN, freshSecret } from '../../bench/children.ts';
import { checkHistories } from '../../cli/commands/launch.ts';
import { Cluster } from './cluster.ts';
import { SECRET_ENV, topologyFile } from './files.ts';
import { netnsNetwork, netnsUnavailable, type NetnsNetwork } from './netns.ts';

const run = promisify(execFile);

const KEYS = 2;
const REPLICAS = ['r0', 'r1', 'r2'];
const SWITCHES = ['tor0', 'tor1'];
/** Jumbo frames on the cables, and datagrams to match (the file's udp.maxDatagramBytes). */
const MTU = 9000;
const PARAMS = {
  replicas: 3, switches: 2, clients: 1, cliClients: KEYS, ops: 100_000_000, keys: KEYS, thinkMs: 1, transferOps: 20,
  probeMs: 20, failAfterMs: 400, syncMs: 150, leaderTimeoutMs: 600, viewChangeMs: 150, requestTimeoutMs: 100,
};
const PROGRESS = 50;
const STEP_MS = 20_000;

describe('NOPaxos across network namespaces', () => {
  it('keeps its guarantees through a partitioned leader and a partitioned switch, healed after', { timeout: 120_000 }, async (t) => {
    const unavailable = netnsUnavailable();
    if (unavailable) return t.skip(unavailable);
    const { path, dir, file } = await topologyFile('nopaxos-switch', 'udp', PARAMS);
    const hosts = Object.keys(file.hosts);
    let net: NetnsNetwork | undefined;
    let c: Cluster | undefined;
    try {
      net = netnsNetwork(`sb${process.pid}`, hosts, MTU);
      const addressed = {
        ...file, udp: { maxDatagramBytes: MTU - 28 },
        hosts: Object.fromEntries(Object.entries(file.hosts).map(([h, e]) => [h, { ...e, address: net!.address(h), port: 4100 }])),
      };
      writeFileSync(path, formatTopologyFile(addressed));
      const env = { [SECRET_ENV]: freshSecret() };
      const cl = (c = new Cluster(path, dir, env, 100, net.exec));
      const completed = (): number => cl.status('c0').completed ?? 0;
      const progress = async (what: string): Promise<void> => {
        const from = completed();
        await cl.until(() => completed() >= from + PROGRESS, STEP_MS, `progress after ${what} (from ${from} completed)`);
        cl.note(`progress after ${what}: ${completed()} completed`);
      };
      const view = (h: string): number => cl.status(h).view ?? -1;

      const servers = [...REPLICAS, ...SWITCHES];
      for (const h of servers) cl.start(h);
      await cl.until(() => servers.every((h) => cl.isUp(h)), 3 * STEP_MS, 'the servers up');
      cl.start('ctrl');
      cl.start('c0');
      await progress('start');

      // The leader is cut off: the two others change view and go on without it.
      const leader = `r${Math.max(...REPLICAS.map(view)) % REPLICAS.length}`;
      const others = REPLICAS.filter((h) => h !== leader);
      const viewBefore = view(leader);
      net.cut(leader, true);
      cl.note(`cable of ${leader} down`);
      await cl.until(() => others.every((h) => view(h) > viewBefore && cl.status(h).normal === 1), STEP_MS, 'a view change without the cut-off leader');
      await progress(`cutting off leader ${leader}`);
      // Healed: the old leader learns of the new view and rejoins it.
      net.cut(leader, false);
      cl.note(`cable of ${leader} up`);
      await cl.until(() => view(leader) === view(others[0]!) && cl.status(leader).normal === 1, STEP_MS, `${leader} back in the current view`);
      cl.note(`${leader} rejoined: ${JSON.stringify(cl.status(leader))}`);
      await progress(`healing ${leader}`);

      // The active switch is cut off: the controller fails over to the standby.
      const active = cl.status('ctrl').active!;
      const sessionBefore = cl.status('ctrl').session!;
      net.cut(SWITCHES[active]!, true);
      cl.note(`cable of ${SWITCHES[active]} down`);
      await cl.until(() => cl.status('ctrl').active !== active && cl.status('ctrl').session! > sessionBefore, STEP_MS, 'the controller failing over');
      await progress(`cutting off switch ${SWITCHES[active]}`);
      net.cut(SWITCHES[active]!, false);
      cl.note(`cable of ${SWITCHES[active]} up`);
      await progress(`healing ${SWITCHES[active]}`);

      await cl.stop('c0');
      const finals = await Promise.all(Array.from({ length: KEYS }, async (_, k) => {
        const invokeTime = cl.nowMs();
        const { stdout } = await run(net!.exec(`k${k}`)[0]!, [...net!.exec(`k${k}`).slice(1), process.execPath, BIN, 'kv', 'get', '--json',
          '--topology', path, '--host', `k${k}`, '--timeout-ms', '15000', `k${k}`], { env: { ...process.env, ...env }, timeout: 30_000 });
        const r = JSON.parse(stdout) as { result: { value: string } };
        return { client: `final-k${k}`, input: { op: 'get', key: `k${k}` }, output: r.result, invokeTime, returnTime: cl.nowMs() };
      }));
      writeFileSync(join(cl.historyDir, 'final.json'), formatJsonHistory({ model: 'kv', operations: finals.map((o, id) => ({ id, ...o })) }));
      const report = checkHistories(cl.historyDir);
      cl.note(`history: ${JSON.stringify(report)}`);
      assert.deepEqual(report.hosts.sort(), ['c0', 'final'], cl.report());
      assert.ok(report.operations > 5 * PROGRESS, cl.report());
      assert.equal(report.verdict, 'linearizable', cl.report());
      if (process.env.SWITCHBOARD_TEST_VERBOSE) process.stderr.write(`${cl.report()}\n`);
    } catch (err) {
      if (c) (err as Error).message += `\n${c.report()}`;
      throw err;
    } finally {
      await c?.stopAll();
      net?.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
