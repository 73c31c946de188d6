// Probes in sim mode wait on virtual time: they advance the clock only as far as needed, fail with a message that says which probe waited for what, and assert silence and counts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probe, ProbeTimeoutError, runSim, Topology } from '../../actors/index.ts';
import { note, run, scripted } from './helpers.ts';

interface Note { readonly type: 'Note'; readonly tag: string; readonly n?: number }
interface Other { readonly type: 'Other' }
type Got = Note | Other;

function world() {
  const t = new Topology('probe');
  t.host('a');
  t.host('b');
  t.link('a', 'b', { latencyMs: 2 });
  const rt = runSim(t, { seed: 7, logLevel: 'silent' });
  const driver = rt.spawn('a', 'driver', scripted([]));
  return { rt, driver };
}

describe('probe in sim', () => {
  it('expectMsg advances virtual time only until the message arrives', async () => {
    const { rt, driver } = world();
    const p = probe<Got>(rt, 'b', 'waiter');
    rt.send(driver, run((ctx) => ctx.startTimer('later', 30, { type: 'Run', fn: (c) => c.send(p.ref, { type: 'Note', tag: 'hello' }) })));
    const msg = await p.expectMsg('Note', 1000);
    assert.deepEqual(msg, { type: 'Note', tag: 'hello' });
    assert.equal(rt.now(), 32, 'the timer (30 ms) plus one link latency (2 ms), not the 1000 ms allowed');
    assert.equal(p.pending.length, 0, 'the matched message is taken');
  });

  it('expectMsg with a predicate takes the first matching message and leaves the others pending', async () => {
    const { rt, driver } = world();
    const p = probe<Got>(rt, 'a');
    rt.send(driver, run((ctx) => {
      ctx.send(p.ref, { type: 'Other' });
      for (const n of [1, 2, 3]) ctx.send(p.ref, note('n', n) as never);
    }));
    const m = await p.expectMsg((x) => x.type === 'Note' && x.n === 2);
    assert.deepEqual(m, { type: 'Note', tag: 'n', n: 2 });
    assert.deepEqual(p.pending.map((r) => r.msg), [{ type: 'Other' }, { type: 'Note', tag: 'n', n: 1 }], 'it stopped right after the match');
    rt.runUntilIdle();
    assert.deepEqual(p.pending.map((r) => (r.msg as Note).n), [undefined, 1, 3]);
  });

  it('a message already pending satisfies expectMsg without moving the clock', async () => {
    const { rt, driver } = world();
    const p = probe<Got>(rt, 'a');
    rt.send(driver, run((ctx) => ctx.send(p.ref, note('x') as never)));
    rt.runUntilIdle();
    const before = rt.now();
    await p.expectMsg('Note');
    assert.equal(rt.now(), before);
  });

  it('on timeout, the error names the probe, what it waited for and what was pending; the clock moved by exactly the wait', async () => {
    const { rt, driver } = world();
    const p = probe<Got>(rt, 'b', 'impatient');
    rt.send(driver, run((ctx) => ctx.send(p.ref, { type: 'Other' })));
    rt.advance(5);
    await assert.rejects(p.expectMsg('Note', 100), (err: unknown) => {
      assert.ok(err instanceof ProbeTimeoutError);
      assert.match(err.message, /b\/probe\/impatient/);
      assert.match(err.message, /of type 'Note'/);
      assert.match(err.message, /within 100 ms/);
      assert.match(err.message, /pending: Other/);
      return true;
    });
    assert.equal(rt.now(), 105);
  });

  it('on timeout with nothing received, the error says so', async () => {
    const { rt } = world();
    const p = probe<Got>(rt, 'a', 'lonely');
    await assert.rejects(p.expectMsg(undefined, 10), /a\/probe\/lonely: no message within 10 ms \(pending: nothing\)/);
  });

  it('expectNoMsg passes over silence and advances the clock by the whole period', async () => {
    const { rt, driver } = world();
    const p = probe<Got>(rt, 'b');
    rt.send(driver, run((ctx) => ctx.startTimer('late', 60, { type: 'Run', fn: (c) => c.send(p.ref, note('late') as never) })));
    await p.expectNoMsg(50);
    assert.equal(rt.now(), 50);
    await p.expectNoMsg(50, 'Other');
    assert.equal(p.pending.length, 1, 'a Note is not an Other');
  });

  it('expectNoMsg fails as soon as a (matching) message arrives, showing it', async () => {
    const { rt, driver } = world();
    const p = probe<Got>(rt, 'b', 'quiet');
    rt.send(driver, run((ctx) => ctx.startTimer('soon', 10, { type: 'Run', fn: (c) => c.send(p.ref, note('noise') as never) })));
    await assert.rejects(p.expectNoMsg(100), /b\/probe\/quiet: expected no message for 100 ms, got .*"noise"/);
    assert.equal(rt.now(), 12);
  });

  it('receiveN takes n messages in order of arrival, or says how many came', async () => {
    const { rt, driver } = world();
    const p = probe<Got>(rt, 'b', 'counter');
    rt.send(driver, run((ctx) => { for (let i = 1; i <= 5; i++) ctx.startTimer(`t${i}`, i * 10, { type: 'Run', fn: (c) => c.send(p.ref, note('n', i) as never) }); }));
    const three = await p.receiveN(3);
    assert.deepEqual(three.map((m) => (m as Note).n), [1, 2, 3]);
    assert.equal(rt.now(), 32);
    await assert.rejects(p.receiveN(4, 100), /b\/probe\/counter: 2 of 4 messages within 100 ms/);
  });
});
