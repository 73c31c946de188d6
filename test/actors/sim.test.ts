// Sim mode runs behaviours on virtual time with seeded faults, exactly and repeatably: these scenarios pin down timers, asks, lifecycle, supervision, dead letters, mailboxes, metrics, crashes and every network fault.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AskTimeoutError, behavior, dropMatching, delayMatching, runSim, Topology,
  type ActorRef, type AnyRef, type AskResult, type DeadLetter, type Msg, type SimOptions, type TraceEvent,
} from '../../actors/index.ts';
import { pingPongTopology } from '../../apps/pingpong/topology.ts';
import type { PingerState } from '../../apps/pingpong/pingpong.ts';
import type { LinkOptions } from '../../transport/memory/sim-network.ts';
import { note, num, run, scripted, tag, tags, tagsAt, type ScriptMsg, type Seen } from './helpers.ts';

const quiet: Partial<SimOptions> = { logLevel: 'silent' };

/** A topology of `hosts`, and a runtime over it, with no actors yet. */
function world(hosts: string[], opts: Partial<SimOptions> & { links?: [string, string, LinkOptions][] } = {}) {
  const t = new Topology('test');
  for (const h of hosts) t.host(h);
  for (const [a, b, o] of opts.links ?? []) t.link(a, b, o);
  return runSim(t, { seed: 1, ...quiet, ...opts });
}

interface Echo { readonly type: 'Echo'; readonly n: number; readonly replyTo: ActorRef<Echoed> }
interface Echoed { readonly type: 'Echoed'; readonly n: number }

const echo = behavior<null, Echo>({
  init: () => null,
  receive: (s, msg, ctx) => {
    ctx.send(msg.replyTo, { type: 'Echoed', n: msg.n });
    return s;
  },
});

const silent = behavior<null, Echo>({ init: () => null, receive: (s) => s });

function runPingPong(seed: number) {
  const pp = pingPongTopology({ count: 200, window: 5, retryMs: 5, link: { latencyMs: 0.5, jitterMs: 0.4, dropRate: 0.1 } });
  const rt = runSim(pp.topology, { seed, ...quiet });
  const done = rt.runUntil(() => rt.stateOf<PingerState>(pp.pinger)?.finishedAtMs !== undefined, 60_000);
  assert.ok(done, `pingpong with seed ${seed} did not finish`);
  const s = rt.stateOf<PingerState>(pp.pinger)!;
  return { hash: rt.traceHash(), answered: s.answered, resent: s.resent, finishedAtMs: s.finishedAtMs };
}

describe('sim determinism', () => {
  it('one seed gives one trace hash, byte for byte, over a lossy jittery link', () => {
    const first = runPingPong(42);
    const second = runPingPong(42);
    assert.equal(first.answered, 200);
    assert.ok(first.resent > 0, 'a 10% lossy link should have forced resends');
    assert.deepEqual(second, first);
  });

  it('a different seed gives a different trace hash', () => {
    assert.notEqual(runPingPong(42).hash, runPingPong(43).hash);
  });
});

describe('sim timers', () => {
  it('a one-shot timer fires at exactly its virtual time, once', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const r = rt.spawn('a', 'x', scripted(log));
    rt.advance(3);
    rt.send(r, run((ctx) => ctx.startTimer('t', 10, note('t'))));
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['t', 13]]);
  });

  it('a cancelled timer never fires and is no longer active', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const r = rt.spawn('a', 'x', scripted(log));
    let activeBefore = false;
    let activeAfter = true;
    rt.send(r, run((ctx) => ctx.startTimer('t', 10, note('t'))));
    rt.advance(5);
    rt.send(r, run((ctx) => {
      activeBefore = ctx.isTimerActive('t');
      ctx.cancelTimer('t');
      activeAfter = ctx.isTimerActive('t');
    }));
    rt.advance(100);
    assert.equal(activeBefore, true);
    assert.equal(activeAfter, false);
    assert.equal(log.length, 0);
  });

  it('a repeating timer fires every period until cancelled', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const r = rt.spawn('a', 'x', scripted(log));
    rt.send(r, run((ctx) => ctx.startTimer('r', 7, note('r'), { repeat: true })));
    rt.advance(30);
    rt.send(r, run((ctx) => ctx.cancelTimer('r')));
    rt.advance(100);
    assert.deepEqual(log.map((s) => s.atMs), [7, 14, 21, 28]);
    assert.equal(rt.runUntilIdle().idle, true);
  });

  it('restarting a named timer replaces it: only the new one fires, at its new time', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const r = rt.spawn('a', 'x', scripted(log));
    rt.send(r, run((ctx) => ctx.startTimer('t', 10, note('old'))));
    rt.advance(5);
    rt.send(r, run((ctx) => ctx.startTimer('t', 10, note('new'))));
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['new', 15]]);
  });
});

describe('sim delayed sends', () => {
  it('ctx.send with afterMs arrives that much later, in time order, on the same host and across a link', () => {
    const rt = world(['a', 'b'], { links: [['a', 'b', { latencyMs: 1 }]] });
    const log: Seen[] = [];
    const near = rt.spawn('a', 'near', scripted(log));
    const far = rt.spawn('b', 'far', scripted(log));
    const r = rt.spawn('a', 'x', scripted([]));
    rt.advance(2);
    rt.send(r, run((ctx) => {
      ctx.send(near, note('later'), { afterMs: 5 });
      ctx.send(near, note('sooner'), { afterMs: 3 });
      ctx.send(far, note('far'), { afterMs: 4 });
      ctx.send(near, note('now'), { afterMs: 0 });
    }));
    rt.runUntilIdle();
    // The link's latency comes after the delay: the message leaves host a at 6.
    assert.deepEqual(tagsAt(log), [['now', 2], ['sooner', 5], ['later', 7], ['far', 7]]);
  });

  it('a delayed send to another host is lost if its sender host crashes first; a bad delay is refused', () => {
    const rt = world(['a', 'b']);
    const log: Seen[] = [];
    const far = rt.spawn('b', 'far', scripted(log));
    const r = rt.spawn('a', 'x', scripted([]));
    const refused: string[] = [];
    rt.send(r, run((ctx) => {
      ctx.send(far, note('lost'), { afterMs: 10 });
      for (const afterMs of [-1, NaN, Infinity]) {
        try {
          ctx.send(far, note('bad'), { afterMs });
        } catch (err) {
          refused.push((err as Error).message);
        }
      }
    }));
    rt.advance(5);
    rt.crash('a');
    rt.restart('a');
    rt.runUntilIdle();
    assert.deepEqual(log, []);
    assert.equal(refused.length, 3);
    assert.match(refused[0]!, /afterMs must be a finite duration >= 0, got -1/);
  });
});

describe('sim ask', () => {
  it('ctx.ask brings the reply back through adapt, one round trip later', () => {
    const rt = world(['a', 'b'], { links: [['a', 'b', { latencyMs: 2 }]] });
    const e = rt.spawn('b', 'echo', echo);
    const log: Seen[] = [];
    const results: AskResult<Echoed>[] = [];
    const asker = rt.spawn('a', 'asker', scripted(log));
    rt.send(asker, run((ctx) => ctx.ask<Echo, Echoed>(
      e, (replyTo) => ({ type: 'Echo', n: 7, replyTo }), 100, (result) => { results.push(result); return note('answer'); })));
    rt.runUntilIdle();
    assert.deepEqual(results, [{ ok: true, reply: { type: 'Echoed', n: 7 } }]);
    assert.deepEqual(tagsAt(log), [['answer', 4]]);
  });

  it('ctx.ask with no reply gives adapt {ok:false, reason:"timeout"} at exactly the timeout', () => {
    const rt = world(['a', 'b']);
    const s = rt.spawn('b', 'silent', silent);
    const log: Seen[] = [];
    const results: AskResult<Echoed>[] = [];
    const asker = rt.spawn('a', 'asker', scripted(log));
    rt.send(asker, run((ctx) => ctx.ask<Echo, Echoed>(
      s, (replyTo) => ({ type: 'Echo', n: 1, replyTo }), 50, (result) => { results.push(result); return note('answer'); })));
    rt.runUntilIdle();
    assert.deepEqual(results, [{ ok: false, reason: 'timeout' }]);
    assert.deepEqual(tagsAt(log), [['answer', 50]]);
  });

  it('a reply after the timeout is a dead letter, not a second answer', () => {
    const rt = world(['a', 'b'], { links: [['a', 'b', { latencyMs: 30 }]] });
    const e = rt.spawn('b', 'echo', echo);
    const log: Seen[] = [];
    const asker = rt.spawn('a', 'asker', scripted(log));
    rt.send(asker, run((ctx) => ctx.ask<Echo, Echoed>(
      e, (replyTo) => ({ type: 'Echo', n: 1, replyTo }), 50, (result) => ({ type: 'Note', tag: result.ok ? 'ok' : result.reason }))));
    rt.runUntilIdle();
    assert.deepEqual(tags(log), ['timeout']);
    assert.equal(rt.metrics().deadLetters, 1);
  });

  it('Runtime.ask from outside resolves with the reply', async () => {
    const rt = world(['a']);
    const e = rt.spawn('a', 'echo', echo);
    const p = rt.ask<Echo, Echoed>(e, (replyTo) => ({ type: 'Echo', n: 9, replyTo }), 100);
    rt.runUntilIdle();
    assert.deepEqual(await p, { type: 'Echoed', n: 9 });
  });

  it('Runtime.ask from outside rejects with AskTimeoutError when nobody answers', async () => {
    const rt = world(['a']);
    const s = rt.spawn('a', 'silent', silent);
    const p = rt.ask<Echo, Echoed>(s, (replyTo) => ({ type: 'Echo', n: 9, replyTo }), 100);
    rt.runUntilIdle();
    assert.equal(rt.now(), 100);
    await assert.rejects(p, (err: unknown) => err instanceof AskTimeoutError && /a\/silent/.test(err.message) && /100 ms/.test(err.message));
  });
});

describe('sim spawn, stop and death watch', () => {
  it('stopping a parent stops its child first, and both onStop hooks run', () => {
    const rt = world(['a']);
    const stops: string[] = [];
    let child: AnyRef | undefined;
    const parent = rt.spawn('a', 'parent', behavior<null, Msg>({
      init: (ctx) => {
        child = ctx.spawn('kid', behavior<null, Msg>({ init: () => null, receive: (s) => s, onStop: () => { stops.push('kid'); } }));
        return null;
      },
      receive: (s) => s,
      onStop: () => { stops.push('parent'); },
    }));
    assert.deepEqual(child, { host: 'a', path: 'parent/kid' });
    assert.ok(rt.isAlive(child!));
    rt.stop(parent);
    assert.equal(rt.isAlive(child!), false);
    assert.equal(rt.isAlive(parent), false);
    assert.deepEqual(stops, ['kid', 'parent']);
  });

  it('a parent can stop its child, and then spawn a new child with the same name', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const p = rt.spawn('a', 'p', scripted(log));
    let first: AnyRef | undefined;
    rt.send(p, run((ctx) => { first = ctx.spawn('k', scripted([])); }));
    rt.runUntilIdle();
    rt.send(p, run((ctx) => { ctx.stop(first); ctx.spawn('k', scripted([])); }));
    rt.runUntilIdle();
    assert.ok(rt.isAlive({ host: 'a', path: 'p/k' }));
  });

  it('watch delivers the given message when the watched actor stops', () => {
    const rt = world(['a', 'b']);
    const log: Seen[] = [];
    const target = rt.spawn('b', 'target', scripted([]));
    const watcher = rt.spawn('a', 'watcher', scripted(log));
    rt.send(watcher, run((ctx) => ctx.watch(target, note('target-down'))));
    rt.advance(10);
    assert.equal(log.length, 0);
    rt.stop(target);
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['target-down', 10]]);
  });

  it('an actor that stops itself is watched to its end too, and unwatch cancels the notice', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const t1 = rt.spawn('a', 't1', scripted([]));
    const t2 = rt.spawn('a', 't2', scripted([]));
    const watcher = rt.spawn('a', 'w', scripted(log));
    rt.send(watcher, run((ctx) => { ctx.watch(t1, note('t1-down')); ctx.watch(t2, note('t2-down')); ctx.unwatch(t2); }));
    rt.runUntilIdle();
    rt.send(t1, run((ctx) => ctx.stop()));
    rt.send(t2, run((ctx) => ctx.stop()));
    rt.runUntilIdle();
    assert.deepEqual(tags(log), ['t1-down']);
  });

  it('watching an actor that is already dead (or never existed) fires at once', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const gone = rt.spawn('a', 'gone', scripted([]));
    rt.stop(gone);
    const watcher = rt.spawn('a', 'watcher', scripted(log));
    rt.advance(5);
    rt.send(watcher, run((ctx) => {
      ctx.watch(gone, note('gone-down'));
      ctx.watch({ host: 'a', path: 'never' }, note('never-down'));
    }));
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['gone-down', 5], ['never-down', 5]]);
  });
});

describe('sim supervision', () => {
  it('restart resets the state to init and counts the restart', () => {
    const rt = world(['a']);
    const x = rt.spawn('a', 'x', scripted([]));
    rt.send(x, note('one'));
    rt.send(x, note('two'));
    rt.runUntilIdle();
    assert.equal(rt.stateOf<number>(x), 2);
    rt.send(x, { type: 'Boom' });
    rt.runUntilIdle();
    assert.equal(rt.stateOf<number>(x), 0);
    const m = rt.metrics().actors.find((a) => a.path === 'x')!;
    assert.equal(m.restarts, 1);
    assert.equal(m.failures, 1);
  });

  it('a restart cancels the timers of the failed instance', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log));
    rt.send(x, run((ctx) => ctx.startTimer('t', 10, note('stale'))));
    rt.send(x, { type: 'Boom' });
    rt.runUntilIdle();
    assert.equal(log.length, 0);
  });

  it('more restarts than the budget within the window stop the actor; spaced failures do not', () => {
    const rt = world(['a']);
    const failures: string[] = [];
    rt.failures.subscribe((f) => failures.push(`${f.actor.path}@${f.atMs}`));
    const sup = { supervision: { strategy: 'restart' as const, maxRestarts: 2, withinMs: 100 } };
    const spaced = rt.spawn('a', 'spaced', scripted([], sup));
    const burst = rt.spawn('a', 'burst', scripted([], sup));
    for (let i = 0; i < 5; i++) {
      rt.send(spaced, { type: 'Boom' });
      rt.advance(60);
    }
    assert.ok(rt.isAlive(spaced), 'failures 60 ms apart never exceed 2 restarts per 100 ms');
    rt.send(burst, { type: 'Boom' });
    rt.send(burst, { type: 'Boom' });
    assert.ok(rt.isAlive(burst));
    rt.runUntilIdle();
    assert.ok(rt.isAlive(burst), 'two restarts are within the budget');
    rt.send(burst, { type: 'Boom' });
    rt.runUntilIdle();
    assert.equal(rt.isAlive(burst), false, 'the third restart within 100 ms exceeds the budget');
    assert.equal(failures.filter((f) => f.startsWith('burst')).length, 3);
    assert.equal(failures.filter((f) => f.startsWith('spaced')).length, 5);
  });

  it('resume keeps the state and goes on with the next message', () => {
    const rt = world(['a']);
    const x = rt.spawn('a', 'x', scripted([], { supervision: { strategy: 'resume' } }));
    rt.send(x, note('one'));
    rt.send(x, { type: 'Boom' });
    rt.send(x, note('two'));
    rt.runUntilIdle();
    assert.equal(rt.stateOf<number>(x), 2);
    assert.equal(rt.metrics().actors.find((a) => a.path === 'x')!.restarts, 0);
  });

  it('stop stops the failing actor and its watchers hear of it', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted([], { supervision: { strategy: 'stop' } }));
    const w = rt.spawn('a', 'w', scripted(log));
    rt.send(w, run((ctx) => ctx.watch(x, note('x-down'))));
    rt.runUntilIdle();
    rt.send(x, { type: 'Boom' });
    rt.send(x, note('after'));
    rt.runUntilIdle();
    assert.equal(rt.isAlive(x), false);
    assert.deepEqual(tags(log), ['x-down']);
  });

  it('escalate hands the failure to the parent, whose strategy applies (restart: fresh parent, child gone)', () => {
    const rt = world(['a']);
    let inits = 0;
    let kid: AnyRef | undefined;
    const parent = rt.spawn('a', 'p', scripted([], {
      init: (ctx) => {
        inits++;
        if (inits === 1) kid = ctx.spawn('kid', scripted([], { supervision: { strategy: 'escalate' } }));
        return 0;
      },
    }));
    rt.send(parent, note('one'));
    rt.runUntilIdle();
    assert.equal(rt.stateOf<number>(parent), 1);
    rt.send(kid as ActorRef<ScriptMsg>, { type: 'Boom' });
    rt.runUntilIdle();
    assert.equal(inits, 2, 'the parent restarted');
    assert.equal(rt.stateOf<number>(parent), 0);
    assert.equal(rt.isAlive(kid!), false, 'a restarting parent stops its children');
    assert.equal(rt.metrics().actors.find((a) => a.path === 'p')!.restarts, 1);
  });

  it('escalate to a parent that resumes keeps both parent and child state', () => {
    const rt = world(['a']);
    let kid: AnyRef | undefined;
    const parent = rt.spawn('a', 'p', scripted([], {
      supervision: { strategy: 'resume' },
      init: (ctx) => { kid = ctx.spawn('kid', scripted([], { supervision: { strategy: 'escalate' } })); return 0; },
    }));
    const k = kid as ActorRef<ScriptMsg>;
    rt.send(parent, note('p1'));
    rt.send(k, note('k1'));
    rt.send(k, { type: 'Boom' });
    rt.runUntilIdle();
    assert.equal(rt.stateOf<number>(parent), 1);
    assert.equal(rt.stateOf<number>(k), 1);
  });

  it('a top-level escalating actor has no parent to escalate to and stops', () => {
    const rt = world(['a']);
    const x = rt.spawn('a', 'x', scripted([], { supervision: { strategy: 'escalate' } }));
    rt.send(x, { type: 'Boom' });
    rt.runUntilIdle();
    assert.equal(rt.isAlive(x), false);
  });

  it('a throwing init is retried within the restart budget, then the actor stops', () => {
    const rt = world(['a']);
    let tries = 0;
    const x = rt.spawn('a', 'x', scripted([], {
      supervision: { strategy: 'restart', maxRestarts: 2, withinMs: 1000 },
      init: () => { tries++; throw new Error('no init today'); },
    }));
    assert.equal(tries, 3);
    assert.equal(rt.isAlive(x), false);
    assert.equal(rt.system.failureLog.length, 3);
    assert.equal(rt.system.failureLog[0]!.msgType, undefined);
  });

  it('a child whose init throws under "stop" leaves its name free for a new child', () => {
    const rt = world(['a']);
    const p = rt.spawn('a', 'p', scripted([]));
    let second: AnyRef | undefined;
    rt.send(p, run((ctx) => {
      ctx.spawn('k', scripted([], { supervision: { strategy: 'stop' }, init: () => { throw new Error('bad child'); } }));
    }));
    rt.runUntilIdle();
    rt.send(p, run((ctx) => { second = ctx.spawn('k', scripted([])); }));
    rt.runUntilIdle();
    assert.deepEqual(second, { host: 'a', path: 'p/k' });
    assert.ok(rt.isAlive(second!));
  });
});

describe('sim dead letters', () => {
  it('messages to an unknown actor, a stopped actor and an unknown host are counted and emitted', () => {
    const rt = world(['a', 'b']);
    const letters: DeadLetter[] = [];
    rt.deadLetters.subscribe((d) => letters.push(d));
    const x = rt.spawn('a', 'x', scripted([]));
    rt.send({ host: 'a', path: 'nobody' } as ActorRef<ScriptMsg>, note('1'));
    rt.send(x, note('2')); // posted, then x stops before it arrives
    rt.stop(x);
    rt.runUntilIdle();
    rt.send(x, note('3')); // x is gone
    rt.send({ host: 'nowhere', path: 'y' } as ActorRef<ScriptMsg>, note('4'));
    rt.crash('b');
    rt.send({ host: 'b', path: 'y' } as ActorRef<ScriptMsg>, note('5'));
    rt.runUntilIdle();
    assert.deepEqual(letters.map((d) => [(d.msg as unknown as { tag: string }).tag, d.reason]), [
      ['1', 'no-actor'], ['2', 'stopped'], ['3', 'no-actor'], ['4', 'unknown-host'], ['5', 'host-down'],
    ]);
    assert.equal(rt.metrics().deadLetters, 5);
  });

  it('an actor sending to a host outside the topology makes a dead letter with its sender', () => {
    const rt = world(['a']);
    const letters: DeadLetter[] = [];
    rt.deadLetters.subscribe((d) => letters.push(d));
    const x = rt.spawn('a', 'x', scripted([]));
    rt.send(x, run((ctx) => ctx.send({ host: 'mars', path: 'rover' } as ActorRef<ScriptMsg>, note('hi'))));
    rt.runUntilIdle();
    assert.equal(letters.length, 1);
    assert.deepEqual(letters[0]!.from, { host: 'a', path: 'x' });
    assert.equal(letters[0]!.reason, 'unknown-host');
  });
});

describe('sim mailboxes and service time', () => {
  function burst(overflow: 'dropNewest' | 'dropOldest') {
    const rt = world(['a']);
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log, { mailbox: { capacity: 2, overflow }, serviceTimeMs: () => 10 }));
    for (let i = 1; i <= 5; i++) rt.send(x, note(`m${i}`));
    rt.runUntilIdle();
    return { log, m: rt.metrics().actors.find((a) => a.path === 'x')! };
  }

  it('a full bounded mailbox under dropNewest keeps the first messages and counts the drops', () => {
    const { log, m } = burst('dropNewest');
    assert.deepEqual(tagsAt(log), [['m1', 0], ['m2', 10], ['m3', 20]]);
    assert.equal(m.dropped['mailbox-full'], 2);
    assert.equal(m.received, 5);
    assert.equal(m.processed, 3);
    assert.equal(m.maxQueueDepth, 2);
  });

  it('a full bounded mailbox under dropOldest keeps the latest messages and counts the drops', () => {
    const { log, m } = burst('dropOldest');
    assert.deepEqual(tagsAt(log), [['m1', 0], ['m4', 10], ['m5', 20]]);
    assert.equal(m.dropped['mailbox-full'], 2);
  });

  it('a priority lane: messages the behaviour marks are handled before the waiting others, in their own order', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const urgent = (msg: ScriptMsg): boolean => msg.type === 'Note' && msg.tag.startsWith('u');
    const x = rt.spawn('a', 'x', scripted(log, { serviceTimeMs: () => 10, priority: urgent, mailbox: { capacity: 2, overflow: 'dropNewest' } }));
    for (const t of ['m1', 'm2', 'u1', 'm3', 'u2', 'm4', 'u3']) rt.send(x, note(t));
    rt.runUntilIdle();
    // m1 is handled on arrival; each lane holds two (the bound is per lane): m4 and u3 are dropped.
    assert.deepEqual(tagsAt(log), [['m1', 0], ['u1', 10], ['u2', 20], ['m2', 30], ['m3', 40]]);
    const m = rt.metrics().actors.find((a) => a.path === 'x')!;
    assert.equal(m.dropped['mailbox-full'], 2);
    assert.equal(m.maxQueueDepth, 4);
  });

  it('a bounded mailbox needs room for at least one waiting message', () => {
    const rt = world(['a']);
    for (const capacity of [0, -1, 1.5, NaN]) {
      assert.throws(() => rt.spawn('a', `x${String(capacity).replace('.', '_')}`, scripted([], { mailbox: { capacity, overflow: 'dropOldest' } })),
        /mailbox capacity must be an integer >= 1/);
    }
    rt.crash('a');
    assert.doesNotThrow(() => rt.restart('a'), 'a refused behaviour is not re-spawned at restart');
  });

  it('ctx.backlog() counts the messages waiting behind the one being handled, in both lanes', () => {
    const rt = world(['a']);
    const seen: number[] = [];
    const see = run((ctx) => seen.push(ctx.backlog()));
    const x = rt.spawn('a', 'x', scripted([], { serviceTimeMs: () => 10, priority: (msg) => msg === see }));
    rt.send(x, see); // handled on arrival: nothing behind it yet
    rt.send(x, note('ordinary'));
    rt.send(x, see);
    rt.send(x, see);
    rt.runUntilIdle();
    // At 10 the second `see` (priority lane) has the third and 'ordinary' behind it; at 20, 'ordinary'.
    assert.deepEqual(seen, [0, 2, 1]);
  });

  it('service time makes messages queue: each starts when the previous one is done', () => {
    const rt = world(['a']);
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log, { serviceTimeMs: (msg) => (msg.type === 'Note' && msg.tag === 'slow' ? 25 : 5) }));
    rt.send(x, note('slow'));
    rt.send(x, note('fast1'));
    rt.advance(12);
    rt.send(x, note('fast2'));
    rt.advance(100);
    rt.send(x, note('late'));
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['slow', 0], ['fast1', 25], ['fast2', 30], ['late', 112]]);
    const m = rt.metrics().actors.find((a) => a.path === 'x')!;
    assert.equal(m.busyMs, 40);
    assert.equal(m.maxQueueDepth, 2);
  });
});

describe('sim metrics', () => {
  it('metrics() counts messages in and out per actor and per link', () => {
    const rt = world(['a', 'b']);
    const e = rt.spawn('b', 'echo', echo);
    const x = rt.spawn('a', 'x', scripted([]));
    for (let i = 0; i < 3; i++) rt.send(x, run((ctx) => ctx.send(e, { type: 'Echo', n: i, replyTo: ctx.self as never })));
    rt.runUntilIdle();
    const snap = rt.metrics();
    const ax = snap.actors.find((a) => a.path === 'x')!;
    const be = snap.actors.find((a) => a.path === 'echo')!;
    assert.equal(ax.sent, 3);
    assert.equal(ax.received, 6);
    assert.equal(be.received, 3);
    assert.equal(be.sent, 3);
    const ab = snap.links.find((l) => l.from === 'a' && l.to === 'b')!;
    assert.equal(ab.sent, 3);
    assert.equal(ab.delivered, 3);
    assert.equal(snap.atMs, rt.now());
  });

  it('metrics$(periodMs) emits one snapshot per period of virtual time, showing the state at that time', () => {
    const rt = world(['a']);
    const x = rt.spawn('a', 'x', scripted([]));
    rt.send(x, run((ctx) => ctx.startTimer('tick', 45, note('tick'), { repeat: true })));
    const snaps: [number, number][] = [];
    const sub = rt.metrics$(100).subscribe((s) => snaps.push([s.atMs, s.actors.find((a) => a.path === 'x')!.processed]));
    rt.advance(350);
    sub.unsubscribe();
    rt.advance(500);
    // processed includes the Run message: ticks at 45, 90 | 135, 180 | 225, 270
    assert.deepEqual(snaps, [[100, 3], [200, 5], [300, 7]]);
  });

  it('metrics$ also emits while the run is driven by runUntil and on an idle advance', () => {
    const rt = world(['a']);
    const atMs: number[] = [];
    rt.metrics$(10).subscribe((s) => atMs.push(s.atMs));
    rt.runUntil(() => false, 25);
    rt.advance(10);
    assert.deepEqual(atMs, [10, 20, 30]);
  });

  it('onStep runs after every event, and stops when removed', () => {
    const rt = world(['a']);
    const x = rt.spawn('a', 'x', scripted([]));
    let steps = 0;
    const seen: number[] = [];
    const off = rt.onStep(() => { steps++; seen.push(rt.stateOf<number>(x)!); });
    for (let i = 0; i < 4; i++) rt.send(x, note(`n${i}`));
    const { events } = rt.runUntilIdle();
    assert.equal(steps, events);
    assert.equal(events, 4);
    assert.deepEqual(seen, [1, 2, 3, 4], 'the hook sees the state right after each event');
    off();
    rt.send(x, note('more'));
    rt.runUntilIdle();
    assert.equal(steps, 4);
  });
});

describe('sim host crash and restart', () => {
  it('a crash loses state and messages in flight, tells watchers on other hosts; a restart starts fresh with a new incarnation', () => {
    const rt = world(['a', 'b'], { links: [['a', 'b', { latencyMs: 5 }]] });
    const log: Seen[] = [];
    const inits: number[] = [];
    const counter = rt.spawn('a', 'counter', scripted(log, {
      init: (ctx) => {
        inits.push(ctx.incarnation);
        ctx.startTimer('tick', 10, note(`tick${ctx.incarnation}`));
        return 0;
      },
    }));
    const wlog: Seen[] = [];
    const watcher = rt.spawn('b', 'watcher', scripted(wlog));
    rt.send(counter, note('local'));
    rt.send(watcher, run((ctx) => {
      ctx.watch(counter, note('counter-down'));
      ctx.send(counter, note('in-flight'));
    }));
    rt.advance(2);
    assert.equal(rt.stateOf<number>(counter), 1);
    rt.crash('a');
    assert.equal(rt.stateOf(counter), undefined);
    assert.equal(rt.isAlive(counter), false);
    rt.advance(6);
    rt.restart('a');
    assert.equal(rt.stateOf<number>(counter), 0);
    rt.runUntilIdle();
    assert.deepEqual(inits, [0, 1]);
    assert.deepEqual(log.map((s) => [tag(s), s.atMs, s.incarnation]), [['local', 0, 0], ['tick1', 18, 1]]);
    assert.deepEqual(tagsAt(wlog), [['counter-down', 2]]);
    const ba = rt.metrics().links.find((l) => l.from === 'b' && l.to === 'a')!;
    assert.equal(ba.dropped['host-down'], 1);
  });

  it('a trace sink sees every message handled and every fault noted, and the trace hash stays the same', () => {
    const scenario = (traceSink?: (e: TraceEvent) => void) => {
      const rt = world(['a', 'b'], { links: [['a', 'b', { latencyMs: 1 }]], ...(traceSink ? { traceSink } : {}) });
      const log: Seen[] = [];
      const pa = rt.spawn('a', 'x', scripted(log));
      const pb = rt.spawn('b', 'y', scripted(log));
      rt.send(pa, run((ctx) => ctx.send(pb, note('hello'))));
      rt.runUntilIdle();
      rt.crash('b');
      rt.restart('b');
      rt.send(pa, run((ctx) => ctx.send(pb, note('again'))));
      rt.runUntilIdle();
      return rt.traceHash();
    };
    const seen: TraceEvent[] = [];
    assert.equal(scenario((e) => seen.push(e)), scenario());
    const msgs = seen.filter((e) => e.kind === 'msg');
    assert.deepEqual(msgs.map((e) => `${e.from}>${e.to}:${(e.msg as { type: string; tag?: string }).tag ?? e.msg.type}`),
      ['->a/x:Run', 'a/x>b/y:hello', '->a/x:Run', 'a/x>b/y:again']);
    assert.deepEqual(seen.filter((e) => e.kind === 'note').map((e) => e.text), ['crash b @1', 'restart b @1']);
  });

  it('a crashed host neither sends nor receives', () => {
    const rt = world(['a', 'b']);
    const log: Seen[] = [];
    const pa = rt.spawn('a', 'x', scripted(log));
    const pb = rt.spawn('b', 'y', scripted(log));
    rt.send(pb, run((ctx) => ctx.startTimer('t', 10, note('unused'))));
    rt.send(pb, run((ctx) => ctx.send(pa, note('b-to-a'))));
    rt.crash('a');
    rt.runUntilIdle();
    rt.restart('a');
    // a sends b a message due 5 ms later, then crashes before it is due: it never leaves.
    let sent = false;
    rt.send(pa, run((ctx) => { ctx.send(pb, note('a-to-b'), { afterMs: 5 }); sent = true; }));
    rt.advance(1);
    assert.ok(sent, 'the delayed send was made before the crash');
    rt.crash('a');
    rt.runUntilIdle();
    // What a's network endpoint is handed while a is down is dropped there, and counted.
    rt.network.endpoint('a').send({ to: pb, msg: note('raw') });
    rt.runUntilIdle();
    assert.deepEqual(tags(log), ['unused']);
    const ab = rt.metrics().links.find((l) => l.from === 'a' && l.to === 'b')!;
    assert.equal(ab.dropped['host-down'], 1);
  });

  it('asks pending in a crashed incarnation do not disturb the asks of the next one', () => {
    const rt = world(['a', 'b'], { links: [['a', 'b', { latencyMs: 5 }]] });
    const e = rt.spawn('b', 'echo', echo);
    const s = rt.spawn('b', 'silent', silent);
    const log: Seen[] = [];
    const x = rt.spawn('a', 'x', scripted(log));
    const askTo = (to: ActorRef<Echo>, timeoutMs: number) => run((ctx) => ctx.ask<Echo, Echoed>(
      to, (replyTo) => ({ type: 'Echo', n: 1, replyTo }), timeoutMs, (r) => note(r.ok ? 'reply' : 'timeout')));
    rt.send(x, askTo(s, 20)); // its timeout would fire at 20
    rt.advance(1);
    rt.crash('a');
    rt.restart('a');
    rt.advance(14);
    rt.send(x, askTo(e, 100)); // the reply comes at 25, after the old timeout
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['reply', 25]]);
  });
});

describe('sim network faults', () => {
  /** Host a sends `n` Notes to a recorder on host b at t=0. */
  function sendBurst(opts: Partial<SimOptions> & { links?: [string, string, LinkOptions][] }, n: number, extra: Record<string, unknown> = {}) {
    const rt = world(['a', 'b', 'c'], opts);
    const log: Seen[] = [];
    const rec = rt.spawn('b', 'rec', scripted(log));
    const src = rt.spawn('a', 'src', scripted([]));
    rt.send(src, run((ctx) => { for (let i = 1; i <= n; i++) ctx.send(rec, { ...note('m', i), ...extra } as ScriptMsg); }));
    return { rt, log, rec, src };
  }
  const ns = (log: Seen[]) => log.map((s) => num(s)!);

  it('cut drops both ways and is counted; heal restores delivery', () => {
    const { rt, log, rec } = sendBurst({}, 0);
    const back: Seen[] = [];
    const src = rt.spawn('a', 'src2', scripted(back));
    rt.cut('a', 'b');
    rt.send(src, run((ctx) => ctx.send(rec, note('cut'))));
    rt.send(rec, run((ctx) => ctx.send(src, note('cut-back'))));
    rt.runUntilIdle();
    rt.heal();
    rt.send(src, run((ctx) => ctx.send(rec, note('healed'))));
    rt.runUntilIdle();
    assert.deepEqual(tags(log), ['healed']);
    assert.equal(back.length, 0);
    const links = rt.metrics().links;
    assert.equal(links.find((l) => l.from === 'a' && l.to === 'b')!.dropped.partition, 1);
    assert.equal(links.find((l) => l.from === 'b' && l.to === 'a')!.dropped.partition, 1);
  });

  it('pause holds a host\'s messages and timers until it is over, then handles them in order; nothing is lost', () => {
    const rt = world(['a', 'b']);
    const log: Seen[] = [];
    const rb = rt.spawn('b', 'r', scripted(log));
    const sa = rt.spawn('a', 's', scripted([]));
    rt.send(rb, run((ctx) => ctx.startTimer('tick', 1, note('tick'), { repeat: true })));
    rt.advance(1.5);
    rt.pause('b', 5);
    rt.send(sa, run((ctx) => ctx.send(rb, note('during'))));
    rt.advance(4.9);
    assert.deepEqual(tags(log), ['tick'], 'nothing handled while paused');
    rt.advance(0.2);
    // At the pause's end: the ticks due meanwhile and the message, in the order they came.
    const after = tagsAt(log).slice(1);
    assert.ok(after.every(([, at]) => at >= 6.5), `handled after the pause: ${JSON.stringify(after)}`);
    assert.deepEqual(after.map(([t]) => t).filter((t) => t === 'during'), ['during']);
    assert.ok(after.filter(([t]) => t === 'tick').length >= 4, 'the ticks due during the pause were kept');
    assert.throws(() => rt.pause('nowhere', 1), /no host 'nowhere'/);
    assert.throws(() => rt.pause('a', -1), /ms must be >= 0/);
  });

  it('heal(a, b) ends that cut only', () => {
    const rt = world(['a', 'b', 'c']);
    const log: Seen[] = [];
    const rb = rt.spawn('b', 'r', scripted(log));
    const sa = rt.spawn('a', 's', scripted([]));
    const sc = rt.spawn('c', 's', scripted([]));
    rt.cut('a', 'b');
    rt.cut('c', 'b');
    rt.heal('b', 'a');
    rt.send(sa, run((ctx) => ctx.send(rb, note('from-a'))));
    rt.send(sc, run((ctx) => ctx.send(rb, note('from-c'))));
    rt.runUntilIdle();
    assert.deepEqual(tags(log), ['from-a'], 'c to b is still cut');
  });

  it('isolate cuts one host off from all others, and leaves the others connected', () => {
    const rt = world(['a', 'b', 'c']);
    const log: Seen[] = [];
    const rb = rt.spawn('b', 'r', scripted(log));
    const sa = rt.spawn('a', 's', scripted([]));
    const sc = rt.spawn('c', 's', scripted([]));
    rt.isolate('b');
    rt.send(sa, run((ctx) => ctx.send(rb, note('from-a'))));
    rt.send(sc, run((ctx) => ctx.send(rb, note('from-c'))));
    rt.send(sa, run((ctx) => ctx.send(sc, note('a-to-c'))));
    rt.runUntilIdle();
    assert.equal(log.length, 0);
    assert.equal(rt.stateOf<number>(sc), 2, 'c still hears a');
    rt.heal();
    rt.send(sc, run((ctx) => ctx.send(rb, note('from-c'))));
    rt.runUntilIdle();
    assert.deepEqual(tags(log), ['from-c']);
  });

  it('dropMatching(match, 3) drops exactly the third matching envelope', () => {
    const { rt, log } = sendBurst({}, 0);
    rt.network.addFilter(dropMatching({ type: 'Note', toHost: 'b' }, 3));
    const src = rt.spawn('a', 'src2', scripted([]));
    rt.send(src, run((ctx) => {
      ctx.send({ host: 'c', path: 'none' } as ActorRef<ScriptMsg>, note('to-c')); // does not match: not to b
      for (let i = 1; i <= 5; i++) ctx.send({ host: 'b', path: 'rec' } as ActorRef<ScriptMsg>, note('m', i));
    }));
    rt.runUntilIdle();
    assert.deepEqual(ns(log), [1, 2, 4, 5]);
    assert.equal(rt.metrics().links.find((l) => l.from === 'a' && l.to === 'b')!.dropped.filter, 1);
  });

  it('dropMatching without nth drops every match, and removing the filter restores delivery', () => {
    const { rt, log, rec, src } = sendBurst({}, 0);
    const remove = rt.network.addFilter(dropMatching({ where: (env) => (env.msg as { n?: number }).n === 2 }));
    rt.send(src, run((ctx) => { for (const n of [1, 2, 2, 3]) ctx.send(rec, note('m', n)); }));
    rt.runUntilIdle();
    remove();
    rt.send(src, run((ctx) => ctx.send(rec, note('m', 2))));
    rt.runUntilIdle();
    assert.deepEqual(ns(log), [1, 3, 2]);
  });

  it('delayMatching delays only the matching envelopes by the given time', () => {
    const { rt, log, rec, src } = sendBurst({ links: [['a', 'b', { latencyMs: 1 }]] }, 0);
    rt.network.addFilter(delayMatching({ where: (env) => (env.msg as { tag?: string }).tag === 'slow' }, 10));
    rt.send(src, run((ctx) => { ctx.send(rec, note('slow')); ctx.send(rec, note('fast')); }));
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['fast', 1], ['slow', 11]]);
  });

  it('dropRate and duplicateRate lose and repeat envelopes at about their rates, all counted in link stats', () => {
    const n = 2000;
    const { rt, log } = sendBurst({ network: { dropRate: 0.2, duplicateRate: 0.1 } }, n);
    rt.runUntilIdle();
    const ab = rt.metrics().links.find((l) => l.from === 'a' && l.to === 'b')!;
    const lost = ab.dropped['random-loss'] ?? 0;
    assert.equal(ab.sent, n);
    assert.ok(lost > n * 0.15 && lost < n * 0.25, `lost ${lost} of ${n}`);
    assert.ok(ab.duplicated > (n - lost) * 0.06 && ab.duplicated < (n - lost) * 0.14, `duplicated ${ab.duplicated}`);
    assert.equal(ab.delivered, n - lost + ab.duplicated);
    assert.equal(log.length, ab.delivered);
  });

  it('bandwidth serialises back-to-back messages: each waits for the previous one to leave the wire', () => {
    // 8 Mbps = 1000 bytes per ms: a 1000-byte message occupies the link for 1 ms.
    const { rt, log } = sendBurst({ links: [['a', 'b', { latencyMs: 0.5, bandwidthMbps: 8 }]] }, 3, { sizeBytes: 1000 });
    rt.runUntilIdle();
    assert.deepEqual(log.map((s) => s.atMs), [1.5, 2.5, 3.5]);
    assert.equal(rt.metrics().links.find((l) => l.from === 'a' && l.to === 'b')!.bytes, 3000);
  });

  it('bandwidth is per direction: the reverse link is free', () => {
    const rt = world(['a', 'b'], { links: [['a', 'b', { latencyMs: 0, bandwidthMbps: 8 }]] });
    const log: Seen[] = [];
    const ra = rt.spawn('a', 'r', scripted(log));
    const rb = rt.spawn('b', 'r', scripted(log));
    rt.send(ra, run((ctx) => ctx.send(rb, { ...note('ab'), sizeBytes: 2000 } as unknown as ScriptMsg)));
    rt.send(rb, run((ctx) => ctx.send(ra, { ...note('ba'), sizeBytes: 1000 } as unknown as ScriptMsg)));
    rt.runUntilIdle();
    assert.deepEqual(tagsAt(log), [['ba', 1], ['ab', 2]]);
  });

  it('jitter reorders messages sent back to back, within the jitter window', () => {
    const { rt, log } = sendBurst({ links: [['a', 'b', { latencyMs: 1, jitterMs: 5 }]] }, 50);
    rt.runUntilIdle();
    const order = ns(log);
    assert.equal(order.length, 50);
    assert.notDeepEqual(order, [...order].sort((x, y) => x - y));
    for (const s of log) assert.ok(s.atMs >= 1 && s.atMs < 6, `arrived at ${s.atMs}`);
  });

  it('without jitter, messages on one link keep their order', () => {
    const { rt, log } = sendBurst({ links: [['a', 'b', { latencyMs: 1 }]] }, 50);
    rt.runUntilIdle();
    assert.deepEqual(ns(log), Array.from({ length: 50 }, (_, i) => i + 1));
  });
});

describe('sim cost model: ctx.charge', () => {
  it('adds charged time to the service time of the message being handled', async () => {
    const { Topology: T, behavior: b, runSim: run } = await import('../../actors/index.ts');
    const t = new T('charge');
    t.host('a');
    const times: number[] = [];
    const ref = t.actor('a', 'worker', b<null, { type: 'Work'; extraMs: number }>({
      init: () => null,
      serviceTimeMs: () => 1,
      receive: (s, msg, ctx) => {
        times.push(ctx.now());
        ctx.charge(msg.extraMs);
        return s;
      },
    }));
    const sim = run(t, { seed: 1, logLevel: 'silent' });
    sim.send(ref, { type: 'Work', extraMs: 2 });
    sim.send(ref, { type: 'Work', extraMs: 0 });
    sim.send(ref, { type: 'Work', extraMs: 0 });
    sim.runUntilIdle();
    // 1 ms of service plus 2 ms charged for the first, 1 ms for the second.
    assert.deepEqual(times, [0, 3, 4]);
  });

  it('restarts a host with the network up before its actors start, so init can send', async () => {
    const { Topology: T, behavior: b, runSim: run } = await import('../../actors/index.ts');
    const t = new T('restart-send');
    t.host('a');
    t.host('b');
    let got = 0;
    const sink = t.actor('b', 'sink', b<null, { type: 'Hello' }>({ init: () => null, receive: (s) => { got++; return s; } }));
    t.actor('a', 'greeter', b<null, { type: 'Never' }>({
      init: (ctx) => { ctx.send(sink, { type: 'Hello' }); return null; },
      receive: (s) => s,
    }));
    const sim = run(t, { seed: 1, logLevel: 'silent' });
    sim.runUntilIdle();
    sim.crash('a');
    sim.restart('a');
    sim.runUntilIdle();
    assert.equal(got, 2);
  });
});

describe('ctx.sender', () => {
  it('names the sending actor, self for timers, and nothing for messages from outside', async () => {
    const { Topology: T, behavior: b, runSim: run } = await import('../../actors/index.ts');
    const t = new T('sender');
    t.host('a');
    t.host('b');
    const seen: string[] = [];
    const sink = t.actor('b', 'sink', b<null, { type: 'Hi' } | { type: 'Tick' }>({
      init: (ctx) => { ctx.startTimer('t', 1, { type: 'Tick' }); return null; },
      receive: (s, msg, ctx) => { seen.push(`${msg.type}:${ctx.sender ? `${ctx.sender.host}/${ctx.sender.path}` : '-'}`); return s; },
    }));
    t.actor('a', 'src', b<null, { type: 'Go' }>({ init: (ctx) => { ctx.send(sink, { type: 'Hi' }); return null; }, receive: (s) => s }));
    const sim = run(t, { seed: 1, logLevel: 'silent' });
    sim.send(sink, { type: 'Hi' });
    sim.runUntilIdle();
    assert.deepEqual(seen.sort(), ['Hi:-', 'Hi:a/src', 'Tick:b/sink']);
  });
});

describe('timers: a cancelled or restarted timer takes back its waiting message', () => {
  it('drops a fired timeout still in the mailbox once its timer is cancelled or restarted', async () => {
    const { Topology: T, behavior: b, runSim: run } = await import('../../actors/index.ts');
    const t = new T('stale-timers');
    t.host('a');
    const got: string[] = [];
    type M = { type: 'Busy' } | { type: 'Timeout'; n: number } | { type: 'Cancel' } | { type: 'Restart' };
    const ref = t.actor('a', 'w', b<null, M>({
      init: (ctx) => { ctx.startTimer('t', 1, { type: 'Timeout', n: 1 }); return null; },
      // Each message takes 5 ms of virtual CPU, so the timer fires while the actor is busy.
      serviceTimeMs: (m) => (m.type === 'Busy' ? 5 : 0),
      receive: (s, msg, ctx) => {
        got.push(msg.type === 'Timeout' ? `Timeout${msg.n}` : msg.type);
        if (msg.type === 'Cancel') ctx.cancelTimer('t');
        if (msg.type === 'Restart') ctx.startTimer('t', 100, { type: 'Timeout', n: 2 });
        return s;
      },
    }));
    const sim = run(t, { seed: 1, logLevel: 'silent' });
    sim.send(ref, { type: 'Busy' });    // handled at 0, busy until 5; the timer fires at 1 and waits
    sim.send(ref, { type: 'Restart' }); // queued before the timeout: restarts the timer first
    sim.runUntilIdle();
    assert.deepEqual(got, ['Busy', 'Restart', 'Timeout2']);
    assert.equal(sim.metrics().actors.find((a) => a.path === 'w')!.dropped['stale-timer'], 1);
  });
});
