// The Pegasus coherence directory in named scenarios: each test drives exact packets (delays,
// drops, crashes) and then checks the directory's registers, the history's linearizability and
// the invariant that reads never return a version older than one already returned.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { delayMatching, dropMatching } from '../../actors/index.ts';
import type { Pegasus } from '../../apps/pegasus/messages.ts';
import { EPOCH_SHIFT, pegasusDirectory, pushGroups, writeTarget } from '../../apps/pegasus/switch-program.ts';
import { netcacheProgram } from '../../apps/netcache/switch-program.ts';
import { checkResources } from '../../switch-model/index.ts';
import type { KvOp } from '../../apps/kv/kv.ts';
import { assertLinearizable, chainWorld, finishWithReads, world, type World } from './helpers.ts';

function invoke(w: World, client: number, op: KvOp): void {
  w.sim.send(w.t.clients[client]!, { type: 'LoadInvoke', op });
}

const peg = (m: unknown): Pegasus => m as Pegasus;

describe('pegasus directory', () => {
  it('fits the Tofino-like budget with 64 and 128 rkeys and 32 servers, as NetCache does', () => {
    for (const capacity of [64, 128]) {
      const r = checkResources(pegasusDirectory({ rack: 0, servers: 32, capacity }));
      assert.ok(r.ok, r.overuses.join('; '));
      assert.ok(r.stages.length <= 12);
    }
    assert.ok(checkResources(netcacheProgram()).ok);
  });

  it('sends reads of an rkey only to servers at verCompleted, and the set grows back after a write', () => {
    const w = world({ opsPerClient: 0, controller: { autoRkeys: false, defaultRf: 4 } });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    invoke(w, 0, { op: 'put', key: 'k0', value: 'a' });
    w.sim.advance(2);
    const idx = w.rkeyIndex('k0');
    assert.ok(idx >= 0);
    const ver = w.reg(0, 'verCompleted', idx);
    assert.ok(ver > 2 ** EPOCH_SHIFT, 'versions carry the epoch in their high bits');
    const set = w.rset(0, 'k0');
    assert.equal(set.length, 4, `RC_ACKs grew the set back to every server: ${set}`);
    for (const s of set) assert.equal(w.server(0, s).store.version('k0'), ver);
    for (let i = 0; i < 8; i++) invoke(w, 1, { op: 'get', key: 'k0' });
    w.sim.advance(3);
    assert.equal(w.sim.stateOf<{ load: { lastValue: Map<string, string> } }>(w.t.clients[1]!)!.load.lastValue.get('k0'), 'a');
    const served = [0, 1, 2, 3].filter((i) => w.server(0, i).requests > 0);
    assert.ok(served.length >= 3, 'reads spread round robin over the set');
    assertLinearizable(w);
  });

  it('replicates a new rkey to every server even if it is only read (replication is not left to writes)', () => {
    for (const populate of [false, true]) {
      // populate: every key starts stored at its home (version 0); otherwise k0 was never written.
      const w = world({ opsPerClient: 0, populate, controller: { autoRkeys: false, defaultRf: 1 } });
      const gets = new Map<string, number>();
      w.sim.network.addFilter((env, info) => {
        if (env.msg.type === 'Pegasus' && peg(env.msg).op === 'GET' && info.toHost.startsWith('r0s')) gets.set(info.toHost, (gets.get(info.toHost) ?? 0) + 1);
        return 'deliver';
      });
      w.t.addRkeys(w.sim, ['k0']);
      w.sim.advance(3);
      assert.deepEqual([...w.rset(0, 'k0')].sort(), [0, 1, 2, 3], `populate ${populate}: every server joined the set`);
      for (let i = 0; i < 8; i++) invoke(w, 1, { op: 'get', key: 'k0' });
      w.sim.advance(3);
      assert.equal(gets.size, 4, `populate ${populate}: reads spread over the whole set (${[...gets]})`);
      assertLinearizable(w);
    }
  });

  it('ignores a read reply reordered behind a newer write (reply reordering around a write)', () => {
    const w = world({ opsPerClient: 0, controller: { autoRkeys: false, defaultRf: 1 } });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    invoke(w, 0, { op: 'put', key: 'k0', value: 'old' });
    w.sim.advance(1);
    // The next read's reply is held back 1 ms on its way to the switch; a write overtakes it.
    w.sim.network.addFilter(delayMatching({ type: 'Pegasus', toHost: 'tor0', where: (env) => peg(env.msg).op === 'REP_R' }, 1));
    invoke(w, 1, { op: 'get', key: 'k0' });
    w.sim.advance(0.05);
    invoke(w, 0, { op: 'put', key: 'k0', value: 'new' });
    w.sim.advance(0.5);
    const idx = w.rkeyIndex('k0');
    const afterWrite = w.reg(0, 'verCompleted', idx);
    const writer = w.rset(0, 'k0');
    w.sim.advance(3);
    assert.equal(w.reg(0, 'verCompleted', idx), afterWrite, 'the late reply of an older version changed nothing');
    assert.deepEqual(w.rset(0, 'k0'), writer);
    for (const s of w.rset(0, 'k0')) assert.equal(w.server(0, s).store.get('k0')?.value, 'new');
    assertLinearizable(w);
  });

  it('lets the acks of the pushes overtake the reply of the write: the first message with the new version resets the set', () => {
    const w = world({ opsPerClient: 0, controller: { autoRkeys: false, defaultRf: 3 } });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    invoke(w, 0, { op: 'put', key: 'k0', value: 'old' });
    w.sim.advance(1);
    // The write's reply is held back 0.5 ms on its way to the switch; its pushes' acks are not.
    w.sim.network.addFilter(delayMatching({ type: 'Pegasus', toHost: 'tor0', where: (env) => peg(env.msg).op === 'REP_W' }, 0.5));
    invoke(w, 0, { op: 'put', key: 'k0', value: 'new' });
    w.sim.advance(0.2);
    const idx = w.rkeyIndex('k0');
    const ver = w.reg(0, 'verCompleted', idx);
    const ackers = w.rset(0, 'k0');
    assert.equal(ackers.length, 2, 'the two acks made the set, before the reply');
    for (const s of ackers) assert.equal(w.server(0, s).store.get('k0')?.ver, ver);
    // Reads now, while the write has not returned, see the new value (from the ackers)...
    invoke(w, 1, { op: 'get', key: 'k0' });
    invoke(w, 1, { op: 'get', key: 'k0' });
    w.sim.advance(1);
    // ...and the late reply (same version) adds the writer.
    assert.equal(w.reg(0, 'verCompleted', idx), ver);
    assert.equal(w.rset(0, 'k0').length, 3);
    assert.equal(w.completed(), 4);
    assert.equal(w.t.clients.map((c) => w.sim.stateOf<{ load: { lastValue: Map<string, string> } }>(c)!.load.lastValue.get('k0'))[1], 'new');
    assertLinearizable(w);
  });

  it('keeps concurrent writes to one rkey linearizable', () => {
    const w = world({
      clients: 3, sessions: 3, opsPerClient: 60, workload: { keys: 1, zipf: 0, readRatio: 0.4, valueSize: { kind: 'fixed', bytes: 32 } },
      controller: { autoRkeys: false, defaultRf: 3 }, network: { jitterMs: 0.01 },
    });
    w.t.addRkeys(w.sim, ['k0']);
    w.runUntilDone(100);
    const idx = w.rkeyIndex('k0');
    const ver = w.reg(0, 'verCompleted', idx);
    assert.equal(ver, Math.max(...[0, 1, 2, 3].map((i) => w.server(0, i).store.version('k0'))));
    assertLinearizable(w);
  });

  it('stays linearizable while reads and writes run through an add and a remove', () => {
    const w = world({ clients: 3, sessions: 2, opsPerClient: 120, workload: { keys: 2, zipf: 0, readRatio: 0.6, valueSize: { kind: 'fixed', bytes: 32 } } });
    w.sim.advance(1);
    w.t.addRkeys(w.sim, ['k0', 'k1']);
    w.sim.advance(1.5);
    w.t.removeRkeys(w.sim, ['k0']);
    w.sim.advance(0.7);
    w.t.addRkeys(w.sim, ['k0']);
    w.runUntilDone(200);
    const c = w.controller();
    assert.ok(c.stats.adds >= 3 && c.stats.removes >= 1, JSON.stringify(c.stats));
    assertLinearizable(w);
  });

  it('ignores a late RC_ACK after a newer write', () => {
    const w = world({ opsPerClient: 0, controller: { autoRkeys: false, defaultRf: 4 } });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    // Server 2's acknowledgements are held back 1 ms; the next write's push never reaches it.
    w.sim.network.addFilter(delayMatching({ fromHost: 'r0s2', where: (env) => env.msg.type === 'Pegasus' && peg(env.msg).op === 'RC_ACK' }, 1));
    invoke(w, 0, { op: 'put', key: 'k0', value: 'v1' });
    w.sim.advance(0.2);
    w.sim.network.addFilter(dropMatching({ toHost: 'r0s2', where: (env) => env.msg.type === 'Pegasus' && peg(env.msg).op === 'RC_REQ' }));
    // The second write goes to a server other than 2 (write targets are a hash of the request id).
    const writer = writeTarget(1, 0, 1, 4) !== 2 ? 1 : 0;
    assert.notEqual(writeTarget(writer, 0, writer === 1 ? 1 : 2, 4), 2);
    invoke(w, writer, { op: 'put', key: 'k0', value: 'v2' });
    w.sim.advance(3);
    const idx = w.rkeyIndex('k0');
    const ver = w.reg(0, 'verCompleted', idx);
    for (const s of w.rset(0, 'k0')) assert.equal(w.server(0, s).store.version('k0'), ver, `member ${s} holds the newest version`);
    assert.ok(w.server(0, 2).store.version('k0') < ver, 'server 2 never got the second write');
    assert.ok(!w.rset(0, 'k0').includes(2), 'the late ack of an older version did not add server 2');
    for (let i = 0; i < 6; i++) invoke(w, 1, { op: 'get', key: 'k0' });
    w.sim.advance(3);
    assertLinearizable(w);
  });

  it('survives a server crash during replication (2-rack chain): failover, fences, no lost write', () => {
    const w = world({
      racks: 2, clients: 2, sessions: 2, opsPerClient: 150, workload: { keys: 3, zipf: 0, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } },
      controller: { autoRkeys: false, defaultRf: 4 },
    });
    w.t.addRkeys(w.sim, ['k0', 'k1']);
    w.sim.advance(2);
    // Crash a tail server just as it receives a push.
    let crashed = false;
    w.sim.network.addFilter((env, info) => {
      if (!crashed && info.toHost === 'r1s1' && env.msg.type === 'Pegasus' && peg(env.msg).op === 'RC_REQ') {
        crashed = true;
        w.sim.crash('r1s1');
        return 'drop';
      }
      return 'deliver';
    });
    w.sim.advance(2);
    assert.ok(crashed);
    w.sim.advance(3);
    w.sim.restart('r1s1');
    w.runUntilDone(300);
    const c = w.controller();
    assert.equal(c.stats.failovers, 1);
    // Restarted, it took its id back (test/pegasus/rejoin.test.ts).
    assert.equal(c.stats.rejoins, 1);
    assert.equal(c.serving[1]![1], 1, 'server 1 of rack 1 serves its id again');
    assert.ok(!w.rset(1, 'k0').includes(1) || w.reg(1, 'verCompleted', w.rkeyIndex('k0')) <= w.server(1, c.serving[1]![1]!).store.version('k0'));
    assertLinearizable(w);
  });

  it('after a switch restart, versions stay above all earlier ones and the directory starts empty', () => {
    const w = world({ clients: 2, sessions: 2, opsPerClient: 150, controller: { autoRkeys: false, defaultRf: 3 } });
    w.t.addRkeys(w.sim, ['k0', 'k1']);
    w.sim.advance(2.5);
    const before = w.reg(0, 'verNext', 0);
    w.sim.crash('tor0');
    w.sim.advance(1);
    w.sim.restart('tor0');
    w.sim.advance(0.01);
    assert.equal(w.reg(0, 'epoch', 0), 0, 'a restarted switch is disabled until the controller has made it safe');
    w.runUntilDone(300);
    const c = w.controller();
    assert.equal(c.stats.flushes, 1);
    assert.equal(c.rkeys.size, 0, 'the flush removed every rkey (written back to the homes first)');
    assert.ok(w.reg(0, 'verNext', 0) > before && Math.floor(w.reg(0, 'verNext', 0) / 2 ** EPOCH_SHIFT) > Math.floor(before / 2 ** EPOCH_SHIFT));
    assertLinearizable(w);
  });

  it('a probe that read the epoch before the rack was set up, answering late, is not taken for a switch restart', () => {
    // The controller probes each switch's epoch from its start; until the rack's init sets it,
    // the probes read 0. One such answer held up past the init used to look like a restart of a
    // live switch: a flush and an init of a switch that had lost nothing (and stale reads).
    const w = world({ clients: 2, sessions: 2, opsPerClient: 150, controller: { autoRkeys: false, defaultRf: 3 } });
    let held = 0;
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as { type: string; value?: unknown };
      if (info.toHost === w.t.controller.host && m.type === 'ControlReply' && m.value === 0 && info.nowMs < 0.5) return held++, { delayMs: 1 };
      return 'deliver';
    });
    w.t.addRkeys(w.sim, ['k0', 'k1']);
    w.runUntilDone(300);
    w.sim.advance(5);
    assert.ok(held > 0, 'some early reads of the epoch were held up');
    assert.equal(w.controller().stats.flushes, 0);
    assertLinearizable(w);
  });

  it('keeps acknowledged writes through a rack failure in a 3-rack chain', () => {
    const w = world({
      racks: 3, clients: 2, sessions: 2, opsPerClient: 150, workload: { keys: 4, zipf: 0, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } },
      controller: { autoRkeys: false, defaultRf: 2 },
    });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(3);
    // The tail rack fails: its switch and every server.
    for (const h of [w.t.switchHosts[2]!, ...w.t.serverHosts[2]!]) w.sim.crash(h);
    w.runUntilDone(500);
    const c = w.controller();
    assert.deepEqual(c.chain, [0, 1]);
    assert.equal(c.stats.rackFailures, 1);
    assertLinearizable(w);
  });

  it('steers least-loaded reads away from a server with a queue (its load is its queue length)', () => {
    const w = world({ opsPerClient: 0, readPolicy: 'least-loaded', controller: { autoRkeys: false } });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    assert.ok(w.rset(0, 'k0').includes(2), 'server 2 holds k0');
    // A burst of 20 reads of a cold key at server 2, entering on client 0's port: they queue
    // there (about 10 us each), and its first replies carry the queue behind them.
    const port = w.t.switches[0]!.ports[4]!;
    const before = w.server(0, 2).requests;
    for (let i = 0; i < 20; i++) {
      w.sim.send(port, {
        type: 'Pegasus', op: 'GET', keyhash: 1, clientId: 0, serverId: 2, load: 0, ver: 0, bitmap: 0, replicated: 0, rf: 1, rack: 0,
        from: 'c0', key: 'k1', value: '', valueBytes: 0, session: 1000 + i, reqId: 1, sizeBytes: 70,
      } satisfies Pegasus);
    }
    for (let i = 0; i < 20 && w.reg(0, 'loadA', 2) === 0; i++) w.sim.advance(0.005);
    const loads = [0, 1, 2, 3].map((i) => w.reg(0, 'loadA', i));
    assert.ok(loads[2]! >= 12 && loads[2]! <= 19, `server 2 reports the requests waiting behind the one it answers: ${loads.join(' ')}`);
    for (let i = 0; i < 8; i++) invoke(w, i % 2, { op: 'get', key: 'k0' });
    w.sim.advance(2);
    assert.equal(w.server(0, 2).requests - before, 20, 'no read of k0 went to server 2, which was still busy with the burst');
    assert.equal(w.completed(), 8);
    assert.equal(w.reg(0, 'loadA', 2), 0, 'its last reply said its queue was empty');
  });

  it('pushes after a write as one packet that the switch copies to rf-1 servers, never back to the writer', () => {
    const w = world({ opsPerClient: 0, controller: { autoRkeys: false, defaultRf: 3 } });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    const pushes = w.t.servers[0]!.map((_, i) => w.server(0, i).pushes);
    // RC_REQ packets on the wire: into the switch, and out of it.
    const rcReq = { in: 0, out: 0 };
    w.sim.network.addFilter((env, info) => {
      if (env.msg.type === 'Pegasus' && peg(env.msg).op === 'RC_REQ') rcReq[info.toHost === 'tor0' ? 'in' : 'out']++;
      return 'deliver';
    });
    invoke(w, 0, { op: 'put', key: 'k0', value: 'a' });
    w.sim.advance(2);
    const ver = w.reg(0, 'verCompleted', w.rkeyIndex('k0'));
    const holders = w.t.servers[0]!.map((_, i) => w.server(0, i).store.get('k0')?.ver === ver);
    assert.equal(holders.filter(Boolean).length, 3, 'the writer and two copies hold the new version');
    const writers = w.t.servers[0]!.map((_, i) => w.server(0, i).pushes - pushes[i]!);
    assert.deepEqual(writers.filter((x) => x > 0), [2], 'one server pushed, to two others');
    assert.deepEqual(rcReq, { in: 1, out: 2 }, 'one packet from the writer, two copies from the switch');
    assert.equal(w.rset(0, 'k0').length, 3, 'the acks grew the set back');
    for (const n of [4, 32]) {
      const groups = pushGroups(n);
      assert.equal(groups.length, n * (n - 1));
      assert.ok(Math.max(...groups.map((g) => g.group)) <= 65_535);
      for (const g of groups) assert.equal(new Set(g.ports).size, g.ports.length);
    }
  });

  it('lets the checker catch the incoherent variant (reads sent to any server), which Pegasus exists to prevent', () => {
    let caught = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const opts = {
        seed, clients: 3, sessions: 2, opsPerClient: 60, workload: { keys: 2, zipf: 0, readRatio: 0.6, valueSize: { kind: 'fixed' as const, bytes: 32 } },
        controller: { autoRkeys: false, defaultRf: 1 },
      };
      const bad = world({ ...opts, incoherent: true });
      bad.t.addRkeys(bad.sim, ['k0', 'k1']);
      bad.runUntilDone(200);
      if (bad.check().verdict === 'not-linearizable') caught++;
      const good = world(opts);
      good.t.addRkeys(good.sim, ['k0', 'k1']);
      good.runUntilDone(200);
      assertLinearizable(good);
    }
    assert.ok(caught >= 3, `the checker caught ${caught} of 6 incoherent runs`);
  });
});

describe('pegasus versions', () => {
  it('moves the head to a new epoch once its version counter passes half the epoch\'s range (before it could run into the next epoch\'s versions); a switch restart after it still stamps above every version', () => {
    const w = chainWorld(2, 3000);
    w.sim.advance(2);
    const epoch = w.controller().epoch;
    // Where a long run leaves the head's counter: past half of its epoch's range.
    const base = Math.floor(w.reg(0, 'verNext', 0) / 2 ** EPOCH_SHIFT) * 2 ** EPOCH_SHIFT;
    w.sim.send(w.t.switches[0]!.control, { type: 'RegisterWrite', register: 'verNext', index: 0, value: base + 2 ** (EPOCH_SHIFT - 1) + 10, replyTo: w.t.controller });
    w.sim.advance(5);
    assert.equal(w.controller().epoch, epoch + 1, `a new epoch (log: ${w.controller().log.join(' | ')})`);
    assert.match(w.controller().log.join('\n'), /version counter passed half its range/);
    assert.ok(w.reg(0, 'verNext', 0) > (epoch + 1) * 2 ** EPOCH_SHIFT, 'the head stamps in the new epoch');
    assert.ok(Number.isSafeInteger(w.reg(0, 'verNext', 0)));
    w.sim.crash('tor0');
    w.sim.advance(1);
    w.sim.restart('tor0');
    finishWithReads(w);
    assert.ok(w.reg(0, 'verNext', 0) > (epoch + 2) * 2 ** EPOCH_SHIFT, 'the restarted head stamps in a later epoch still');
  });
});
