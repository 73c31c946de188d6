// The demo's source without a browser: controls carried out through the runtime or refused with
// a reason (changing nothing), samples on the run's clock, and a run whose state has grown too
// large replaced by a fresh one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import type { DashboardEvent, Sample } from '../../dashboard/protocol.ts';
import { SimSource } from '../../dashboard/sim-source.ts';
import { ControlError } from '../../dashboard/source.ts';
import { nopaxosSystem } from '../../dashboard/systems/nopaxos.ts';

const ctl = { type: 'control' as const, id: 1, system: 'nopaxos' };

describe('SimSource', () => {
  it('carries out controls through the runtime and refuses impossible ones with a reason', async () => {
    const src = new SimSource([() => nopaxosSystem({ seed: 1 })]);
    const sys = nopaxosSystem({ seed: 1 });
    assert.ok(sys.view.hosts.some((h) => h.name === 'r1'));
    assert.match(src.control({ ...ctl, action: 'crash', host: 'r1' }), /crashed r1/);
    const refused: [Parameters<SimSource['control']>[0], RegExp][] = [
      [{ ...ctl, action: 'crash', host: 'r1' }, /down already/],
      [{ ...ctl, action: 'restart', host: 'r2' }, /is up/],
      [{ ...ctl, action: 'crash', host: 'nohost' }, /no host 'nohost'/],
      [{ ...ctl, action: 'cut', a: 'r0', b: 'r0' }, /two different hosts/],
      [{ ...ctl, system: 'other', action: 'heal' }, /no system 'other'/],
    ];
    for (const [c, re] of refused) assert.throws(() => src.control(c), (e: Error) => e instanceof ControlError && re.test(e.message));
    assert.match(src.control({ ...ctl, action: 'restart', host: 'r1' }), /restarted r1/);
    assert.match(src.control({ ...ctl, action: 'cut', a: 'c0', b: 'seq0' }), /cut the link c0 - seq0/);
    assert.throws(() => src.control({ ...ctl, action: 'cut', a: 'seq0', b: 'c0' }), /cut already/);
    assert.match(src.control({ ...ctl, action: 'heal' }), /healed/);
    assert.match(src.control({ ...ctl, action: 'fail-sequencer' }), /crashed seq0, the active sequencer/);
    await src.stop();
  });

  it('samples every 250 ms of the run\'s clock, and a run that grew too large makes way for a fresh one', async () => {
    let built = 0;
    const src = new SimSource([(g) => {
      built++;
      const s = nopaxosSystem({ seed: 1 + g });
      // The first run is "exhausted" after its second sample.
      let samples = 0;
      return { ...s, exhausted: () => (g === 0 && ++samples === 2 ? 'test' : undefined) };
    }]);
    const samples = firstValueFrom(src.updates.pipe(filter((m): m is Sample => m.type === 'sample'), take(2), toArray()));
    const fresh = firstValueFrom(src.updates.pipe(filter((m): m is DashboardEvent => m.type === 'event' && m.text.startsWith('a fresh run'))));
    src.start();
    const [a, b] = await samples;
    assert.equal(b!.atMs - a!.atMs, 250);
    assert.ok(b!.clients.completed > 0);
    assert.equal((await fresh).text, 'a fresh run started: test');
    const next = await firstValueFrom(src.updates.pipe(filter((m): m is Sample => m.type === 'sample')));
    assert.ok(next.atMs <= 500, `the fresh run's clock starts again (${next.atMs})`);
    assert.equal(built, 2);
    await src.stop();
  });
});
