// Local mode runs the same behaviours on nact mailboxes in real time: pingpong, asks, timers, supervision, bounded mailboxes, probes and host crashes work as in sim, and a loss-free topology ends in the same state in both modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AskTimeoutError, behavior, probe, runLocal, runSim, Topology,
  type ActorRef, type AskResult, type LocalRuntime,
} from '../../actors/index.ts';
import { pingPongTopology } from '../../apps/pingpong/topology.ts';
import type { PingerState, PongerState } from '../../apps/pingpong/pingpong.ts';
import { eventually, note, run, scripted, tags, type ScriptMsg, type Seen } from './helpers.ts';

interface Echo { readonly type: 'Echo'; readonly n: number; readonly replyTo: ActorRef<Echoed> }
interface Echoed { readonly type: 'Echoed'; readonly n: number }

const echo = behavior<null, Echo>({
  init: () => null,
  receive: (s, msg, ctx) => {
    ctx.send(msg.replyTo, { type: 'Echoed', n: msg.n });
    return s;
  },
});

/** A local runtime over hosts a and b; shut down after `body`, whatever happens. */
async function withLocal(body: (rt: LocalRuntime) => Promise<void>): Promise<void> {
  const t = new Topology('local');
  t.host('a');
  t.host('b');
  const rt = runLocal(t, { seed: 3, logLevel: 'silent' });
  try {
    await body(rt);
  } finally {
    await rt.shutdown();
  }
}

describe('local mode', () => {
  it('pingpong completes over the in-process network', async () => {
    const pp = pingPongTopology({ count: 300, window: 10, retryMs: 1000 });
    const rt = runLocal(pp.topology, { logLevel: 'silent' });
    try {
      await eventually(() => rt.stateOf<PingerState>(pp.pinger)?.finishedAtMs !== undefined, 5000, 'pingpong finishing');
      const s = rt.stateOf<PingerState>(pp.pinger)!;
      assert.equal(s.answered, 300);
      assert.equal(s.inFlight.size, 0);
      assert.equal(rt.stateOf<PongerState>(pp.ponger)!.answered, 300);
      assert.equal(rt.network.endpoint('a').stats().sentEnvelopes, 300);
      assert.equal(rt.network.endpoint('b').stats().receivedEnvelopes, 300);
    } finally {
      await rt.shutdown();
    }
  });

  it('Runtime.ask resolves with the reply of an actor on another host, and times out on silence', () => withLocal(async (rt) => {
    const e = rt.spawn('b', 'echo', echo);
    assert.deepEqual(await rt.ask<Echo, Echoed>(e, (replyTo) => ({ type: 'Echo', n: 5, replyTo }), 1000), { type: 'Echoed', n: 5 });
    const mute = rt.spawn('b', 'mute', behavior<null, Echo>({ init: () => null, receive: (s) => s }));
    await assert.rejects(rt.ask<Echo, Echoed>(mute, (replyTo) => ({ type: 'Echo', n: 1, replyTo }), 20), AskTimeoutError);
  }));

  it('ctx.ask across hosts gets the reply, and a timeout after about timeoutMs', () => withLocal(async (rt) => {
    const e = rt.spawn('b', 'echo', echo);
    const mute = rt.spawn('b', 'mute', behavior<null, Echo>({ init: () => null, receive: (s) => s }));
    const log: Seen[] = [];
    const results: AskResult<Echoed>[] = [];
    const x = rt.spawn('a', 'x', scripted(log));
    let askedAtMs = 0;
    rt.send(x, run((ctx) => {
      askedAtMs = ctx.now();
      ctx.ask<Echo, Echoed>(e, (replyTo) => ({ type: 'Echo', n: 1, replyTo }), 1000, (r) => { results.push(r); return note('reply'); });
      ctx.ask<Echo, Echoed>(mute, (replyTo) => ({ type: 'Echo', n: 2, replyTo }), 30, (r) => { results.push(r); return note('timeout'); });
    }));
    await eventually(() => log.length === 2, 2000, 'both answers');
    assert.deepEqual(tags(log), ['reply', 'timeout']);
    assert.deepEqual(results, [{ ok: true, reply: { type: 'Echoed', n: 1 } }, { ok: false, reason: 'timeout' }]);
    assert.ok(log[1]!.atMs - askedAtMs >= 29, `timed out after ${log[1]!.atMs - askedAtMs} ms`);
  }));

  it('timers fire after their delay in real time, repeat, and stop when cancelled', () => withLocal(async (rt) => {
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log));
    let startedAtMs = 0;
    rt.send(x, run((ctx) => {
      startedAtMs = ctx.now();
      ctx.startTimer('once', 20, note('once'));
      ctx.startTimer('rep', 5, note('rep'), { repeat: true });
      ctx.startTimer('never', 10, note('never'));
      ctx.cancelTimer('never');
    }));
    const count = (t: string) => tags(log).filter((x) => x === t).length;
    await eventually(() => count('once') === 1 && count('rep') >= 2, 2000, 'the one-shot timer and two repeats');
    rt.send(x, run((ctx) => ctx.cancelTimer('rep')));
    const once = log.find((s) => tags([s])[0] === 'once')!;
    assert.ok(once.atMs - startedAtMs >= 19, `fired after ${once.atMs - startedAtMs} ms`);
    const reps = count('rep');
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(count('rep') <= reps + 1, 'the repeating timer stopped (one may have been in the mailbox)');
    assert.equal(count('once'), 1);
    assert.ok(!tags(log).includes('never'));
  }));

  it('a failing actor is restarted with fresh state under the default strategy', () => withLocal(async (rt) => {
    const x = rt.spawn('a', 'x', scripted([]));
    rt.send(x, note('1'));
    rt.send(x, note('2'));
    await eventually(() => rt.stateOf<number>(x) === 2);
    rt.send(x, { type: 'Boom' });
    rt.send(x, note('3'));
    await eventually(() => rt.metrics().actors.find((a) => a.path === 'x')?.processed === 4);
    assert.equal(rt.stateOf<number>(x), 1);
    assert.equal(rt.metrics().actors.find((a) => a.path === 'x')!.restarts, 1);
  }));

  it('a bounded mailbox under dropNewest keeps the first messages of a burst and counts the rest', () => withLocal(async (rt) => {
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log, { mailbox: { capacity: 5, overflow: 'dropNewest' } }));
    for (let i = 1; i <= 100; i++) rt.send(x, note('m', i));
    await eventually(() => log.length === 5);
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(log.map((s) => (s.msg as unknown as { n: number }).n), [1, 2, 3, 4, 5]);
    const m = rt.metrics().actors.find((a) => a.path === 'x')!;
    assert.equal(m.dropped['mailbox-full'], 95);
    assert.equal(m.received, 100);
  }));

  it('a priority lane: marked messages of a burst are handled before the others waiting', () => withLocal(async (rt) => {
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log, { priority: (msg) => msg.type === 'Note' && msg.tag === 'u' }));
    for (let i = 1; i <= 60; i++) rt.send(x, note(i % 20 === 0 ? 'u' : 'm', i));
    await eventually(() => log.length === 60);
    assert.deepEqual(log.slice(0, 3).map((s) => (s.msg as unknown as { n: number }).n), [20, 40, 60]);
    assert.deepEqual(log.slice(3).map((s) => (s.msg as unknown as { n: number }).n), Array.from({ length: 60 }, (_, i) => i + 1).filter((n) => n % 20 !== 0));
  }));

  it('a bounded mailbox under dropOldest keeps the last messages of a burst', () => withLocal(async (rt) => {
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log, { mailbox: { capacity: 5, overflow: 'dropOldest' } }));
    for (let i = 1; i <= 100; i++) rt.send(x, note('m', i));
    await eventually(() => log.length === 5);
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(log.map((s) => (s.msg as unknown as { n: number }).n), [96, 97, 98, 99, 100]);
    assert.equal(rt.metrics().actors.find((a) => a.path === 'x')!.dropped['mailbox-full'], 95);
  }));

  it('a probe waits in real time: expectMsg for what comes, expectNoMsg for what does not', () => withLocal(async (rt) => {
    const p = probe<Echoed>(rt, 'a', 'local-probe');
    const e = rt.spawn('b', 'echo', echo);
    rt.send(e, { type: 'Echo', n: 42, replyTo: p.ref });
    assert.deepEqual(await p.expectMsg('Echoed', 1000), { type: 'Echoed', n: 42 });
    await p.expectNoMsg(20);
    await assert.rejects(p.expectMsg('Echoed', 10), /a\/probe\/local-probe: no message of type 'Echoed' within 10 ms/);
    rt.send(e, { type: 'Echo', n: 1, replyTo: p.ref });
    await assert.rejects(p.expectNoMsg(500), /expected no message/);
  }));

  it('a crashed host loses its state and drops what is sent to it; a restart starts it fresh, one incarnation up', () => withLocal(async (rt) => {
    const log: Seen[] = [];
    const target = rt.spawn('b', 'target', scripted(log));
    const src = rt.spawn('a', 'src', scripted([]));
    rt.send(src, run((ctx) => ctx.send(target, note('before'))));
    await eventually(() => log.length === 1);
    rt.crash('b');
    assert.equal(rt.stateOf(target), undefined);
    rt.send(src, run((ctx) => ctx.send(target, note('while-down'))));
    await eventually(() => rt.network.endpoint('a').stats().dropped['host-down'] === 1);
    rt.restart('b');
    assert.equal(rt.stateOf<number>(target), 0);
    rt.send(src, run((ctx) => ctx.send(target as ActorRef<ScriptMsg>, note('after'))));
    await eventually(() => log.length === 2);
    assert.deepEqual(log.map((s) => [tags([s])[0], s.incarnation]), [['before', 0], ['after', 1]]);
  }));
});

describe('sim and local agree', () => {
  it('pingpong without loss ends with the same answered count and pinger state in both modes', async () => {
    const opts = { count: 150, window: 8, retryMs: 2000 };
    const summary = (s: PingerState) => ({
      answered: s.answered, nextSeq: s.nextSeq, inFlight: s.inFlight.size, resent: s.resent, duplicates: s.duplicates,
      finished: s.finishedAtMs !== undefined,
    });

    const simPP = pingPongTopology({ ...opts, link: { latencyMs: 0.05 } });
    const sim = runSim(simPP.topology, { seed: 11, logLevel: 'silent' });
    sim.runUntilIdle();
    const simState = summary(sim.stateOf<PingerState>(simPP.pinger)!);

    const localPP = pingPongTopology(opts);
    const local = runLocal(localPP.topology, { logLevel: 'silent' });
    try {
      await eventually(() => local.stateOf<PingerState>(localPP.pinger)?.finishedAtMs !== undefined, 5000, 'local pingpong');
      assert.deepEqual(summary(local.stateOf<PingerState>(localPP.pinger)!), simState);
      assert.deepEqual(local.stateOf<PongerState>(localPP.ponger), sim.stateOf<PongerState>(simPP.ponger));
      assert.deepEqual(simState, { answered: 150, nextSeq: 150, inFlight: 0, resent: 0, duplicates: 0, finished: true });
    } finally {
      await local.shutdown();
    }
  });
});

describe('local mode shutdown', () => {
  it('fails an outside ask still waiting, at once, and leaves no timer behind', async () => {
    const t = new Topology('silent');
    t.host('a');
    const mute = t.actor(t.hosts[0]!.name, 'mute', behavior<null, Echo>({ init: () => null, receive: (s) => s }));
    const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    const rt = runLocal(t, { logLevel: 'silent' });
    const pending = rt.ask<Echo, Echoed>(mute, (replyTo) => ({ type: 'Echo', n: 1, replyTo }), 60_000);
    assert.ok(timeouts() > before, 'the ask has its timeout timer');
    const t0 = performance.now();
    await rt.shutdown();
    await assert.rejects(pending, AskTimeoutError);
    assert.ok(performance.now() - t0 < 1000, 'the ask waited for its timeout after shutdown');
    assert.ok(timeouts() <= before, `${timeouts() - before} timer(s) left after shutdown`);
  });

  it('stops an actor whose init always throws, even with a zero-width restart window', async () => {
    const t = new Topology('crashy');
    t.host('a');
    const bad = t.actor('a', 'bad', behavior<null, Echo>({
      init: () => { throw new Error('no'); }, receive: (s) => s,
      supervision: { strategy: 'restart', maxRestarts: 2, withinMs: 0 },
    }));
    const rt = runLocal(t, { logLevel: 'silent' });
    try {
      assert.equal(rt.isAlive(bad), false);
    } finally {
      await rt.shutdown();
    }
  });
});
