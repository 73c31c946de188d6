// Three Pegasus bugs found by a hunt over configurations the sweep does not run, each rebuilt
// by hand here:
//  - an rkey add postponed because a key's home failed left the keys replicated at the
//    servers that had prepared them; an add after it took the last free index, so the
//    postponed keys were never added again, and the servers dropped their writes for good
//    (routed the old way, to a server that took them for rkeys): the load never completed;
//  - the controller's resend of an init's `epoch` write (its ack was lost) reached a switch
//    that had restarted meanwhile and enabled it with verNext 0; the restart went unnoticed
//    (the epoch read non-zero again), and versions started over below the ones already given;
//  - in one rack, the removal of an rkey whose home server was failed but not yet failed over
//    skipped the write back to it; the failover then fetched the index's state from the failed
//    server itself, which missed the rkey's last writes: a read returned an older version.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KvOp } from '../../apps/kv/kv.ts';
import { assertLinearizable, keyHash, world, type World } from './helpers.ts';

const WORKLOAD = { keys: 6, zipf: 0.9, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } } as const;

/** The home index of `key`. */
const homeOf = (w: World, key: string): number => w.t.ring.home(keyHash(key));

/** Invoke `ops` (client k takes the k-th, by turns) and run until they complete. */
function invoke(w: World, ops: readonly KvOp[], withinMs = 50): void {
  const before = w.completed();
  ops.forEach((op, k) => w.sim.send(w.t.clients[k % w.t.clients.length]!, { type: 'LoadInvoke', op }));
  assert.ok(w.sim.runUntil(() => w.completed() >= before + ops.length, withinMs), `${ops.length} operations completed (log: ${w.controller().log.join(' | ')})`);
}

/** The load's end, then a read of every key, and the history checked (the invariants too: no read older than a completed write). */
function finish(w: World, withinMs: number): void {
  w.runUntilDone(withinMs);
  invoke(w, Array.from({ length: WORKLOAD.keys }, (_, k): KvOp => ({ op: 'get', key: `k${k}` })));
  assertLinearizable(w);
}

describe('pegasus: bugs of the configuration hunt', () => {
  it('an add postponed by a failed home releases its keys at the servers: a later add may take the last index', () => {
    // One rkey index. k0's add prepares at every live server but its home, just crashed; the
    // add of k2 (another home) waits behind it and takes the index that k0's postponement frees.
    const w = world({ racks: 2, servers: 3, clients: 2, opsPerClient: 300, workload: WORKLOAD, capacity: 1, controller: { autoRkeys: false, defaultRf: 3 } });
    assert.notEqual(homeOf(w, 'k2'), homeOf(w, 'k0'));
    w.sim.advance(1);
    w.sim.crash(w.t.serverHosts[1]![homeOf(w, 'k0')]!);
    w.t.addRkeys(w.sim, ['k0']);
    w.t.addRkeys(w.sim, ['k2']);
    assert.ok(w.sim.runUntil(() => w.controller().stats.failovers === 1 && w.controller().current === undefined && w.controller().queue.length === 0, 100),
      `the failover and both adds ran (log: ${w.controller().log.join(' | ')})`);
    finish(w, 500);
    const c = w.controller();
    assert.ok(c.log.some((l) => l.includes('add of k0 postponed')), `k0's add was postponed (log: ${c.log.join(' | ')})`);
    assert.deepEqual([...c.rkeys.keys()], ['k2']);
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i < 3; i++) {
        if (c.dead[r]![i]) continue;
        assert.deepEqual([...w.server(r, i).replicated].filter((k) => !c.rkeys.has(k)), [], `server ${r}.${i} treats only rkeys as replicated`);
      }
    }
  });

  it('a resent epoch write is refused by a switch that restarted since, and the restart is noticed', () => {
    // The ack of the init's first `epoch` write to tor0 is lost; tor0 crashes 1.5 ms later and
    // restarts (empty) 0.3 ms after that, before the controller resends the write.
    const w = world({ racks: 2, servers: 4, clients: 3, opsPerClient: 100, workload: WORKLOAD, startDelayMs: 0.1, controller: { autoRkeys: false, defaultRf: 3 } });
    let epochWrite: number | undefined;
    let dropped = false;
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as { type: string; register?: string; id?: number };
      if (epochWrite === undefined && info.toHost === 'tor0' && m.type === 'RegisterWrite' && m.register === 'epoch') epochWrite = m.id;
      if (dropped || info.fromHost !== 'tor0' || m.type !== 'ControlReply' || epochWrite === undefined || m.id !== epochWrite) return 'deliver';
      dropped = true;
      w.sim.scheduler.schedule(1.5, () => w.sim.crash('tor0'));
      w.sim.scheduler.schedule(1.8, () => w.sim.restart('tor0'));
      return 'drop';
    });
    finish(w, 500);
    assert.ok(dropped, 'the epoch write\'s ack was dropped');
    const c = w.controller();
    assert.ok(c.stats.flushes >= 1 && c.log.some((l) => l.includes('rack 0: switch restarted')), `the restart was noticed (log: ${c.log.join(' | ')})`);
  });

  it('one rack: a removal whose home is failed leaves the write back to the home\'s failover, which fetches from the failed server itself', () => {
    // k0 is an rkey whose pushes to its home and to the home's successor-to-be are lost, and
    // whose last write went to the third server. The home is cut off from the controller as
    // k0's removal starts: the removal waits for its answer until it is taken for failed, then
    // its failover fetches from it (no other rack has its index).
    const w = world({ racks: 1, servers: 3, clients: 2, opsPerClient: 100, workload: WORKLOAD, controller: { autoRkeys: false, defaultRf: 3 } });
    const [home, successor, writer] = [0, 1, 2].map((d) => (homeOf(w, 'k0') + d) % 3) as [number, number, number];
    w.t.addRkeys(w.sim, ['k0']);
    assert.ok(w.sim.runUntil(() => w.controller().rkeys.has('k0') && w.controller().current === undefined, 20), 'k0 was added');
    const lost = new Set([home, successor].map((i) => w.t.serverHosts[0]![i]!));
    w.sim.network.addFilter((env, info) => (lost.has(info.toHost) && env.msg.type === 'Pegasus' && (env.msg as { op?: string }).op === 'RC_REQ' ? 'drop' : 'deliver'));
    w.runUntilDone(100);
    const ver = (i: number): number => w.server(0, i).store.version('k0');
    for (let n = 0; !(ver(writer) > Math.max(ver(home), ver(successor))); n++) {
      assert.ok(n < 20, 'a put of k0 went to the third server');
      w.sim.advance(0.1);
      invoke(w, [{ op: 'put', key: 'k0', value: `v${n}` }]);
    }
    w.sim.cut(w.t.controller.host, w.t.serverHosts[0]![home]!);
    w.t.removeRkeys(w.sim, ['k0']);
    assert.ok(w.sim.runUntil(() => w.controller().stats.failovers === 1 && w.controller().current === undefined, 100),
      `the home was failed over (log: ${w.controller().log.join(' | ')})`);
    const log = w.controller().log;
    const removal = log.findIndex((l) => l.includes('remove rkeys k0'));
    assert.ok(removal >= 0 && removal < log.findIndex((l) => l.includes(`failover rack 0 server ${home} (indices ${home}) -> ${successor}`)),
      `k0's removal started before the home's failover (log: ${log.join(' | ')})`);
    w.sim.heal();
    finish(w, 10);
  });
});
