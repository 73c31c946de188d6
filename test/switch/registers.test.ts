// Registers obey the hardware's rules: one read-modify-write per array per packet, only from the
// stage that owns the array. A program that breaks a rule is rejected with the array and the
// stage named (statically when its declaration shows it, else at run time, when every later
// packet is dropped too); register and counter values are read, written and reset through the
// control plane. All in both execution modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  counter, defineProgram, ProgramError, register, stage, type Frame, type SwitchProgram,
} from '../../switch-model/index.ts';
import { bothModes, control, frame, mustControl, payloads, received, stats, world } from './helpers.ts';

interface Headers { op: string; index: number; seen: number }

/**
 * Stage 'count' owns register 'hits' (32-bit) and counter 'bytes'; stage 'wide' owns the 64-bit
 * 'big'. The payload's `op` makes a packet behave well or break a rule.
 */
function program(): SwitchProgram<Headers> {
  const hits = register('hits', 32, 8);
  const big = register('big', 64, 4);
  const bytes = counter('bytes', 8);
  return defineProgram<Headers>({
    name: 'registers',
    parse: (msg) => {
      const p = (msg as Frame).payload as unknown as { op: string; index?: number };
      return msg.type === 'Frame' ? { op: p.op, index: p.index ?? 0, seen: 0 } : undefined;
    },
    deparse: (pkt) => ({ ...(pkt.msg as Frame), payload: { type: 'Seen', seen: pkt.headers.seen } }),
    ingress: [
      stage<Headers>('count', { registers: [hits], counters: [bytes] }, (pkt, env) => {
        const h = pkt.headers;
        h.seen = env.register(hits).rmw(h.index, (n) => n + 1);
        env.counter(bytes).count(h.index, pkt);
        if (h.op === 'twice') env.register(hits).read(h.index);
        if (h.op === 'count-twice') env.counter(bytes).count(h.index, pkt);
        pkt.meta.egressPort = 1;
      }),
      stage<Headers>('wide', { registers: [big] }, (pkt, env) => {
        if (pkt.headers.op === 'foreign') env.register(hits).read(0);
        else env.register(big).rmw(0, (v) => v + 2n ** 40n);
      }),
    ],
  });
}

describe('register rules at run time', () => {
  for (const [op, pattern] of [
    ['twice', /register 'hits' is touched twice for one packet in stage 'count'/],
    ['foreign', /stage 'wide' touches register 'hits', which stage 'count' owns/],
    ['count-twice', /counter 'bytes' is counted twice for one packet in stage 'count'/],
  ] as const) {
    it(`a packet that breaks a rule (${op}) rejects the program, naming the array and the stage; later packets are dropped`, async () => {
      const out = await bothModes(async (mode) => {
        const w = world({ hosts: 2, program: program(), mode });
        const h0 = w.hosts[0]!;
        w.rt.send(h0.ingress, frame(h0, 0, { type: 'Op', op: 'ok' } as never));
        w.rt.runUntilIdle();
        w.rt.send(h0.ingress, frame(h0, 0, { type: 'Op', op } as never));
        w.rt.runUntilIdle();
        w.rt.send(h0.ingress, frame(h0, 0, { type: 'Op', op: 'ok' } as never));
        w.rt.runUntilIdle();
        return { got: received(w), stats: await stats(w), failures: w.rt.system.failureLog.length };
      });
      assert.deepEqual(payloads(out.got.h1), [{ type: 'Seen', seen: 1 }], 'only the packet before the violation gets through');
      assert.match(out.stats.rejected ?? '', pattern);
      assert.deepEqual(out.stats.drops, { 'rule-violation': 1, 'program-rejected': 1 });
      assert.equal(out.failures, 0, 'a violation is not an actor failure');
    });
  }

  it('an index outside the array drops that packet only; the program keeps running', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: program(), mode });
      const h0 = w.hosts[0]!;
      for (const index of [1, 8, 1]) w.rt.send(h0.ingress, frame(h0, 0, { type: 'Op', op: 'ok', index } as never));
      w.rt.runUntilIdle();
      return { got: received(w), stats: await stats(w) };
    });
    assert.deepEqual(payloads(out.got.h1), [{ type: 'Seen', seen: 1 }, { type: 'Seen', seen: 2 }]);
    assert.equal(out.stats.rejected, null);
    assert.deepEqual(out.stats.drops, { 'index-out-of-range': 1 });
    assert.match(out.stats.violations[0]!, /register 'hits' has cells 0..7; stage 'count' asked for cell 8/);
  });
});

describe('register rules before load', () => {
  it('a register claimed by two stages is refused, naming the register and both stages', () => {
    const r = register('shared', 32, 4);
    assert.throws(() => defineProgram({
      name: 'bad', parse: () => ({}), deparse: (p) => p.msg,
      ingress: [stage('first', { registers: [r] }, () => {}), stage('second', { registers: [r] }, () => {})],
    }), (err: unknown) => err instanceof ProgramError && /register 'shared' is claimed by stages 'first' and 'second'/.test(err.message));
  });

  it('cell widths other than 8, 16, 32 and 64 bits are refused', () => {
    assert.throws(() => defineProgram({
      name: 'bad', parse: () => ({}), deparse: (p) => p.msg,
      ingress: [stage('s', { registers: [register('odd', 12 as 8, 4)] }, () => {})],
    }), /register 'odd': cells are 12 bits; allowed 8, 16, 32 or 64/);
  });
});

describe('registers and counters through the control plane', () => {
  it('reads, writes (64-bit cells as bigints) and resets registers; reads packet and byte counters', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: program(), mode });
      const h0 = w.hosts[0]!;
      for (let i = 0; i < 3; i++) w.rt.send(h0.ingress, frame(h0, 0, { type: 'Op', op: 'ok', index: 2 } as never, 250));
      w.rt.runUntilIdle();
      const read = async (reg: string, index: number) => {
        const r = await control(w, (replyTo) => ({ type: 'RegisterRead', register: reg, index, replyTo }));
        return r.ok ? r.value : r.error;
      };
      const hits = await read('hits', 2);
      const big = await read('big', 0);
      const ctr = await control(w, (replyTo) => ({ type: 'CounterRead', counter: 'bytes', index: 2, replyTo }));
      await mustControl(w, (replyTo) => ({ type: 'RegisterWrite', register: 'big', index: 0, value: 2n ** 64n - 1n, replyTo }));
      const maxed = await read('big', 0);
      const tooBig = await control(w, (replyTo) => ({ type: 'RegisterWrite', register: 'hits', index: 0, value: 2 ** 32, replyTo }));
      const noCell = await read('hits', 99);
      await mustControl(w, (replyTo) => ({ type: 'RegisterReset', register: 'hits', replyTo }));
      const afterReset = await read('hits', 2);
      // The 64-bit cell wraps, as hardware does.
      w.rt.send(h0.ingress, frame(h0, 0, { type: 'Op', op: 'ok' } as never));
      w.rt.runUntilIdle();
      const wrapped = await read('big', 0);
      return { hits, big, ctr, maxed, tooBig, noCell, afterReset, wrapped };
    });
    assert.equal(out.hits, 3);
    assert.equal(out.big, 3n * 2n ** 40n);
    assert.ok(out.ctr.ok && out.ctr.packets === 3 && out.ctr.bytes === 750, JSON.stringify(out.ctr));
    assert.equal(out.maxed, 2n ** 64n - 1n);
    assert.ok(!out.tooBig.ok && /does not fit in a 32-bit cell/.test(out.tooBig.error));
    assert.match(String(out.noCell), /no cell 99/);
    assert.equal(out.afterReset, 0);
    assert.equal(out.wrapped, 2n ** 40n - 1n);
  });
});

describe('versioned register writes', () => {
  it('a RegisterWrite not newer than the last versioned write to its cell (older, or a copy of it) is refused as stale; a versioned RegisterReset zeroes only the cells written before it', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: program(), mode });
      const write = async (index: number, value: number, version: number) => {
        const r = await control(w, (replyTo) => ({ type: 'RegisterWrite', register: 'hits', index, value, replyTo, version }));
        return r.ok ? 'ok' : r.error;
      };
      const read = async (index: number) => {
        const r = await control(w, (replyTo) => ({ type: 'RegisterRead', register: 'hits', index, replyTo }));
        return r.ok ? r.value : r.error;
      };
      const writes = [await write(0, 7, 2), await write(0, 5, 1), await write(1, 8, 9)];
      const reset = await control(w, (replyTo) => ({ type: 'RegisterReset', register: 'hits', replyTo, version: 4 }));
      const cells = [await read(0), await read(1)];
      const late = await write(0, 6, 3);
      // A copy of a write carried out already (a resend, or the network's duplicate) is not
      // carried out again: the data plane may have counted on from the value it set.
      for (let i = 0; i < 5; i++) w.rt.send(w.hosts[0]!.ingress, frame(w.hosts[0]!, 0, { type: 'Op', op: 'ok', index: 1 } as never));
      w.rt.runUntilIdle();
      const again = await write(1, 8, 9);
      const counted = await read(1);
      return { writes, reset: reset.ok, cells, late, again, counted };
    });
    assert.deepEqual(out.writes.slice(0, 1), ['ok']);
    assert.match(out.writes[1]!, /^stale write: register 'hits' cell 0 was last written at version 2; this write is version 1$/);
    assert.equal(out.writes[2], 'ok');
    assert.equal(out.reset, true);
    assert.deepEqual(out.cells, [0, 8]);
    assert.match(out.late, /^stale write: register 'hits' cell 0 was last written at version 4; this write is version 3$/);
    assert.equal(out.again, "stale write: register 'hits' cell 1 was written at version 9 already");
    assert.equal(out.counted, 13);
  });
});
