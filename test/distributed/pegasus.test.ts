// Pegasus across real processes over WebSocket, in 2-rack chain mode: each rack a switch host
// (the coherence directory in the software switch) and two storage servers, a client and the
// controller, each host a `switchboard node` process. A storage server is killed with SIGKILL
// while the client runs: the controller fails it over (its successor takes its state from the
// other rack), the client finishes every operation, reads every key at the end, and its
// history is linearizable: no acknowledged write is lost.
// A second test restarts the killed server (a new incarnation, --rejoin): the controller hands
// its id back (rejoins in its status), the restarted process serves again, and the history is
// linearizable. A third pauses a server (SIGSTOP) past failAfterMs and resumes it: failed over
// while alive, it retires and rejoins without a restart; another pauses the controller itself,
// which must not take its own pause for the servers' silence. A last one kills and restarts a
// server over UDP with 1472-byte datagrams and a store far larger than one: the failover's and
// the rejoin's state go in parts (transferBytes). And a rack's switch is paused past
// rackFailAfterMs: the rack leaves the chain, joins it again once resumed, and holds every
// write alone when the other rack is then killed whole.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshSecret } from '../../bench/children.ts';
import { checkHistories } from '../../cli/commands/launch.ts';
import { Cluster, runCluster } from './cluster.ts';
import { SECRET_ENV, topologyFile } from './files.ts';
import type { TransportName } from '../../actors/topology-file.ts';

const SERVERS = ['r0s0', 'r0s1', 'r1s0', 'r1s1'];
const OPS = 3000;
const STEP_MS = 20_000;

const KEYS = 12;

/** A 2-rack chain over ws, 2 servers a rack, one client writing half the time over 12 keys. */
async function chainCluster(ops: number): Promise<{ c: Cluster; dir: string }> {
  return cluster(ops, 'ws', {}, KEYS);
}

async function cluster(ops: number, kind: TransportName, params: Record<string, unknown>, keys: number,
  maxDatagramBytes?: number): Promise<{ c: Cluster; dir: string }> {
  const { path, dir } = await topologyFile('pegasus', kind, {
    racks: 2, servers: 2, clients: 1, sessions: 4, ops, keys, readRatio: 0.5, timeoutMs: 100, failAfterMs: 500, ...params,
  }, (f) => (maxDatagramBytes === undefined ? f : { ...f, udp: { maxDatagramBytes } }));
  return { c: new Cluster(path, dir, { [SECRET_ENV]: freshSecret() }), dir };
}

/** Switches and servers first, then the controller and the client, until the client is under way. */
async function startUnderLoad(c: Cluster, waitMs: number): Promise<void> {
  const hosts = ['tor0', 'tor1', ...SERVERS];
  for (const h of hosts) c.start(h);
  await c.until(() => hosts.every((h) => c.isUp(h)), waitMs, 'the switches and servers up');
  c.start('ctrl');
  c.start('c0');
  await c.until(() => (c.status('c0').completed ?? 0) >= 300, waitMs, 'the client under way');
  c.note(`client at ${c.status('c0').completed}`);
}

async function killAndFailOver(c: Cluster, host: string, waitMs: number): Promise<void> {
  await c.kill9(host);
  await c.until(() => (c.status('ctrl').failovers ?? 0) >= 1, waitMs, `the controller failing ${host} over`);
  c.note(`failover: ${JSON.stringify(c.status('ctrl'))}; client at ${c.status('c0').completed}`);
}

/** The client does every operation and reads every key at the end. */
async function finishAll(c: Cluster, ops: number, waitMs: number, keys = KEYS): Promise<void> {
  await c.until(() => c.finished('c0') !== undefined, waitMs, 'the client finishing its operations');
  const done = c.finished('c0')!;
  c.note(`finished: ${JSON.stringify(done)}`);
  assert.equal(done.completed, ops);
  assert.equal(done.finalReads, keys);
}

function assertLinearizable(c: Cluster): void {
  const report = checkHistories(c.historyDir);
  c.note(`history: ${JSON.stringify(report)}`);
  assert.deepEqual(report.hosts, ['c0'], 'a history from the client');
  assert.equal(report.verdict, 'linearizable', 'the history is linearizable');
}

describe('Pegasus across processes over ws', () => {
  it('survives a storage server killed with SIGKILL in 2-rack chain mode; the history is linearizable', { timeout: 120_000 }, async () => {
    const { c, dir } = await chainCluster(OPS);
    await runCluster(c, dir, async () => {
      await startUnderLoad(c, 2 * STEP_MS);
      await killAndFailOver(c, 'r0s1', STEP_MS);
      await finishAll(c, OPS, 60_000);
      assertLinearizable(c);
    });
  });
  it('a storage server killed with SIGKILL and restarted (a new incarnation) takes its id back; the history is linearizable', { timeout: 60_000 }, async () => {
    const ops = 6000;
    const { c, dir } = await chainCluster(ops);
    const victim = 'r1s0';
    await runCluster(c, dir, async () => {
      await startUnderLoad(c, STEP_MS);
      await killAndFailOver(c, victim, 10_000);

      c.start(victim, { rejoin: true });
      // Restarted, it reports retired: 1 until the rejoin's Serve (often too short to see).
      await c.until(() => c.isUp(victim) && (c.status('ctrl').rejoins ?? 0) >= 1 && c.status(victim).retired === 0, 10_000, `${victim} rejoining`);
      const served = c.status(victim).served ?? 0;
      c.note(`rejoined: ctrl ${JSON.stringify(c.status('ctrl'))}; ${victim} ${JSON.stringify(c.status(victim))}; client at ${c.status('c0').completed}`);
      assert.equal(c.finished('c0'), undefined, 'the client finished before the rejoin: raise ops');
      await c.until(() => (c.status(victim).served ?? 0) > served + 50 || c.finished('c0') !== undefined, 10_000, `${victim} serving`);
      c.note(`${victim} served ${c.status(victim).served} (from ${served}); client at ${c.status('c0').completed}`);
      assert.ok((c.status(victim).served ?? 0) > served + 50, `${victim} serves after its rejoin`);

      await finishAll(c, ops, 30_000);
      assert.equal(c.status('ctrl').rejoinAborts ?? 0, 0);
      assertLinearizable(c);
    });
  });
});

describe('Pegasus across processes: a false suspicion', () => {
  it('a storage server paused (SIGSTOP) past failAfterMs is failed over; resumed, it retires, rejoins under its next incarnation and serves; the history is linearizable', { timeout: 60_000 }, async () => {
    const ops = 6000;
    const { c, dir } = await chainCluster(ops);
    const victim = 'r1s0';
    await runCluster(c, dir, async () => {
      await startUnderLoad(c, STEP_MS);
      c.pause(victim);
      await c.until(() => (c.status('ctrl').failovers ?? 0) >= 1, 10_000, `the controller failing ${victim} over`);
      c.note(`failover: ${JSON.stringify(c.status('ctrl'))}; client at ${c.status('c0').completed}`);
      c.resume(victim);
      await c.until(() => (c.status('ctrl').rejoins ?? 0) >= 1 && c.status(victim).retired === 0, 10_000, `${victim} retiring and rejoining`);
      const served = c.status(victim).served ?? 0;
      c.note(`rejoined: ctrl ${JSON.stringify(c.status('ctrl'))}; ${victim} ${JSON.stringify(c.status(victim))}; client at ${c.status('c0').completed}`);
      assert.equal(c.finished('c0'), undefined, 'the client finished before the rejoin: raise ops');
      await c.until(() => (c.status(victim).served ?? 0) > served + 50 || c.finished('c0') !== undefined, 10_000, `${victim} serving`);
      assert.ok((c.status(victim).served ?? 0) > served + 50, `${victim} serves after its rejoin`);
      await finishAll(c, ops, 30_000);
      assert.equal(c.status('ctrl').failovers, 1, 'one failover: nothing else was suspected');
      assertLinearizable(c);
    });
  });
});

describe('Pegasus across processes: a paused controller', () => {
  it('a controller paused (SIGSTOP) for twice failAfterMs takes its own pause for what it is: no server is failed over, the client finishes; the history is linearizable', { timeout: 60_000 }, async () => {
    const ops = 4000;
    const { c, dir } = await chainCluster(ops);
    await runCluster(c, dir, async () => {
      await startUnderLoad(c, STEP_MS);
      c.pause('ctrl');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      c.resume('ctrl');
      await finishAll(c, ops, 30_000);
      c.note(`finished: ctrl ${JSON.stringify(c.status('ctrl'))}`);
      assert.equal(c.status('ctrl').failovers ?? 0, 0, 'no server was failed over');
      assert.equal(c.status('ctrl').rackFailures ?? 0, 0, 'no rack left the chain');
      assertLinearizable(c);
    });
  });
});

describe('Pegasus across processes: a rack leaves and joins again', () => {
  it('a switch paused (SIGSTOP) past rackFailAfterMs takes its rack out of the chain; resumed, the rack joins again and catches up; then the other rack is killed whole and the joined one serves alone; the history is linearizable', { timeout: 90_000 }, async () => {
    const ops = 16_000;
    const { c, dir } = await cluster(ops, 'ws', { rackFailAfterMs: 1000 }, KEYS);
    await runCluster(c, dir, async () => {
      await startUnderLoad(c, STEP_MS);
      c.pause('tor1');
      await c.until(() => (c.status('ctrl').rackFailures ?? 0) >= 1, 10_000, 'rack 1 leaving the chain');
      c.note(`rack 1 left: ctrl ${JSON.stringify(c.status('ctrl'))}; client at ${c.status('c0').completed}`);
      c.resume('tor1');
      await c.until(() => (c.status('ctrl').rackJoins ?? 0) >= 1, 10_000, 'rack 1 joining the chain again');
      c.note(`rack 1 joined: ctrl ${JSON.stringify(c.status('ctrl'))}; client at ${c.status('c0').completed}`);
      assert.equal(c.status('ctrl').chainRacks, 2);
      assert.equal(c.finished('c0'), undefined, 'the client finished before the join: raise ops');
      for (const h of ['tor0', 'r0s0', 'r0s1']) await c.kill9(h);
      await c.until(() => c.status('ctrl').chainRacks === 1, 10_000, 'rack 0 leaving the chain');
      c.note(`rack 0 left: ctrl ${JSON.stringify(c.status('ctrl'))}; client at ${c.status('c0').completed}`);
      assert.equal(c.finished('c0'), undefined, 'the client finished before rack 0 failed: raise ops');
      await finishAll(c, ops, 60_000);
      assertLinearizable(c);
    });
  });
});

describe('Pegasus across processes over UDP', () => {
  it('with 1472-byte datagrams, a killed and restarted server fails over and rejoins with its state in parts; the history is linearizable', { timeout: 60_000 }, async () => {
    // 400 keys of 128 bytes: a server's store is tens of KB, a datagram 1472 bytes.
    const keys = 400;
    const ops = 4000;
    const { c, dir } = await cluster(ops, 'udp', { valueBytes: 128, transferBytes: 1000 }, keys, 1472);
    const victim = 'r1s0';
    await runCluster(c, dir, async () => {
      await startUnderLoad(c, STEP_MS);
      await killAndFailOver(c, victim, 10_000);
      await c.until(() => (c.status('r0s0').transferParts ?? 0) > 1, 10_000, 'the failover\'s state in parts');
      c.start(victim, { rejoin: true });
      await c.until(() => c.isUp(victim) && (c.status('ctrl').rejoins ?? 0) >= 1 && c.status(victim).retired === 0, 10_000, `${victim} rejoining`);
      c.note(`rejoined: ctrl ${JSON.stringify(c.status('ctrl'))}; ${victim} ${JSON.stringify(c.status(victim))}; client at ${c.status('c0').completed}`);
      assert.ok((c.status('ctrl').transferParts ?? 0) > 1, 'the Install went in parts');
      await finishAll(c, ops, 30_000, keys);
      assertLinearizable(c);
    });
  });
});
