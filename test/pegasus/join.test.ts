// A rack that left the chain joins it again, as its tail, once its switch and every server
// answer the controller: each scenario runs a read/write load on a chain, takes a rack out,
// brings it back, and then (where it can) fails every other rack, so that the final read of
// every key is served by the rack that joined alone: the history is linearizable only if the
// join lost no acknowledged write.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PegasusClientState } from '../../apps/pegasus/client.ts';
import { RACK_FAILURE, rackFailure } from '../../bench/pegasus.ts';
import type { Pegasus } from '../../apps/pegasus/messages.ts';
import { incarnationOf } from '../../apps/pegasus/server.ts';
import { assertLinearizable, chainWorld, crashAtFirst, cutRackOff, finishWithReads, type World } from './helpers.ts';

/** Run until rack r is back in the chain and caught up (the clients read there). */
function untilJoined(w: World, r: number, joins: number, withinMs: number): void {
  const c = (): ReturnType<World['controller']> => w.controller();
  assert.ok(w.sim.runUntil(() => c().stats.rackJoins >= joins && c().chain.includes(r) && c().current === undefined, withinMs),
    `rack ${r} joined again (log: ${c().log.join(' | ')})`);
}

/** Crash rack r's switch and servers, and run until it left the chain. */
function failRack(w: World, r: number, withinMs: number): void {
  for (const h of [w.t.switchHosts[r]!, ...w.t.serverHosts[r]!]) w.sim.crash(h);
  assert.ok(w.sim.runUntil(() => !w.controller().chain.includes(r) && w.controller().current === undefined, withinMs),
    `rack ${r} left the chain (log: ${w.controller().log.join(' | ')})`);
}

describe('pegasus: a rack joins the chain again', () => {
  it('the tail rack, cut off from the controller, leaves; healed, it joins as the tail, catches up under writes, and holds every write once the head rack fails', () => {
    const w = chainWorld(2, 4000, { rackFailAfterMs: 10 });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    cutRackOff(w, 1, 60);
    w.sim.advance(10);
    const beforeJoin = w.completed();
    w.sim.heal(w.t.controller.host, 'tor1');
    untilJoined(w, 1, 1, 60);
    const c = w.controller();
    assert.deepEqual(c.chain, [0, 1], 'it joined as the tail');
    assert.equal(c.rkeys.size, 0, 'every rkey was removed for the join');
    for (const i of [0, 1]) {
      assert.equal(w.server(1, i).inc, incarnationOf(0, 1), 'its servers started over under their next incarnation');
      assert.equal(w.server(1, i).joining, false, 'and caught up');
    }
    assert.ok(w.completed() > beforeJoin + 100, `the load ran on through the join (${w.completed() - beforeJoin} operations)`);
    // Between the old tail learning the new chain and the clients learning it, the old tail
    // serves no reads (the new tail may not have a write it forwarded).
    const notTail = [0, 1].reduce((n, i) => n + (w.server(0, i).dropped['not-tail'] ?? 0), 0);
    assert.ok(notTail > 0, 'the old tail dropped reads while the new one caught up');
    // The load goes on against the chain with the joined rack, then the head rack fails: the
    // joined rack is the only copy left, and every read from then on is served there.
    w.sim.advance(5);
    failRack(w, 0, 80);
    assert.deepEqual(w.controller().chain, [1]);
    finishWithReads(w);
  });

  it('the head rack leaves and comes back as the tail (chain 1>0): the reads move to it, and it holds every write once rack 1 fails', () => {
    const w = chainWorld(2, 4000, { rackFailAfterMs: 10 });
    w.sim.advance(2);
    cutRackOff(w, 0, 60);
    w.sim.advance(5);
    w.sim.heal(w.t.controller.host, 'tor0');
    untilJoined(w, 0, 1, 60);
    assert.deepEqual(w.controller().chain, [1, 0]);
    const served = w.server(0, 0).requests + w.server(0, 1).requests;
    w.sim.advance(5);
    assert.ok(w.server(0, 0).requests + w.server(0, 1).requests > served + 20, 'the joined rack serves (the reads and the forwarded writes)');
    failRack(w, 1, 80);
    finishWithReads(w);
  });

  it('a rack whose every server crashed leaves; once they restart it joins again', () => {
    const w = chainWorld(2, 4000);
    w.sim.advance(2);
    w.sim.crash('r1s0');
    w.sim.crash('r1s1');
    assert.ok(w.sim.runUntil(() => w.controller().chain.length === 1 && w.controller().current === undefined, 60), 'rack 1 left');
    w.sim.restart('r1s0');
    w.sim.restart('r1s1');
    untilJoined(w, 1, 1, 60);
    for (const i of [0, 1]) assert.equal(w.server(1, i).inc, incarnationOf(1, 1), 'the restarted servers joined under their next incarnation');
    w.sim.advance(5);
    failRack(w, 0, 80);
    finishWithReads(w);
  });

  it('a rack whose switch crashed leaves; once the switch restarts (an empty directory, epoch 0) the rack joins again', () => {
    const w = chainWorld(2, 4000, { rackFailAfterMs: 10 });
    w.t.addRkeys(w.sim, ['k0', 'k1']);
    w.sim.advance(2);
    w.sim.crash('tor1');
    assert.ok(w.sim.runUntil(() => !w.controller().chain.includes(1) && w.controller().current === undefined, 60), 'rack 1 left');
    w.sim.advance(3);
    w.sim.restart('tor1');
    untilJoined(w, 1, 1, 60);
    assert.equal(w.controller().stats.flushes, 0, 'its epoch 0 was not taken for a restart of a switch in the chain');
    assert.ok(w.reg(1, 'epoch', 0) > 0, 'enabled');
    w.sim.advance(3);
    failRack(w, 0, 80);
    finishWithReads(w);
  });

  it('a source that fails during the join\'s fetch: the fetch starts again from another rack (3-rack chain)', () => {
    const w = chainWorld(3, 4000, { rackFailAfterMs: 10 });
    w.sim.advance(2);
    cutRackOff(w, 2, 60);
    // Rack 2's server 1 fetches from rack 0's server 1 (the first rack of the chain): it fails on the request.
    const crashed = crashAtFirst(w, 'FetchState', (info) => info.toHost === 'r0s1' && info.fromHost === 'r2s1');
    w.sim.heal(w.t.controller.host, 'tor2');
    untilJoined(w, 2, 1, 80);
    assert.ok(crashed(), 'the source crashed at the fetch');
    assert.ok(w.controller().serving[0]![1] === 0, 'and was failed over');
    // Racks 0 and 1 fail: rack 2 holds everything.
    w.sim.advance(3);
    failRack(w, 0, 80);
    failRack(w, 1, 80);
    assert.deepEqual(w.controller().chain, [2]);
    finishWithReads(w);
  });

  it('a joining server that crashes during the fetch is failed over within its rack; the join completes', () => {
    const w = chainWorld(2, 4000, { rackFailAfterMs: 10 });
    w.sim.advance(2);
    cutRackOff(w, 1, 60);
    const crashed = crashAtFirst(w, 'StateChunk', (info) => info.toHost === 'r1s0');
    w.sim.heal(w.t.controller.host, 'tor1');
    untilJoined(w, 1, 1, 80);
    assert.ok(crashed());
    assert.ok(w.sim.runUntil(() => w.controller().serving[1]![0] === 1 && w.controller().current === undefined, 60), 'r1s0 failed over to r1s1');
    w.sim.advance(3);
    failRack(w, 0, 80);
    finishWithReads(w);
  });

  it('a rack that fails again during its join stays out, and joins once whole', () => {
    const w = chainWorld(2, 4000, { rackFailAfterMs: 10 });
    w.sim.advance(2);
    cutRackOff(w, 1, 60);
    // The first Join to r1s1 finds it crashed; it restarts 5 ms later.
    const crashed = crashAtFirst(w, 'Join', (info) => info.toHost === 'r1s1', 5);
    w.sim.heal(w.t.controller.host, 'tor1');
    untilJoined(w, 1, 1, 120);
    assert.ok(crashed());
    assert.match(w.controller().log.join('\n'), /join abandoned/);
    w.sim.advance(3);
    failRack(w, 0, 80);
    finishWithReads(w);
  });

  it('the old tail serves no reads once it forwards to the joining rack: a read there could see a write the new tail has not yet', () => {
    const w = chainWorld(2, 20, { rackFailAfterMs: 10 });
    w.runUntilDone(50);
    cutRackOff(w, 1, 60);
    // Client c0 does not learn the new chain (it reads at rack 0); c1 does (it reads at rack 1).
    const hold = w.sim.network.addFilter((env, info) => (info.toHost === 'c0' && env.msg.type === 'ChainConfig' ? 'drop' : 'deliver'));
    w.sim.heal(w.t.controller.host, 'tor1');
    const chainOf = (k: number): readonly number[] => w.sim.stateOf<PegasusClientState>(w.t.clients[k]!)!.chain;
    assert.ok(w.sim.runUntil(() => chainOf(1).length === 2, 60), `c1 learnt the chain 0>1 (log: ${w.controller().log.join(' | ')})`);
    assert.deepEqual(chainOf(0), [0]);
    // Writes reach rack 1 5 ms late. c0 writes k0 and reads it at rack 0; then c1 reads it at rack 1.
    const slow = w.sim.network.addFilter((env, info) => (info.toHost.startsWith('r1s') && (env.msg as Pegasus).op === 'PUT_FWD' ? { delayMs: 5 } : 'deliver'));
    w.sim.send(w.t.clients[0]!, { type: 'LoadInvoke', op: { op: 'put', key: 'k0', value: 'new' } });
    w.sim.advance(1);
    w.sim.send(w.t.clients[0]!, { type: 'LoadInvoke', op: { op: 'get', key: 'k0' } });
    w.sim.advance(0.5);
    w.sim.send(w.t.clients[1]!, { type: 'LoadInvoke', op: { op: 'get', key: 'k0' } });
    w.sim.advance(1);
    slow();
    hold();
    w.runUntilDone(50);
    assert.ok(w.sim.runUntil(() => w.completed() >= 43, 50), 'the three operations completed');
    assertLinearizable(w);
    assert.ok((w.server(0, 0).dropped['not-tail'] ?? 0) + (w.server(0, 1).dropped['not-tail'] ?? 0) > 0, 'rack 0 refused c0\'s read');
  });

  it('a client restarted after the chain changed asks for it (ChainQuery): its writes go to the new head', () => {
    const w = chainWorld(2, 20, { rackFailAfterMs: 10 });
    w.runUntilDone(50);
    cutRackOff(w, 0, 60);
    w.sim.crash('c1');
    w.sim.restart('c1');
    const chain = (): readonly number[] => w.sim.stateOf<PegasusClientState>(w.t.clients[1]!)!.chain;
    assert.ok(w.sim.runUntil(() => chain().length === 1, 10), 'the restarted client learnt the chain');
    assert.deepEqual(chain(), [1]);
    // Its next write goes to rack 1's switch (the head now), and is acknowledged.
    const putsTo: string[] = [];
    const watch = w.sim.network.addFilter((env, info) => {
      if (info.fromHost === 'c1' && (env.msg as Pegasus).op === 'PUT') putsTo.push(info.toHost);
      return 'deliver';
    });
    const before = w.completed();
    w.sim.send(w.t.clients[1]!, { type: 'LoadInvoke', op: { op: 'put', key: 'k1', value: 'after-restart' } });
    assert.ok(w.sim.runUntil(() => w.completed() > before, 20), 'the write was acknowledged');
    watch();
    assert.ok(putsTo.length > 0 && putsTo.every((h) => h === 'tor1'), `the write went to ${putsTo.join(', ')}`);
    finishWithReads(w);
  });

  it('a client that missed every chain change writes to a rack that is no longer the head: the write is refused (not acknowledged and lost)', () => {
    const w = chainWorld(2, 20, { rackFailAfterMs: 10 });
    w.runUntilDone(50);
    // c0 hears of no chain change: it keeps writing to rack 0, and reading at rack 1.
    const hold = w.sim.network.addFilter((env, info) => (info.toHost === 'c0' && env.msg.type === 'ChainConfig' ? 'drop' : 'deliver'));
    cutRackOff(w, 0, 60);
    w.sim.heal(w.t.controller.host, 'tor0');
    assert.ok(w.sim.runUntil(() => w.controller().stats.rackJoins === 1 && w.controller().current === undefined, 60), 'rack 0 joined again');
    assert.deepEqual(w.controller().chain, [1, 0]);
    // c0 writes k0 at rack 0 (the tail now; its switch's counter is from before it left); then c1 reads k0 at rack 0.
    w.sim.send(w.t.clients[0]!, { type: 'LoadInvoke', op: { op: 'put', key: 'k0', value: 'late' } });
    w.sim.advance(2);
    w.sim.send(w.t.clients[1]!, { type: 'LoadInvoke', op: { op: 'get', key: 'k0' } });
    w.sim.advance(2);
    hold();
    assert.ok(w.sim.runUntil(() => w.completed() >= 42, 50), 'both operations completed');
    assert.ok([0, 1].some((i) => (w.server(0, i).dropped['not-head'] ?? 0) > 0), 'rack 0 refused c0\'s write');
    // Rack 0 fails: what rack 1 (the head) holds must include every acknowledged write.
    failRack(w, 0, 80);
    finishWithReads(w);
  });
});

describe('pegasus: a rack failure under load (bench pegasus, results.rackFailure)', () => {
  it('32 servers a rack, 100,000 keys, 1,200 ops/ms: the crashed rack leaves, the service comes back, the restarted rack joins, and goodput comes back after the join', () => {
    const r = rackFailure(true, 1200, 1);
    assert.ok(r.steadyPerMs > 1000, `steady goodput ${r.steadyPerMs}`);
    assert.ok(r.leftAfterMs >= RACK_FAILURE.rackFailAfterMs && r.leftAfterMs < 30, `the rack left ${r.leftAfterMs} ms after the crash`);
    assert.ok(Number.isFinite(r.backAfterCrashMs), 'goodput came back within 10% of steady before the restart');
    assert.ok(Number.isFinite(r.joinMs) && Number.isFinite(r.backAfterJoinMs), `joined in ${r.joinMs} ms, goodput back ${r.backAfterJoinMs} ms after`);
  });
});
