// Pegasus across real processes over WebSocket, in 2-rack chain mode: each rack a switch host
// (the coherence directory in the software switch) and two storage servers, a client and the
// controller, each host a `switchboard node` process. A storage server is killed with SIGKILL
// while the client runs: the controller fails it over (its successor takes its state from the
// other rack), the client finishes every operation, reads every key at the end, and its
// history is linearizable: no acknowledged write is lost.
// A second test restarts the killed server (a new incarnation, --rejoin): the controller hands
// its id back (rejoins in its status), the restarted process serves again, and the history is
// linearizable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { freshSecret } from '../../bench/children.ts';
import { checkHistories } from '../../cli/commands/launch.ts';
import { Cluster } from './cluster.ts';
import { SECRET_ENV, topologyFile } from './files.ts';

const SERVERS = ['r0s0', 'r0s1', 'r1s0', 'r1s1'];
const OPS = 3000;
const STEP_MS = 20_000;

describe('Pegasus across processes over ws', () => {
  it('survives a storage server killed with SIGKILL in 2-rack chain mode; the history is linearizable', { timeout: 120_000 }, async () => {
    const { path, dir } = await topologyFile('pegasus', 'ws', {
      racks: 2, servers: 2, clients: 1, sessions: 4, ops: OPS, keys: 12, readRatio: 0.5, timeoutMs: 100, failAfterMs: 500,
    });
    const c = new Cluster(path, dir, { [SECRET_ENV]: freshSecret() });
    try {
      const servers = ['tor0', 'tor1', ...SERVERS];
      for (const h of servers) c.start(h);
      await c.until(() => servers.every((h) => c.isUp(h)), 2 * STEP_MS, 'the switches and servers up');
      c.start('ctrl');
      c.start('c0');
      await c.until(() => (c.status('c0').completed ?? 0) >= 300, 2 * STEP_MS, 'the client under way');
      c.note(`client at ${c.status('c0').completed}`);

      await c.kill9('r0s1');
      await c.until(() => (c.status('ctrl').failovers ?? 0) >= 1, STEP_MS, 'the controller failing r0s1 over');
      c.note(`failover: ${JSON.stringify(c.status('ctrl'))}; client at ${c.status('c0').completed}`);

      await c.until(() => c.finished('c0') !== undefined, 60_000, 'the client finishing its operations');
      const done = c.finished('c0')!;
      c.note(`finished: ${JSON.stringify(done)}`);
      assert.equal(done.completed, OPS);
      assert.equal(done.finalReads, 12);
      const report = checkHistories(c.historyDir);
      c.note(`history: ${JSON.stringify(report)}`);
      assert.deepEqual(report.hosts, ['c0'], c.report());
      assert.equal(report.verdict, 'linearizable', c.report());
      if (process.env.SWITCHBOARD_TEST_VERBOSE) process.stderr.write(`${c.report()}\n`);
    } catch (err) {
      (err as Error).message += `\n${c.report()}`;
      throw err;
    } finally {
      await c.stopAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a storage server killed with SIGKILL and restarted (a new incarnation) takes its id back; the history is linearizable', { timeout: 60_000 }, async () => {
    const ops = 6000;
    const { path, dir } = await topologyFile('pegasus', 'ws', {
      racks: 2, servers: 2, clients: 1, sessions: 4, ops, keys: 12, readRatio: 0.5, timeoutMs: 100, failAfterMs: 500,
    });
    const c = new Cluster(path, dir, { [SECRET_ENV]: freshSecret() });
    const victim = 'r1s0';
    try {
      const servers = ['tor0', 'tor1', ...SERVERS];
      for (const h of servers) c.start(h);
      await c.until(() => servers.every((h) => c.isUp(h)), STEP_MS, 'the switches and servers up');
      c.start('ctrl');
      c.start('c0');
      await c.until(() => (c.status('c0').completed ?? 0) >= 300, STEP_MS, 'the client under way');
      c.note(`client at ${c.status('c0').completed}`);

      await c.kill9(victim);
      await c.until(() => (c.status('ctrl').failovers ?? 0) >= 1, 10_000, `the controller failing ${victim} over`);
      c.note(`failover: ${JSON.stringify(c.status('ctrl'))}; client at ${c.status('c0').completed}`);

      c.start(victim, { rejoin: true });
      // Restarted, it reports retired: 1 until the rejoin's Serve (often too short to see).
      await c.until(() => c.isUp(victim) && (c.status('ctrl').rejoins ?? 0) >= 1 && c.status(victim).retired === 0, 10_000, `${victim} rejoining`);
      const served = c.status(victim).served ?? 0;
      c.note(`rejoined: ctrl ${JSON.stringify(c.status('ctrl'))}; ${victim} ${JSON.stringify(c.status(victim))}; client at ${c.status('c0').completed}`);
      assert.equal(c.finished('c0'), undefined, 'the client finished before the rejoin: raise ops');
      await c.until(() => (c.status(victim).served ?? 0) > served + 50 || c.finished('c0') !== undefined, 10_000, `${victim} serving`);
      c.note(`${victim} served ${c.status(victim).served} (from ${served}); client at ${c.status('c0').completed}`);
      assert.ok((c.status(victim).served ?? 0) > served + 50, `${victim} serves after its rejoin`);

      await c.until(() => c.finished('c0') !== undefined, 30_000, 'the client finishing its operations');
      const done = c.finished('c0')!;
      c.note(`finished: ${JSON.stringify(done)}`);
      assert.equal(done.completed, ops);
      assert.equal(done.finalReads, 12);
      assert.equal(c.status('ctrl').rejoinAborts ?? 0, 0);
      const report = checkHistories(c.historyDir);
      c.note(`history: ${JSON.stringify(report)}`);
      assert.deepEqual(report.hosts, ['c0'], c.report());
      assert.equal(report.verdict, 'linearizable', c.report());
      if (process.env.SWITCHBOARD_TEST_VERBOSE) process.stderr.write(`${c.report()}\n`);
    } catch (err) {
      (err as Error).message += `\n${c.report()}`;
      throw err;
    } finally {
      await c.stopAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
