// Pegasus failovers beyond a clean crash, each under a read/write load on a chain, ending with
// a read of every key and a linearizable history:
//  - a server failed over while alive (cut off from the controller for longer than failAfterMs:
//    a false suspicion, as a loaded machine gives) is told to Retire, drops its state and
//    rejoins under its next incarnation; then the other server of its rack crashes, and it
//    takes that one's ids over (a distributed run once stalled here: the rack had no live
//    server left, since the suspected one never came back);
//  - a rack whose every server failed leaves the chain (its switch stops taking requests first);
//  - a failover whose source fails while the successor fetches from it starts again with
//    another source.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KvOp } from '../../apps/kv/kv.ts';
import { NO_CLIENT } from '../../apps/pegasus/messages.ts';
import { incarnationOf } from '../../apps/pegasus/server.ts';
import { assertLinearizable, chainWorld, crashAtFirst, finishWithReads, invokeAll, type World } from './helpers.ts';

describe('pegasus failovers', () => {
  it('a server failed over while alive retires, rejoins under its next incarnation, and takes over when the other server of its rack crashes', () => {
    const w = chainWorld(2, 2000);
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    const ctrl = w.t.controller.host;
    w.sim.cut(ctrl, 'r0s0');
    assert.ok(w.sim.runUntil(() => w.controller().serving[0]![0] === 1, 40), 'r0s0 failed over to r0s1');
    const served = w.server(0, 0).requests;
    w.sim.heal();
    assert.ok(w.sim.runUntil(() => w.controller().stats.rejoins === 1, 40), `r0s0 rejoined (log: ${w.controller().log.join(' | ')})`);
    const c = w.controller();
    assert.equal(c.serving[0]![0], 0);
    assert.equal(c.dead[0]![0], false);
    assert.equal(c.incarnation[0]![0], incarnationOf(0, 1), 'the same host, one retirement on');
    assert.equal(w.server(0, 0).retired, false);
    w.sim.crash('r0s1');
    assert.ok(w.sim.runUntil(() => w.controller().serving[0]![1] === 0, 40), 'r0s1 failed over to the rejoined r0s0');
    const load = w.completed();
    finishWithReads(w);
    assert.ok(w.completed() > load + 500, `the load ran on after the crash (${w.completed() - load} operations)`);
    assert.ok(w.server(0, 0).requests > served + 50, `the rejoined server took ${w.server(0, 0).requests - served} requests (done ${w.completed()} at ${w.sim.now()})`);
    assert.deepEqual(w.controller().chain, [0, 1], 'no rack left the chain');
  });

  it('a rack whose every server failed leaves the chain; its switch takes no requests from then on', () => {
    const w = chainWorld(2, 400);
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    w.sim.crash('r1s0');
    w.sim.advance(0.5);
    w.sim.crash('r1s1');
    assert.ok(w.sim.runUntil(() => w.controller().chain.length === 1, 60), `rack 1 left the chain (log: ${w.controller().log.join(' | ')})`);
    const c = w.controller();
    assert.deepEqual(c.chain, [0]);
    assert.equal(c.rackLive[1], false);
    assert.equal(w.reg(1, 'epoch', 0), 0, 'the rack\'s switch was disabled before it left');
    assert.equal(c.stats.flushes, 0, 'its epoch 0 is not taken for a switch restart');
    finishWithReads(w);
  });

  it('a tail switch taken for failed while alive leaves the chain only once its servers\' leases ran out: a client that has not learnt the new chain reads nothing stale there', () => {
    const w = chainWorld(2, 2500, { rackFailAfterMs: 10 });
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    // The controller loses tor1 (it is alive and passes the clients' requests), and client c1
    // does not hear of the new chain for 30 ms: its reads still go to rack 1.
    w.sim.cut(w.t.controller.host, 'tor1');
    const cutAt = w.sim.now();
    let held = 0;
    const stop = w.sim.network.addFilter((env, info) => {
      if (info.toHost !== 'c1' || env.msg.type !== 'ChainConfig') return 'deliver';
      held++;
      return 'drop';
    });
    assert.ok(w.sim.runUntil(() => w.controller().chain.length === 1, 100), `rack 1 left the chain (log: ${w.controller().log.join(' | ')})`);
    const leftAt = w.sim.now();
    const doneAtLeave = w.completed();
    w.sim.advance(30);
    stop();
    finishWithReads(w);
    assert.ok(held > 0, 'c1 missed the new chain for a while');
    const refused = w.server(1, 0).dropped['no-lease'] ?? 0;
    assert.ok(refused > 0, `rack 1's servers refused ${refused} requests past their leases`);
    assert.ok(leftAt - cutAt >= 10, 'after rackFailAfterMs');
    assert.ok(w.completed() - doneAtLeave > 1000, `the load ran on after rack 1 left (${w.completed() - doneAtLeave} operations)`);
  });

  it('when the tail rack fails, the new tail\'s directory (kept by chain acks, some lost) is not trusted: every rkey is removed with the write back first', () => {
    const w = chainWorld(2, 50, { rackFailAfterMs: 10 });
    w.t.addRkeys(w.sim, ['k0', 'k1']);
    assert.ok(w.sim.runUntil(() => w.rkeyIndex('k1') >= 0 && w.controller().current === undefined, 20), 'the rkeys were added');
    w.runUntilDone(50);
    w.sim.advance(1);
    // Lose every chain acknowledgement to rack 0's switch: its directory stops following writes.
    let lost = 0;
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as { type: string; op?: string; clientId?: number };
      if (info.toHost !== 'tor0' || m.type !== 'Pegasus' || m.op !== 'REP_W' || m.clientId !== NO_CLIENT) return 'deliver';
      lost++;
      return 'drop';
    });
    invokeAll(w, Array.from({ length: 4 }, (_, k): KvOp => ({ op: 'put', key: `k${k % 2}`, value: '' })), 20, 'the writes were acknowledged (by the tail rack)');
    for (const h of ['tor1', ...w.t.serverHosts[1]!]) w.sim.crash(h);
    assert.ok(w.sim.runUntil(() => w.controller().chain.length === 1 && w.controller().current === undefined, 60), 'rack 1 left the chain');
    invokeAll(w, Array.from({ length: 8 }, (_, k): KvOp => ({ op: 'get', key: `k${k % 2}` })), 20, 'the reads completed');
    assert.ok(lost >= 4, `chain acks lost: ${lost}`);
    assertLinearizable(w);
  });

  it('a failover whose source fails during the fetch starts again with another source (3-rack chain)', () => {
    const w = chainWorld(3, 500);
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    // r0s1 fails; its successor r0s0 fetches id 1's state from r1s1, which fails on the request.
    const crashed = crashAtFirst(w, 'FetchState', (info) => info.toHost === 'r1s1');
    w.sim.crash('r0s1');
    assert.ok(w.sim.runUntil(crashed, 40), 'the source crashed at the fetch');
    const c = (): ReturnType<World['controller']> => w.controller();
    assert.ok(w.sim.runUntil(() => c().serving[0]![1] === 0 && c().serving[1]![1] === 0 && c().current === undefined, 60),
      `both failovers completed (log: ${c().log.join(' | ')})`);
    assert.ok(c().log.some((l) => l.includes('again: a source failed')), 'the first failover started again');
    finishWithReads(w);
  });
});

describe('pegasus: a failed server that holds the only copy of an index', () => {
  it('with the other rack out of the chain, a server paused past failAfterMs is failed over by fetching from itself (alive, its state whole), then retires and rejoins', () => {
    // Every key written first; then index 1's only copy is r0s1's.
    const w = chainWorld(2, 30, { rackFailAfterMs: 10 });
    w.runUntilDone(50);
    w.sim.crash('tor1');
    assert.ok(w.sim.runUntil(() => !w.controller().chain.includes(1) && w.controller().current === undefined, 60), 'rack 1 left');
    w.sim.pause('r0s1', 20);
    assert.ok(w.sim.runUntil(() => w.controller().stats.failovers === 1 && w.controller().current === undefined, 60), `r0s1 failed over (log: ${w.controller().log.join(' | ')})`);
    assert.equal(w.controller().serving[0]![1], 0);
    assert.ok(w.sim.runUntil(() => w.controller().stats.rejoins === 1, 60), `and rejoined (log: ${w.controller().log.join(' | ')})`);
    finishWithReads(w);
  });

  it('if that server crashed, the failover waits SELF_SOURCE_WAITS failure timeouts for it, then goes on without it', () => {
    const w = chainWorld(2, 300, { rackFailAfterMs: 10 });
    w.sim.advance(2);
    w.sim.crash('tor1');
    assert.ok(w.sim.runUntil(() => !w.controller().chain.includes(1) && w.controller().current === undefined, 60), 'rack 1 left');
    w.sim.crash('r0s1');
    assert.ok(w.sim.runUntil(() => w.controller().serving[0]![1] === 0 && w.controller().current === undefined, 100), `failed over (log: ${w.controller().log.join(' | ')})`);
    assert.match(w.controller().log.join('\n'), /does not answer; going on without it/);
  });
});

describe('pegasus paused hosts', () => {
  it('a controller paused for twice failAfterMs fails no server over: its own pause is not their silence', () => {
    const w = chainWorld(2, 2000);
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    // As in a stopped process: at its resume the overdue timers run before the answers that
    // came meanwhile are read (here: those answers arrive just after the pause).
    const ctrl = w.t.controller.host;
    const resumeAt = w.sim.now() + 16;
    w.sim.network.addFilter((env, info) => (info.toHost === ctrl && env.msg.type === 'Pong' && w.sim.now() < resumeAt
      ? { delayMs: resumeAt - w.sim.now() + 0.5 } : 'deliver'));
    w.sim.pause(ctrl, 16);
    w.sim.advance(20);
    const c = w.controller();
    assert.equal(c.stats.failovers, 0, `no failover (log: ${c.log.join(' | ')})`);
    assert.match(c.log.join('\n'), /paused; failure clocks start afresh/);
    finishWithReads(w);
  });

  it('a server paused past failAfterMs is failed over; it serves nothing stale from its backlog, retires and rejoins', () => {
    const w = chainWorld(2, 2000);
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    w.sim.pause('r1s0', 16);
    assert.ok(w.sim.runUntil(() => w.controller().stats.failovers === 1 && w.controller().stats.rejoins === 1, 60), `failed over and rejoined (log: ${w.controller().log.join(' | ')})`);
    assert.ok((w.server(1, 0).dropped['no-lease'] ?? 0) + (w.server(1, 0).dropped['retired'] ?? 0) > 0, 'its backlog was not served');
    finishWithReads(w);
  });
});

describe('pegasus controller cut off from every server', () => {
  it('a controller that hears no server at all for twice failAfterMs (as at a start under load) fails none over', () => {
    const w = chainWorld(2, 2000);
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(2);
    const ctrl = w.t.controller.host;
    const servers = w.t.serverHosts.flat();
    for (const h of servers) w.sim.cut(ctrl, h);
    w.sim.advance(16);
    for (const h of servers) w.sim.heal(ctrl, h);
    w.sim.advance(5);
    const c = w.controller();
    assert.equal(c.stats.failovers, 0, `no failover (log: ${c.log.join(' | ')})`);
    assert.deepEqual(c.chain, [0, 1]);
    assert.match(c.log.join('\n'), /no server answers: the silence is taken for the controller's own/);
    finishWithReads(w);
  });
});

describe('pegasus controller start', () => {
  it('a server not heard from since the controller started is given START_GRACE failure timeouts (a host still starting), then failed over', () => {
    const w = chainWorld(2, 3000);
    const ctrl = w.t.controller.host;
    w.sim.cut(ctrl, 'r0s1');
    w.sim.advance(30);
    assert.equal(w.controller().stats.failovers, 0, `not failed over within the grace (log: ${w.controller().log.join(' | ')})`);
    assert.ok(w.sim.runUntil(() => w.controller().stats.failovers === 1, 80), 'failed over once the grace is over');
    w.sim.heal(ctrl, 'r0s1');
    assert.ok(w.sim.runUntil(() => w.controller().stats.rejoins === 1, 40), 'and it rejoined once heard');
    finishWithReads(w);
  });
});

describe('pegasus controller restart', () => {
  it('a restarted controller, its state lost, does nothing: the servers\' leases run out and they stop serving; nothing acknowledged is lost', () => {
    const w = chainWorld(2, 3000);
    w.t.addRkeys(w.sim, ['k0']);
    w.sim.advance(3);
    const ctrl = w.t.controller.host;
    w.sim.crash(ctrl);
    w.sim.advance(0.5);
    w.sim.restart(ctrl);
    w.sim.advance(10);
    assert.equal(w.controller().halted, true);
    assert.match(w.controller().log.join('\n'), /restarted without its state/);
    const stalled = w.completed();
    w.sim.advance(10);
    assert.equal(w.completed(), stalled, 'no operation completes without leases');
    assert.ok(stalled < 6000, 'the load did not finish before the restart');
    const refused = [0, 1].flatMap((r) => [0, 1].map((i) => w.server(r, i).dropped['no-lease'] ?? 0)).reduce((a, b) => a + b, 0);
    assert.ok(refused > 0, 'the servers refused requests past their leases');
    assertLinearizable(w);
  });
});

describe('pegasus adds in a chain', () => {
  it('installs a new rkey rack by rack from the tail up: the tail\'s entry held back for 5 ms leaves no stale read', () => {
    const w = chainWorld(2, 1500);
    w.sim.advance(1);
    let held = 0;
    const heldUntil = w.sim.now() + 5;
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as { type: string; table?: string };
      if (info.toHost !== 'tor1' || m.type !== 'TableInsert' || m.table !== 'rkeys' || w.sim.now() >= heldUntil) return 'deliver';
      held++;
      return 'drop';
    });
    w.t.addRkeys(w.sim, ['k0', 'k1', 'k2']);
    assert.ok(w.sim.runUntil(() => w.rkeyIndex('k0') >= 0, 30), 'the rkeys were added');
    assert.ok(held > 0);
    finishWithReads(w);
  });
});

describe('pegasus late control messages', () => {
  it('a server ignores a late duplicate of an earlier operation\'s request (an RkeyPrepare after the key\'s removal)', () => {
    const w = chainWorld(1, 600);
    const copy = firstCopy(w, 'RkeyPrepare', 'r0s0');
    w.t.addRkeys(w.sim, ['k0']);
    assert.ok(w.sim.runUntil(() => w.rkeyIndex('k0') >= 0 && w.controller().current === undefined, 20), 'k0 became an rkey');
    w.t.removeRkeys(w.sim, ['k0']);
    assert.ok(w.sim.runUntil(() => w.rkeyIndex('k0') < 0 && w.controller().current === undefined, 20), 'k0 was removed');
    assert.ok(copy() !== undefined);
    w.sim.send(w.t.servers[0]![0]!, copy() as never);
    w.sim.advance(0.5);
    assert.equal(w.server(0, 0).replicated.has('k0'), false, 'the late RkeyPrepare did not make k0 replicated again');
    assert.ok((w.server(0, 0).dropped['late-round'] ?? 0) >= 1);
    finishWithReads(w);
  });

  it('a server that recovered takes a late duplicate of its Recover for that recovery as over: it acknowledges it and fetches nothing again', () => {
    // A Recover resent by the controller and held up in the network can arrive after the
    // failover; if no later round reached the server meanwhile, its floor does not stop it. Found
    // by a sweep with the controller's messages delayed: the server recovered again from a rack
    // that had failed since, and dropped every request for good.
    const w = chainWorld(2, 600);
    w.sim.advance(2);
    const copy = firstCopy(w, 'Recover', 'r0s1');
    failOverServer0(w, 0);
    assert.ok(copy() !== undefined && w.server(0, 1).recovering === undefined);
    // The source's state would not come again.
    w.sim.network.addFilter((env) => (env.msg.type === 'StateChunk' ? 'drop' : 'deliver'));
    w.sim.send(w.t.servers[0]![1]!, copy() as never);
    w.sim.advance(0.5);
    assert.equal(w.server(0, 1).recovering, undefined, 'the late Recover started no recovery');
    finishWithReads(w);
  });

  it('an Ack counts only for the request it answers: a late copy of the successor\'s Fence ack does not end the Recover step before the successor has recovered', () => {
    // The controller resends a step's requests until each target acknowledges, so a target may
    // acknowledge one request twice; the second can arrive during the next step of the same
    // operation, to the same server. Keyed by server alone, it ended that step: the successor
    // was mapped to the failed server's id before its state came, and answered reads of the id's
    // keys as missing (the empty read a distributed run under load once saw).
    const w = chainWorld(2, 600);
    w.sim.advance(2);
    let lastAck: unknown;
    w.sim.network.addFilter((env, info) => {
      if (info.fromHost === 'r1s1' && env.msg.type === 'Ack') lastAck = structuredClone(env.msg);
      if (info.toHost === 'r1s1' && env.msg.type === 'Recover' && lastAck !== undefined) {
        // The Fence's ack again, at once; the Recover itself late.
        w.sim.send(w.t.controller, lastAck as never);
        lastAck = undefined;
        return { delayMs: 2 };
      }
      return 'deliver';
    });
    failOverServer0(w, 1);
    finishWithReads(w);
  });
});

/** Crash server 0 of rack r and run until server 1 serves its id and the controller is idle. */
function failOverServer0(w: World, r: number): void {
  w.sim.crash(`r${r}s0`);
  assert.ok(w.sim.runUntil(() => w.controller().serving[r]![0] === 1 && w.controller().current === undefined, 40), `r${r}s0 failed over to r${r}s1`);
}

/** A copy of the first message of `type` to `host` from now on (undefined until one passes). */
function firstCopy(w: World, type: string, host: string): () => unknown {
  let copy: unknown;
  w.sim.network.addFilter((env, info) => {
    if (copy === undefined && info.toHost === host && env.msg.type === type) copy = structuredClone(env.msg);
    return 'deliver';
  });
  return () => copy;
}
