// State transfers in parts (apps/pegasus/transfer.ts): a failover's StateChunks, a rejoin's
// HandedOver and Install, and an add's and a remove's answers, entries and write back each
// stay within transferBytes (plus the message's own fields), so a store of 2,000 keys, or 60
// rkeys, moves over a transport of bounded messages (UDP datagrams); the receiver
// acts on every part of one round only; a lost part comes again with the rest when the
// controller resends the request; the parts of an abandoned rejoin, however late, are never
// installed over a later one's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KvOp } from '../../apps/kv/kv.ts';
import type { Install, Pegasus } from '../../apps/pegasus/messages.ts';
import { NO_CLIENT } from '../../apps/pegasus/messages.ts';
import { TypedCodec } from '../../transport/codec.ts';
import { assertLinearizable, keyHash, world, type World } from './helpers.ts';

const KEYS = 2000;
const BUDGET = 1200;
/** The fields of a part besides its items and entries (type, round, rack, ids, part numbers, chain). */
const HEADER_ALLOWANCE = 200;
const TRANSFERS = new Set(['StateChunk', 'HandedOver', 'Install']);

function setup(opsPerClient = 400): World {
  const w = world({
    seed: 3, racks: 2, servers: 4, clients: 2, sessions: 2, opsPerClient, populate: true, transferBytes: BUDGET,
    workload: { keys: KEYS, zipf: 0.9, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 16 } },
    controller: { autoRkeys: false, defaultRf: 3 },
  });
  w.t.addRkeys(w.sim, ['k0', 'k1']);
  return w;
}

interface Sizes { readonly byType: Map<string, number>; largest: number; largestType: string }

/** Every transfer message sent, encoded as the transports do: how many of each type, and the largest. */
function watchSizes(w: World, types: ReadonlySet<string> = TRANSFERS): Sizes {
  const codec = new TypedCodec();
  const sizes: Sizes = { byType: new Map(), largest: 0, largestType: '' };
  w.sim.network.addFilter((env) => {
    const type = env.msg.type;
    if (!types.has(type)) return 'deliver';
    sizes.byType.set(type, (sizes.byType.get(type) ?? 0) + 1);
    const n = codec.encode(env.msg).length;
    if (n > sizes.largest) {
      sizes.largest = n;
      sizes.largestType = type;
    }
    return 'deliver';
  });
  return sizes;
}

function assertWithinBudget(s: Sizes, budget = BUDGET): void {
  assert.ok(s.largest <= budget + HEADER_ALLOWANCE, `a ${s.largestType} of ${s.largest} bytes encoded (budget ${budget})`);
}

/** Acknowledged writes, from the replies the clients get: key -> highest version. */
function watchAcks(w: World): Map<string, number> {
  const acked = new Map<string, number>();
  w.sim.network.addFilter((env) => {
    if (env.msg.type === 'Pegasus') {
      const m = env.msg as Pegasus;
      if (m.op === 'REP_W' && m.clientId !== NO_CLIENT) acked.set(m.key, Math.max(acked.get(m.key) ?? 0, m.ver));
    }
    return 'deliver';
  });
  return acked;
}

/** Server `holder` of `rack` holds every key of id `id` (not rkeys: their replica sets hold them), each at its latest acknowledged version. */
function assertHoldsAll(w: World, rack: number, holder: number, id: number, acked: Map<string, number>): void {
  const s = w.server(rack, holder);
  let keys = 0;
  for (let k = 0; k < KEYS; k++) {
    const key = `k${k}`;
    if (w.t.ring.home(keyHash(key)) !== id || w.controller().rkeys.has(key)) continue;
    keys++;
    assert.ok(s.store.get(key) !== undefined, `${key} is missing at server ${holder}`);
    const ver = acked.get(key) ?? 0;
    assert.ok(s.store.version(key) >= ver, `${key}: server ${holder} holds version ${s.store.version(key)}, an acknowledged write had ${ver}`);
  }
  assert.ok(keys > 300, `${keys} keys checked`);
}

/** A read of some keys of every server once the load is done: a lost write shows in the history. */
function finalReads(w: World): void {
  const before = w.completed();
  const n = 40;
  for (let k = 0; k < n; k++) w.sim.send(w.t.clients[k % 2]!, { type: 'LoadInvoke', op: { op: 'get', key: `k${k}` } as KvOp });
  assert.ok(w.sim.runUntil(() => w.completed() >= before + n, 20), 'the final reads completed');
}

/** Crash server 1 of rack 1 at 1 ms; run until its successor took its id over and recovered. */
function failOver(w: World): number {
  w.sim.advance(1);
  w.sim.crash(w.t.serverHosts[1]![1]!);
  const c = w.controller;
  assert.ok(w.sim.runUntil(() => c().serving[1]![1] !== 1 && c().current === undefined, 40), `failed over (log: ${c().log.join(' | ')})`);
  return c().serving[1]![1]!;
}

function rejoin(w: World): void {
  w.sim.advance(1);
  w.sim.restart(w.t.serverHosts[1]![1]!);
  assert.ok(w.sim.runUntil(() => w.controller().stats.rejoins >= 1, 60), `rejoined (log: ${w.controller().log.join(' | ')})`);
}

describe('pegasus state transfers in parts', () => {
  it('adding and removing 60 rkeys: the servers\' answers, the merged entries and the write back go in parts within transferBytes', () => {
    const budget = 300;
    const w = world({
      seed: 5, racks: 2, servers: 4, clients: 2, sessions: 2, opsPerClient: 800, transferBytes: budget,
      workload: { keys: 200, zipf: 0, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 32 } },
      controller: { autoRkeys: false, defaultRf: 3 },
    });
    const sizes = watchSizes(w, new Set(['RkeyPrepared', 'RkeyReleased', 'RkeyEntries', 'WriteBack']));
    const keys = Array.from({ length: 60 }, (_, k) => `k${k}`);
    const c = w.controller;
    w.sim.advance(1);
    w.t.addRkeys(w.sim, keys);
    assert.ok(w.sim.runUntil(() => keys.every((k) => w.rkeyIndex(k) >= 0) && c().current === undefined, 40), `added (log: ${c().log.join(' | ')})`);
    w.sim.advance(1);
    w.t.removeRkeys(w.sim, keys);
    assert.ok(w.sim.runUntil(() => c().rkeys.size === 0 && c().current === undefined, 40), `removed (log: ${c().log.join(' | ')})`);
    assertWithinBudget(sizes, budget);
    for (const type of ['RkeyPrepared', 'RkeyReleased', 'RkeyEntries', 'WriteBack']) {
      assert.ok((sizes.byType.get(type) ?? 0) > 8, `${type}: ${sizes.byType.get(type) ?? 0} messages for 8 servers`);
    }
    assert.ok(c().stats.transferParts > 0 && w.server(0, 0).transferParts > 0);
    w.runUntilDone(300);
    finalReads(w);
    assertLinearizable(w);
  });

  it('a failover fetches a store of 2,000 keys in StateChunks within transferBytes; the successor holds every key', () => {
    const w = setup();
    const sizes = watchSizes(w);
    const acked = watchAcks(w);
    const j = failOver(w);
    assertWithinBudget(sizes);
    const chunks = sizes.byType.get('StateChunk') ?? 0;
    assert.ok(chunks >= 10, `${chunks} StateChunks`);
    assert.ok(w.server(0, 1).transferParts >= 10, `the source sent ${w.server(0, 1).transferParts} parts`);
    w.runUntilDone(300);
    finalReads(w);
    assertHoldsAll(w, 1, j, 1, acked);
    assertLinearizable(w);
  });

  it('a rejoin hands over and installs a store of 2,000 keys in parts within transferBytes; the rejoined server holds every key', () => {
    const w = setup();
    const sizes = watchSizes(w);
    const acked = watchAcks(w);
    const j = failOver(w);
    rejoin(w);
    assertWithinBudget(sizes);
    const handed = sizes.byType.get('HandedOver') ?? 0;
    const installs = sizes.byType.get('Install') ?? 0;
    assert.ok(handed >= 10 && installs >= 10, `${handed} HandedOver, ${installs} Install`);
    assert.equal(w.server(1, j).transferParts, handed, 'the handing server counts the parts it sent');
    assert.equal(w.controller().stats.transferParts, installs);
    w.runUntilDone(300);
    finalReads(w);
    assertHoldsAll(w, 1, 1, 1, acked);
    assertLinearizable(w);
  });

  it('lost parts come again when the controller resends the request: the failover and the rejoin complete', () => {
    const w = setup();
    const sizes = watchSizes(w);
    const acked = watchAcks(w);
    // Drop one part in three, of each type, the first time it goes: only a resend of the whole
    // transfer brings it.
    const seen = new Set<string>();
    let dropped = 0;
    w.sim.network.addFilter((env) => {
      const m = env.msg as { type: string; round: number; part?: number; chunk?: number };
      if (!TRANSFERS.has(m.type)) return 'deliver';
      const id = `${m.type}:${m.round}:${m.part ?? 0}:${m.chunk}`;
      if (seen.has(id) || (m.chunk ?? 0) % 3 !== 1) return 'deliver';
      seen.add(id);
      dropped++;
      return 'drop';
    });
    const j = failOver(w);
    const afterFailover = dropped;
    assert.ok(afterFailover >= 3, `${afterFailover} StateChunks dropped`);
    assertHoldsAll(w, 1, j, 1, acked);
    rejoin(w);
    assert.ok(dropped - afterFailover >= 6, `${dropped - afterFailover} HandedOver and Install parts dropped`);
    assertWithinBudget(sizes);
    w.runUntilDone(300);
    finalReads(w);
    assertHoldsAll(w, 1, 1, 1, acked);
    assertLinearizable(w);
  });

  it('a restarted server never installs the parts of an abandoned rejoin, even when they come after a later one\'s', () => {
    // A load that runs through both rejoins: the id's keys take writes in between.
    const w = setup(4000);
    const acked = watchAcks(w);
    // Every Install of the first rejoin is held back: it makes no progress and is abandoned
    // (the id goes back to its old server, which takes writes again, for 20 ms: the restarted
    // server's Hellos are dropped meanwhile); once the restarted server installed the next
    // rejoin's snapshot (its Ack), it gets all the held parts.
    let first: number | undefined;
    let later: number | undefined;
    let quietUntil = -1;
    const held: Install[] = [];
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as Install | { type: 'Ack' | 'Reclaim' | 'Hello'; round: number };
      if (m.type === 'Reclaim' && quietUntil < 0) quietUntil = w.sim.now() + 20;
      if (m.type === 'Hello' && w.sim.now() < quietUntil) return 'drop';
      if (m.type === 'Install') {
        first ??= m.round;
        if (m.round !== first) return 'deliver';
        held.push(m);
        return 'drop';
      }
      if (m.type === 'Ack' && info.fromHost === 'r1s1' && first !== undefined && m.round > first && later === undefined) {
        later = m.round;
        for (const p of held) w.sim.send(w.t.servers[1]![1]!, p);
      }
      return 'deliver';
    });
    failOver(w);
    rejoin(w);
    assert.ok(w.completed() < 8000, 'the load ran through the rejoins');
    assert.ok(w.controller().stats.rejoinAborts >= 1, 'the first rejoin was abandoned');
    assert.ok(held.length >= 10 && later !== undefined, `${held.length} parts of round ${first} held, round ${later} installed`);
    assert.equal(w.server(1, 1).installedRound, later);
    // The abandoned snapshot lacks writes the installed one has: installing it would lose them.
    const stale = new Map(held.flatMap((p) => p.items.map((it) => [it[0], it[1]] as const)));
    const lacking = [...stale].filter(([k, ver]) => w.t.ring.home(keyHash(k)) === 1 && w.server(1, 1).store.version(k) > ver).length;
    assert.ok(lacking > 0, 'the abandoned snapshot lacks some writes');
    w.runUntilDone(300);
    finalReads(w);
    assertHoldsAll(w, 1, 1, 1, acked);
    assertLinearizable(w);
  });
});

describe('pegasus: a large transfer', () => {
  it('goes a part a turn: a source sending 5 MB of state (10 ms of its time) answers the pings meanwhile and is not failed over', () => {
    const w = world({
      seed: 1, racks: 2, servers: 2, clients: 2, sessions: 2, opsPerClient: 200, populate: true,
      workload: { keys: 20_000, zipf: 0, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 500 } },
      controller: { autoRkeys: false },
    });
    w.sim.advance(2);
    // r0s1 fails: its successor r0s0 fetches index 1 from r1s1, which holds 10,000 items of 500 bytes.
    w.sim.crash('r0s1');
    assert.ok(w.sim.runUntil(() => w.controller().serving[0]![1] === 0 && w.controller().current === undefined, 80), `failed over (log: ${w.controller().log.join(' | ')})`);
    // The source is busy sending for 10 ms from the fetch on: past failAfterMs (8) had it not answered the pings meanwhile.
    w.sim.advance(20);
    assert.equal(w.controller().stats.failovers, 1, `only r0s1 was failed over (log: ${w.controller().log.join(' | ')})`);
    assert.ok(w.server(1, 1).transferParts >= 8, `the state went in ${w.server(1, 1).transferParts} parts`);
    w.runUntilDone(200);
    assertLinearizable(w);
  });
});
