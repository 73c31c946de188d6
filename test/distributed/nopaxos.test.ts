// NOPaxos across real processes: 3 replicas, two sequencers (one active, one standby), the
// controller and two workload clients, each host a `switchboard node` process. The sequencers
// are software switch processes running the in-switch OUM sequencer (nopaxos-switch), over UDP
// and over WebSocket, or host-based sequencers (nopaxos) over UDP. While the clients run:
// kill -9 a follower, restart it (it recovers its log from the others and rejoins), kill -9 the
// leader (view change), restart it, kill -9 the controller and restart it (it learns the highest
// session from the replicas and goes on with the sequencer in it), kill -9 the active sequencer (the controller
// installs a higher session on the standby and routes the clients there). Each failure must leave the
// clients making progress; at the end `switchboard kv get` reads every key through a cli client
// host, and the merged history of the clients and those reads must be linearizable: no
// acknowledged write is lost.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN, freshSecret } from '../../bench/children.ts';
import { checkHistories } from '../../cli/commands/launch.ts';
import { formatJsonHistory } from '../../apps/linearizability/history.ts';
import { Cluster, runCluster } from './cluster.ts';
import { SECRET_ENV, topologyFile } from './files.ts';

const run = promisify(execFile);

const KEYS = 4;
const REPLICAS = ['r0', 'r1', 'r2'];
const CLIENTS = ['c0', 'c1'];
const PARAMS = {
  replicas: 3, clients: 2, cliClients: KEYS, ops: 100_000_000, keys: KEYS, thinkMs: 1,
  probeMs: 20, failAfterMs: 400, syncMs: 150, leaderTimeoutMs: 600, viewChangeMs: 150, requestTimeoutMs: 100,
  // A short log tail, so that a restarted replica finds the others truncated and recovers from
  // a snapshot sent across processes.
  logTail: 20,
};
/** Each step must see the clients complete this many more operations. */
const PROGRESS = 60;
const STEP_MS = 20_000;

/** One `switchboard kv get` per key, at once, each as its own cli client host; recorded as a history. */
async function finalReads(file: string, env: Record<string, string>, out: string, now: () => number): Promise<Record<string, string>> {
  const ops = await Promise.all(Array.from({ length: KEYS }, async (_, k) => {
    const invokeTime = now();
    const { stdout } = await run(process.execPath, [BIN, 'kv', 'get', '--json', '--topology', file, '--host', `k${k}`, '--timeout-ms', '15000', `k${k}`],
      { env: { ...process.env, ...env }, timeout: 30_000 });
    const r = JSON.parse(stdout) as { result: { value: string } };
    return { client: `final-k${k}`, input: { op: 'get', key: `k${k}` }, output: r.result, invokeTime, returnTime: now() };
  }));
  writeFileSync(out, formatJsonHistory({ model: 'kv', operations: ops.map((o, id) => ({ id, ...o })) }));
  return Object.fromEntries(ops.map((o) => [o.input.key, o.output.value]));
}

/** Each case: the builder, its transport, and the hosts of its sequencers. */
const CASES = [
  { builder: 'nopaxos-switch', kind: 'udp', sequencers: ['tor0', 'tor1'], params: { switches: 2 } },
  { builder: 'nopaxos-switch', kind: 'ws', sequencers: ['tor0', 'tor1'], params: { switches: 2 } },
  { builder: 'nopaxos', kind: 'udp', sequencers: ['seq0', 'seq1'], params: { sequencers: 2 } },
] as const;

for (const { builder, kind, sequencers, params } of CASES) {
  const what = builder === 'nopaxos' ? 'host-based sequencer' : 'software switch';
  describe(`NOPaxos across processes (${builder}) over ${kind}`, () => {
    it(`survives a follower, the leader, the controller and the active ${what} killed with SIGKILL; restarted hosts rejoin; the history is linearizable`,
      { timeout: 150_000 }, async () => {
        const { path, dir } = await topologyFile(builder, kind, { ...PARAMS, ...params });
        const env = { [SECRET_ENV]: freshSecret() };
        const c = new Cluster(path, dir, env);
        const completed = (): number => c.sum(CLIENTS, 'completed');
        const progress = async (what: string, timeoutMs = STEP_MS): Promise<void> => {
          const from = completed();
          await c.until(() => completed() >= from + PROGRESS, timeoutMs, `progress after ${what} (from ${from} completed)`);
          c.note(`progress after ${what}: ${completed()} completed`);
        };
        const leader = (): string => {
          const views = REPLICAS.filter((h) => c.isUp(h) && c.status(h).normal === 1).map((h) => c.status(h).view!);
          return `r${Math.max(...views) % REPLICAS.length}`;
        };
        const normalIn = async (host: string, what: string): Promise<void> => {
          await c.until(() => c.isUp(host) && c.status(host).normal === 1 && c.status(host).recovering === 0, STEP_MS, what);
        };
        await runCluster(c, dir, async () => {
          // Servers first: a controller that starts before its sequencer is up fails over at once.
          const servers = [...REPLICAS, ...sequencers];
          for (const h of servers) c.start(h);
          await c.until(() => servers.every((h) => c.isUp(h)), 2 * STEP_MS, 'the servers up');
          c.start('ctrl');
          for (const h of CLIENTS) c.start(h);
          await progress('start', 2 * STEP_MS);

          // A follower dies; the other two go on. It restarts empty and recovers.
          const follower = REPLICAS.find((h) => h !== leader())!;
          await c.kill9(follower);
          await progress(`killing follower ${follower}`);
          c.start(follower, { rejoin: true });
          await normalIn(follower, `${follower} recovered`);
          assert.ok(c.status(follower).recoveries! >= 1, `${follower} is normal without a recovery: ${JSON.stringify(c.status(follower))}`);
          assert.ok(c.status(follower).snapshots! >= 1, `${follower} recovered without a snapshot: ${JSON.stringify(c.status(follower))}`);
          c.note(`${follower} recovered: ${JSON.stringify(c.status(follower))}`);
          await progress(`${follower} rejoined`);

          // The leader dies: a view change elects the next one. It restarts and recovers too.
          const oldLeader = leader();
          const viewBefore = c.status(oldLeader).view!;
          await c.kill9(oldLeader);
          await c.until(() => REPLICAS.some((h) => h !== oldLeader && c.status(h).normal === 1 && c.status(h).view! > viewBefore),
            STEP_MS, 'a view change after the leader died');
          c.note(`new leader ${leader()}`);
          await progress(`killing leader ${oldLeader}`);
          c.start(oldLeader, { rejoin: true });
          await normalIn(oldLeader, `${oldLeader} recovered`);
          await progress(`${oldLeader} rejoined`);

          // The controller dies and restarts with nothing: it asks the replicas for the highest
          // session reserved and starts the next one on its first sequencer.
          const sessionAtKill = c.status('ctrl').session!;
          await c.kill9('ctrl');
          c.start('ctrl', { rejoin: true });
          await c.until(() => c.isUp('ctrl') && c.status('ctrl').resumed === 1, STEP_MS, 'the restarted controller taking a sequencer');
          // The active sequencer was in the highest session reserved: it goes on in it.
          assert.equal(c.status('ctrl').session, sessionAtKill, 'the restarted controller keeps the session of the sequencer it adopts');
          c.note(`restarted controller: session ${c.status('ctrl').session} on ${sequencers[c.status('ctrl').active!]}`);
          await progress('restarting the controller');

          // The active sequencer dies: the controller starts a session on the standby, and the
          // replicas move to it.
          const active = c.status('ctrl').active!;
          const sessionBefore = c.status('ctrl').session!;
          await c.kill9(sequencers[active]!);
          await c.until(() => c.status('ctrl').active !== active && c.status('ctrl').session! > sessionBefore, STEP_MS, 'the controller failing over');
          c.note(`sequencer failover to ${sequencers[c.status('ctrl').active!]} in session ${c.status('ctrl').session}`);
          await progress(`killing sequencer ${sequencers[active]}`);
          // The controller may install one more session on the new sequencer (a probe that
          // passed the switch before its session did): the replicas follow the latest.
          await c.until(() => REPLICAS.filter((h) => c.status(h).session === c.status('ctrl').session && c.status(h).normal === 1).length >= 2,
            STEP_MS, 'a majority of replicas in the controller\'s session');

          // Stop the clients (each writes its history, an operation in flight has an unknown
          // outcome), then read every key through the cli client hosts.
          await Promise.all(CLIENTS.map((h) => c.stop(h)));
          const finals = await finalReads(path, env, join(c.historyDir, 'final.json'), () => c.nowMs());
          c.note(`final reads: ${JSON.stringify(finals)}`);
          const report = checkHistories(c.historyDir);
          c.note(`history: ${JSON.stringify(report)}`);
          // (runCluster adds the cluster's report to a failure's message.)
          assert.deepEqual(report.hosts.sort(), ['c0', 'c1', 'final'], 'a history from each client and the final reads');
          assert.ok(report.operations > 6 * PROGRESS, `only ${report.operations} operations in the histories`);
          assert.equal(report.verdict, 'linearizable', 'the merged history is linearizable');
        });
      });
  });
}
