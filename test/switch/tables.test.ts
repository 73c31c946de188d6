// Match-action tables behave as on a P4 switch: ternary entries by priority (ties to the earlier
// entry), longest prefix wins, the default action runs on a miss and can be changed, and a table
// refuses entries beyond its declared size with a clear error; all in both execution modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Msg } from '../../actors/index.ts';
import {
  defineProgram, ipv4, markDrop, stage, table, TableRuntime, type Frame, type Packet, type SwitchMode, type SwitchProgram,
} from '../../switch-model/index.ts';
import { bothModes, control, frame, mustControl, payloads, received, stats, world } from './helpers.ts';

interface Headers { src: number; dst: number; ip: number; tag: number }

function tablesProgram(aclSize = 16): SwitchProgram<Headers> {
  const acl = table<Headers>({
    name: 'acl', match: 'ternary', size: aclSize,
    keys: [{ name: 'src', bits: 48, get: (h) => h.src }, { name: 'dst', bits: 48, get: (h) => h.dst }],
    actions: {
      mark: { params: { tag: 8 }, run: (pkt, p) => { pkt.headers.tag = p.tag!; } },
      deny: { run: (pkt) => markDrop(pkt, 'acl-deny') },
    },
    defaultAction: { action: 'mark', params: { tag: 0 } },
  });
  const routes = table<Headers>({
    name: 'routes', match: 'lpm', size: 64, keys: [{ name: 'ip', bits: 32, get: (h) => h.ip }],
    actions: {
      route: { params: { port: 9 }, run: (pkt, p) => { pkt.meta.egressPort = p.port!; } },
      drop: { run: (pkt) => markDrop(pkt, 'no-route') },
    },
    defaultAction: { action: 'drop' },
  });
  return defineProgram<Headers>({
    name: 'tables',
    parse: (msg) => {
      const f = msg as Frame;
      return msg.type === 'Frame' ? { src: f.ethSrc, dst: f.ethDst, ip: f.ipDst ?? 0, tag: 0 } : undefined;
    },
    deparse: (pkt: Packet<Headers>) => ({ ...(pkt.msg as Frame), payload: { ...(pkt.msg as Frame).payload, tag: pkt.headers.tag } as Msg }),
    ingress: [
      stage<Headers>('acl', { tables: [acl] }, (pkt, env) => { env.apply(acl, pkt); }),
      stage<Headers>('route', { tables: [routes] }, (pkt, env) => { env.apply(routes, pkt); }),
    ],
  });
}

const MAC_X = 0x0000000000aa;
const MAC_Y = 0x0000000000bb;
const MAC_Z = 0x0000000000cc;
const ALL48 = 2 ** 48 - 1;

describe('table semantics', () => {
  it('ternary: the highest priority wins, ties go to the earlier entry; lpm: the longest prefix wins; a miss runs the default, which can be changed', async () => {
    const seen = await bothModes(async (mode: SwitchMode) => {
      const w = world({ hosts: 4, program: tablesProgram(), mode });
      const h0 = w.hosts[0]!;
      const acl = (match: unknown[], priority: number, action: string, params?: Record<string, number>) =>
        mustControl(w, (replyTo) => ({ type: 'TableInsert', table: 'acl', match: match as never, priority, action, params, replyTo }));
      await acl([{ value: h0.mac, mask: ALL48 }, { value: 0, mask: 0 }], 10, 'mark', { tag: 10 }); // from h0, anywhere
      await acl([{ value: 0, mask: 0 }, MAC_X], 20, 'mark', { tag: 20 }); // to X, from anyone: higher priority
      await acl([{ value: h0.mac, mask: 0xffffff000000 }, { value: 0, mask: 0 }], 10, 'mark', { tag: 11 }); // same priority, later: loses
      await acl([{ value: 0, mask: 0 }, MAC_Z], 30, 'deny'); // to Z: denied
      const route = (value: number, prefixLen: number, port: number) =>
        mustControl(w, (replyTo) => ({ type: 'TableInsert', table: 'routes', match: [{ value, prefixLen }], action: 'route', params: { port }, replyTo }));
      await route(ipv4(10, 0, 0, 0), 8, 1);
      await route(ipv4(10, 1, 0, 0), 16, 2);
      await route(ipv4(10, 1, 2, 0), 24, 3);

      const send = (n: number, ethDst: number, ip: number) => w.rt.send(h0.ingress, frame(h0, ethDst, { type: 'P', n } as Msg, 100, { ipDst: ip }));
      send(1, MAC_Y, ipv4(10, 1, 2, 5)); // /24 -> port 3, tag 10
      send(2, MAC_X, ipv4(10, 1, 9, 9)); // /16 -> port 2, tag 20
      send(3, MAC_Y, ipv4(10, 200, 0, 1)); // /8 -> port 1, tag 10
      send(4, MAC_Z, ipv4(10, 1, 2, 5)); // denied
      send(5, MAC_Y, ipv4(11, 0, 0, 1)); // no route: default drop
      w.rt.runUntilIdle();
      await mustControl(w, (replyTo) => ({ type: 'TableSetDefault', table: 'routes', action: 'route', params: { port: 2 }, replyTo }));
      send(6, MAC_Y, ipv4(11, 0, 0, 1)); // the new default -> port 2
      // Delete the /24: 10.1.2.5 now falls to the /16.
      await mustControl(w, (replyTo) => ({ type: 'TableDelete', table: 'routes', match: [{ value: ipv4(10, 1, 2, 0), prefixLen: 24 }], replyTo }));
      send(7, MAC_Y, ipv4(10, 1, 2, 5));
      w.rt.runUntilIdle();
      const s = await stats(w);
      return { got: received(w), drops: s.drops };
    });
    assert.deepEqual(payloads(seen.got.h1), [{ type: 'P', n: 3, tag: 10 }]);
    assert.deepEqual(payloads(seen.got.h2), [{ type: 'P', n: 2, tag: 20 }, { type: 'P', n: 6, tag: 10 }, { type: 'P', n: 7, tag: 10 }]);
    assert.deepEqual(payloads(seen.got.h3), [{ type: 'P', n: 1, tag: 10 }]);
    assert.deepEqual(seen.drops, { 'acl-deny': 1, 'no-route': 1 });
  });

  it('an exact table keyed on two fields matches both', () => {
    interface Two { a: number; b: number; out: number }
    const t = table<Two>({
      name: 'two', match: 'exact', size: 4, keys: [{ name: 'a', bits: 16, get: (h) => h.a }, { name: 'b', bits: 48, get: (h) => h.b }],
      actions: { set: { params: { v: 8 }, run: (pkt, p) => { pkt.headers.out = p.v!; } } },
    });
    const rt = new TableRuntime(t);
    assert.equal(rt.insert([1, 2 ** 40 + 5], { action: 'set', params: { v: 7 } }), null);
    const pkt = (a: number, b: number) => ({ headers: { a, b, out: 0 } }) as unknown as Packet<Two>;
    const hit = pkt(1, 2 ** 40 + 5);
    assert.deepEqual(rt.apply(hit), { hit: true, action: 'set' });
    assert.equal(hit.headers.out, 7);
    assert.deepEqual(rt.apply(pkt(2, 2 ** 40 + 5)), { hit: false, action: 'NoAction' });
    assert.deepEqual(rt.apply(pkt(1, 5)), { hit: false, action: 'NoAction' });
  });

  it('a ternary match on 48-bit fields uses every bit of the mask (not just the low 32)', () => {
    interface One { a: number; out: number }
    const t = table<One>({
      name: 'wide', match: 'ternary', size: 4, keys: [{ name: 'a', bits: 48, get: (h) => h.a }],
      actions: { set: { params: { v: 8 }, run: (pkt, p) => { pkt.headers.out = p.v!; } } },
    });
    const rt = new TableRuntime(t);
    assert.equal(rt.insert([{ value: 0xab0000000000, mask: 0xff0000000000 }], { action: 'set', params: { v: 1 } }, 1), null);
    const pkt = (a: number) => ({ headers: { a, out: 0 } }) as unknown as Packet<One>;
    assert.equal(rt.apply(pkt(0xab0012345678)).hit, true);
    assert.equal(rt.apply(pkt(0xac0012345678)).hit, false);
  });
});

describe('table limits and errors', () => {
  it('an insert beyond the declared size fails with an error naming the table and its size; deleting makes room', async () => {
    const replies = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: tablesProgram(2), mode });
      const insert = (tag: number) => control(w, (replyTo) => ({
        type: 'TableInsert', table: 'acl', match: [tag, 0], priority: 1, action: 'mark', params: { tag }, replyTo, id: tag,
      }));
      const out = [await insert(1), await insert(2), await insert(3)];
      out.push(await control(w, (replyTo) => ({ type: 'TableDelete', table: 'acl', match: [1, 0], priority: 1, replyTo })));
      out.push(await insert(3));
      return out;
    });
    assert.deepEqual(replies.map((r) => r.ok), [true, true, false, true, true]);
    const full = replies[2]!;
    assert.ok(!full.ok && /table 'acl' is full \(2 entries\)/.test(full.error), JSON.stringify(full));
    assert.equal(full.id, 3);
  });

  it('TableClear removes every entry of a table (the default action stays) and answers how many; the table takes inserts again', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: tablesProgram(2), mode });
      const insert = (tag: number) => control(w, (replyTo) => ({
        type: 'TableInsert', table: 'acl', match: [tag, 0], priority: 1, action: 'mark', params: { tag }, replyTo,
      }));
      await insert(1);
      await insert(2);
      const cleared = await control(w, (replyTo) => ({ type: 'TableClear', table: 'acl', replyTo }));
      const again = await control(w, (replyTo) => ({ type: 'TableClear', table: 'acl', replyTo }));
      const inserts = [await insert(1), await insert(2), await insert(3)].map((r) => r.ok);
      const unknown = await control(w, (replyTo) => ({ type: 'TableClear', table: 'nope', replyTo }));
      return { cleared: cleared.ok && cleared.value, again: again.ok && again.value, inserts, unknown: unknown.ok };
    });
    assert.deepEqual(out, { cleared: 2, again: 0, inserts: [true, true, false], unknown: false });
  });

  it('TableRuntime.clear empties exact, ternary and lpm tables alike: every lookup misses', () => {
    const prog = tablesProgram();
    const [aclDecl, routesDecl] = [prog.ingress[0]!.tables[0]!, prog.ingress[1]!.tables[0]!];
    const acl = new TableRuntime(aclDecl);
    const routes = new TableRuntime(routesDecl);
    assert.equal(acl.insert([{ value: 1, mask: ALL48 }, { value: 0, mask: 0 }], { action: 'deny' }, 5), null);
    assert.equal(routes.insert([{ value: ipv4(10, 0, 0, 0), prefixLen: 8 }], { action: 'route', params: { port: 1 } }), null);
    const pkt = (src: number, ip: number) => ({ headers: { src, dst: 0, ip, tag: 0 }, meta: {} }) as unknown as Packet<Headers>;
    assert.equal(acl.apply(pkt(1, 0)).hit, true);
    assert.equal(routes.apply(pkt(0, ipv4(10, 1, 1, 1))).hit, true);
    assert.equal(acl.clear(), 1);
    assert.equal(routes.clear(), 1);
    assert.equal(acl.apply(pkt(1, 0)).hit, false);
    assert.equal(routes.apply(pkt(0, ipv4(10, 1, 1, 1))).hit, false);
    assert.equal(acl.count + routes.count, 0);
  });

  it('bad requests are answered with errors, never thrown: unknown names, wrong key width, missing priority, bad parameters, duplicates', async () => {
    const errors = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: tablesProgram(), mode });
      const tries = [
        () => control(w, (replyTo) => ({ type: 'TableInsert', table: 'nope', match: [1], action: 'route', replyTo })),
        () => control(w, (replyTo) => ({ type: 'TableInsert', table: 'routes', match: [{ value: 2 ** 33, prefixLen: 8 }], action: 'route', params: { port: 1 }, replyTo })),
        () => control(w, (replyTo) => ({ type: 'TableInsert', table: 'acl', match: [1, 2], action: 'deny', replyTo })),
        () => control(w, (replyTo) => ({ type: 'TableInsert', table: 'routes', match: [{ value: 0, prefixLen: 0 }], action: 'route', params: { port: 1000 }, replyTo })),
        () => control(w, (replyTo) => ({ type: 'TableInsert', table: 'routes', match: [{ value: 0, prefixLen: 0 }], action: 'fly', replyTo })),
        () => control(w, (replyTo) => ({ type: 'TableInsert', table: 'routes', match: [{ value: 0, prefixLen: 0 }], action: 'drop', replyTo })),
        () => control(w, (replyTo) => ({ type: 'TableInsert', table: 'routes', match: [{ value: 0, prefixLen: 0 }], action: 'drop', replyTo })),
        () => control(w, (replyTo) => ({ type: 'TableDelete', table: 'routes', match: [{ value: 5, prefixLen: 32 }], replyTo })),
        () => control(w, (replyTo) => ({ type: 'RegisterRead', register: 'acl', index: 0, replyTo })),
      ];
      const out: string[] = [];
      for (const t of tries) {
        const r = await t();
        out.push(r.ok ? 'ok' : r.error);
      }
      return out;
    });
    assert.match(errors[0]!, /no table 'nope' \(tables: acl, routes\)/);
    assert.match(errors[1]!, /value must fit in 32 bits/);
    assert.match(errors[2]!, /ternary entry needs a priority/);
    assert.match(errors[3]!, /parameter 'port' = 1000 does not fit in 9 bits/);
    assert.match(errors[4]!, /has no action 'fly'/);
    assert.equal(errors[5], 'ok');
    assert.match(errors[6]!, /already has an entry/);
    assert.match(errors[7]!, /has no entry/);
    assert.match(errors[8]!, /no register 'acl'/);
  });
});

describe('versioned control-plane writes', () => {
  it('a write older than the last versioned write to its entry is refused as stale: a late delete cannot undo a later insert, a late insert cannot undo a later delete', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 2, program: tablesProgram(), mode });
      const route = (port: number, version: number) => control(w, (replyTo) => ({
        type: 'TableInsert', table: 'routes', match: [{ value: ipv4(10, 0, 0, 0), prefixLen: 8 }], action: 'route', params: { port }, replyTo, version,
      }));
      const unroute = (version: number) => control(w, (replyTo) => ({
        type: 'TableDelete', table: 'routes', match: [{ value: ipv4(10, 0, 0, 0), prefixLen: 8 }], replyTo, version,
      }));
      const steps = [
        await route(1, 1), // in order: insert v1, delete v2, insert v3
        await unroute(2),
        await route(2, 3),
        await unroute(2), // a resend of the delete, overtaken by the insert v3
        await route(1, 1), // and a resend of the first insert
        await unroute(4), // a later delete goes
        await route(2, 3), // and the insert it overtook is refused
      ];
      // A write without a version is carried out as before.
      const plain = await control(w, (replyTo) => ({
        type: 'TableInsert', table: 'routes', match: [{ value: ipv4(10, 0, 0, 0), prefixLen: 8 }], action: 'route', params: { port: 3 }, replyTo,
      }));
      return { steps: steps.map((r) => (r.ok ? 'ok' : r.error)), plain: plain.ok };
    });
    assert.deepEqual(out.steps.slice(0, 3), ['ok', 'ok', 'ok']);
    assert.match(out.steps[3]!, /^stale write: table 'routes' entry .* was last written at version 3; this write is version 2$/);
    assert.match(out.steps[4]!, /^stale write: .*version 3; this write is version 1$/);
    assert.equal(out.steps[5], 'ok');
    assert.match(out.steps[6]!, /^stale write: .*version 4; this write is version 3$/);
    assert.equal(out.plain, true);
  });

  it('a versioned TableClear removes only the entries written before it, and refuses every later write older than it; the default action is versioned apart', () => {
    const routes = new TableRuntime(tablesProgram().ingress[1]!.tables[0]!);
    const net = (a: number) => [{ value: ipv4(a, 0, 0, 0), prefixLen: 8 }];
    const pkt = (ip: number) => ({ headers: { src: 0, dst: 0, ip, tag: 0 }, meta: {} }) as unknown as Packet<Headers>;
    const to = { action: 'route', params: { port: 1 } };
    assert.equal(routes.insert(net(10), to), null); // no version: older than any clear
    assert.equal(routes.insert(net(11), to, undefined, 5), null);
    assert.equal(routes.insert(net(12), to, undefined, 9), null); // written after the clear below was sent
    assert.equal(routes.clear(7), 2); // arrives late: 10 and 11 go, 12 stays
    assert.deepEqual([10, 11, 12].map((a) => routes.apply(pkt(ipv4(a, 1, 1, 1))).hit), [false, false, true]);
    assert.match(String(routes.insert(net(13), to, undefined, 6)), /^stale write: .*version 7; this write is version 6$/);
    assert.match(String(routes.clear(6)), /^stale write: table 'routes' was last cleared at version 7; this one is version 6$/);
    assert.equal(routes.insert(net(13), to, undefined, 8), null);
    assert.equal(routes.count, 2);
    assert.equal(routes.clear(), 2); // an unversioned clear empties it all
    // The default action has its own version, which no clear moves.
    assert.equal(routes.setDefault({ action: 'route', params: { port: 2 } }, 3), null);
    assert.match(String(routes.setDefault({ action: 'drop' }, 2)), /^stale write: table 'routes' default action was last written at version 3; this write is version 2$/);
    assert.equal(routes.apply(pkt(ipv4(9, 9, 9, 9))).action, 'route');
  });
});
