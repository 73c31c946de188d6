// NetCache and consistent hashing with the same client API: the switch answers reads of cached
// keys, a write invalidates until the server's reply refreshes the copy, values above 128 bytes
// are never cached, and every history stays linearizable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import { kvModel } from '../../apps/linearizability/models.ts';
import type { NetCache } from '../../apps/netcache/messages.ts';
import { netcacheTopology } from '../../apps/netcache/topology.ts';
import { kvHashTopology } from '../../apps/kv-hash/topology.ts';
import { Ring } from '../../apps/kv-hash/ring.ts';
import type { VersionedStore } from '../../apps/kv-hash/store.ts';
import type { LoadState } from '../../apps/workload/client.ts';

function run(valueBytes: number, readRatio: number) {
  const history = new KvHistory();
  const t = netcacheTopology({
    servers: 4, clients: 3, sessions: 2, opsPerClient: 200, history, startDelayMs: 1, preload: ['k0', 'k1', 'k2'],
    workload: { keys: 3, zipf: 0.5, readRatio, valueSize: { kind: 'fixed', bytes: valueBytes } },
    cache: { cacheSize: 16, sketchWidth: 256, bloomWidth: 1024 },
  });
  const sim = runSim(t.topology, { seed: 4, logLevel: 'silent', network: { jitterMs: 0.005 } });
  let fromCache = 0;
  sim.network.addFilter((env) => {
    const m = env.msg as NetCache;
    if (m.type === 'NetCache' && m.op === 'REP_R' && m.cached === 1 && m.value !== '') fromCache++;
    return 'deliver';
  });
  const done = (): number => t.clients.reduce((n, c) => n + (sim.stateOf<LoadState>(c)?.completed ?? 0), 0);
  assert.ok(sim.runUntil(() => done() >= 600, 500));
  const verdict = checkHistory(kvModel(), history.history() as never).verdict;
  return { fromCache, verdict };
}

/**
 * One client, one session, no hot-key reports from the data plane (the test says which keys are
 * hot), `keys` keys and `cacheSize` slots: each step advances the clock by `stepMs`.
 */
function oneClientCache(keys: number, cacheSize: number, stepMs: { hot: number; op: number }) {
  const history = new KvHistory();
  const t = netcacheTopology({
    servers: 4, clients: 1, sessions: 1, opsPerClient: 0, history, startDelayMs: 0, timeoutMs: 20,
    workload: { keys, zipf: 0, readRatio: 1, valueSize: { kind: 'fixed', bytes: 8 } },
    cache: { cacheSize, sketchWidth: 256, bloomWidth: 1024 }, controller: { threshold: 1_000_000 },
  });
  const sim = runSim(t.topology, { seed: 1, logLevel: 'silent' });
  return {
    history, t, sim,
    /** What the data plane does for a key it finds hot: a report to the controller. */
    hot(key: string): void {
      sim.send(t.controller, { type: 'PacketIn', msg: { type: 'NetCache', op: 'GET', key } as unknown as NetCache } as never);
      sim.advance(stepMs.hot);
    },
    invoke(op: { op: 'put'; key: string; value: string } | { op: 'get'; key: string }): void {
      sim.send(t.clients[0]!, { type: 'LoadInvoke', op });
      sim.advance(stepMs.op);
    },
  };
}

describe('netcache', () => {
  it('answers most reads of cached keys from the switch, coherently with writes', () => {
    const r = run(64, 0.8);
    assert.equal(r.verdict, 'linearizable');
    assert.ok(r.fromCache > 150, `${r.fromCache} reads answered by the switch`);
  });

  it('never caches values above 128 bytes (only the empty value of a key never written)', () => {
    const r = run(512, 0.8);
    assert.equal(r.verdict, 'linearizable');
    assert.equal(r.fromCache, 0);
  });

  it('populated stores hold every key at its home with a value of its size, for every system', () => {
    const workload = { keys: 200, zipf: 0.9, readRatio: 1, valueSize: { kind: 'fixed', bytes: 100 } } as const;
    const ring = new Ring(4);
    const kv = kvHashTopology({ servers: 4, clients: 1, opsPerClient: 0, workload, populate: true });
    const nc = netcacheTopology({ servers: 4, clients: 1, opsPerClient: 0, workload, populate: true });
    for (const t of [kv, nc]) {
      const sim = runSim(t.topology, { seed: 1, logLevel: 'silent' });
      sim.advance(0.1);
      const stores = t.servers.map((s) => sim.stateOf<{ store: VersionedStore }>(s)!.store);
      assert.equal(stores.reduce((n, st) => n + st.items.size, 0), 200);
      for (let k = 0; k < 200; k++) assert.equal(stores[ring.homeOf(`k${k}`)]!.get(`k${k}`)?.valueBytes, 100);
    }
  });

  it('a slot being filled takes only the fill: a late reply of an older write, passing after the table entry went in, is not cached', () => {
    const history = new KvHistory();
    const t = netcacheTopology({
      servers: 4, clients: 3, sessions: 1, opsPerClient: 0, history, startDelayMs: 0, preload: ['k0'], timeoutMs: 20,
      workload: { keys: 1, zipf: 0, readRatio: 1, valueSize: { kind: 'fixed', bytes: 8 } },
      cache: { cacheSize: 4, sketchWidth: 256, bloomWidth: 1024 }, controller: { threshold: 1_000_000 },
    });
    const sim = runSim(t.topology, { seed: 1, logLevel: 'silent' });
    const at: Record<string, number> = {};
    sim.network.addFilter((env, info) => {
      const m = env.msg as { type: string; op?: string; value?: string; table?: string };
      // The controller's table entry for k0 lands 1 ms late, and its fill 4 ms late.
      if (m.type === 'TableInsert' && m.table === 'cache') return at['entry'] = info.nowMs + 1, { delayMs: 1 };
      if (m.type === 'FillRequest') return at['fill'] = info.nowMs + 4, { delayMs: 4 };
      // The older write's reply comes back 2 ms late: after the newer one, and after the entry.
      if (m.type === 'NetCache' && m.op === 'REP_W' && m.value === 'B') return at['lateReply'] = info.nowMs + 2, { delayMs: 2 };
      if (m.type === 'NetCache' && m.op === 'PUT') at[`put ${m.value}`] ??= info.nowMs;
      return 'deliver';
    });
    const invoke = (k: number, op: { op: 'put'; key: string; value: string } | { op: 'get'; key: string }): void => {
      sim.send(t.clients[k]!, { type: 'LoadInvoke', op });
    };
    // After the switch's set-up (its epoch), while k0's insertion waits for its table entry.
    sim.advance(0.3);
    invoke(0, { op: 'put', key: 'k0', value: 'B' });
    sim.advance(0.005);
    invoke(1, { op: 'put', key: 'k0', value: 'A' });
    // Both writes are answered; then a read before the fill, and one after it.
    sim.advance(3);
    invoke(2, { op: 'get', key: 'k0' });
    sim.advance(5);
    invoke(2, { op: 'get', key: 'k0' });
    sim.advance(1);
    assert.equal(history.completed, 4);
    // The race as meant: both writes before the entry, the late reply after it, the fill last.
    assert.ok(at['put B']! < at['entry']! && at['put A']! < at['entry']! && at['entry']! < at['lateReply']! && at['lateReply']! < at['fill']!, JSON.stringify(at));
    assert.equal(checkHistory(kvModel(), history.history() as never).verdict, 'linearizable');
  });

  it('a restarted controller clears the cache table before it caches anything: no two keys share a slot', () => {
    // The old controller cached k0 and k1 in two of the three slots. A restarted one knows
    // nothing of them: had it put k2 in a slot the table still maps k0 to, reads of k0 would get
    // k2's value.
    const { history, sim, hot, invoke } = oneClientCache(3, 3, { hot: 2, op: 1 });
    let fromCache = 0;
    sim.network.addFilter((env) => {
      const m = env.msg as NetCache;
      if (m.type === 'NetCache' && m.op === 'REP_R' && m.cached === 1) fromCache++;
      return 'deliver';
    });
    sim.advance(1);
    for (const [key, value] of [['k0', 'A'], ['k1', 'B'], ['k2', 'C']] as const) invoke({ op: 'put', key, value });
    hot('k0');
    hot('k1');
    invoke({ op: 'get', key: 'k0' });
    assert.equal(fromCache, 1, 'k0 was answered from the cache');
    sim.crash('ctrl');
    sim.advance(1);
    sim.restart('ctrl');
    sim.advance(1);
    hot('k2');
    const cached = (): number => fromCache;
    const before = cached();
    invoke({ op: 'get', key: 'k2' });
    assert.equal(cached(), before + 1, 'k2 was answered from the cache');
    invoke({ op: 'get', key: 'k0' });
    invoke({ op: 'get', key: 'k1' });
    assert.equal(history.completed, 7);
    assert.equal(checkHistory(kvModel(), history.history() as never).verdict, 'linearizable');
  });

  it('a fill from an earlier caching of the key, arriving late, is not taken for the fill of this one', () => {
    // k0 is cached, and its fill (value A) is held up in the network. k0 is written (B), evicted
    // for k1, and cached again; the old fill then arrives at the new slot before the new fill.
    const { history, sim, hot, invoke } = oneClientCache(2, 1, { hot: 1, op: 0.5 });
    let fills = 0;
    sim.network.addFilter((env) => {
      const m = env.msg as NetCache;
      // The first fill (k0, A) is held 4 ms; the third (k0 cached again, B) 4 ms as well.
      if (m.type === 'NetCache' && m.op === 'CACHE_FILL') return ++fills === 2 ? 'deliver' : { delayMs: 4 };
      return 'deliver';
    });
    sim.advance(1);
    invoke({ op: 'put', key: 'k0', value: 'A' });
    hot('k0');
    invoke({ op: 'put', key: 'k0', value: 'B' });
    hot('k1');
    hot('k0');
    // The old fill (A) has arrived by now, the new one (B) not yet.
    sim.advance(1);
    invoke({ op: 'get', key: 'k0' });
    sim.advance(5);
    invoke({ op: 'get', key: 'k0' });
    assert.equal(fills, 3);
    assert.equal(history.completed, 4);
    assert.equal(checkHistory(kvModel(), history.history() as never).verdict, 'linearizable');
  });

  it('survives a switch restart: the controller moves the switch to a new epoch before it takes writes', () => {
    // A restarted switch has lost verNext: stamping from 0 again, its writes would look older
    // than what the servers hold, and be acknowledged but never applied.
    const history = new KvHistory();
    const t = netcacheTopology({
      servers: 4, clients: 3, sessions: 2, opsPerClient: 150, history, startDelayMs: 0.2, timeoutMs: 1, preload: ['k0', 'k1'],
      workload: { keys: 3, zipf: 0.5, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 8 } },
      cache: { cacheSize: 4, sketchWidth: 256, bloomWidth: 1024 }, controller: { threshold: 2, epochMs: 1 },
    });
    const sim = runSim(t.topology, { seed: 3, logLevel: 'silent' });
    const done = (): number => t.clients.reduce((n, c) => n + (sim.stateOf<LoadState>(c)?.completed ?? 0), 0);
    let fromCache = 0;
    sim.network.addFilter((env) => {
      const m = env.msg as NetCache;
      if (m.type === 'NetCache' && m.op === 'REP_R' && m.cached === 1) fromCache++;
      return 'deliver';
    });
    assert.ok(sim.runUntil(() => done() >= 100, 200));
    sim.crash('tor');
    sim.advance(0.5);
    sim.restart('tor');
    const cachedBefore = fromCache;
    assert.ok(sim.runUntil(() => done() >= 450, 500), `${done()} of 450 operations completed`);
    assert.ok(fromCache > cachedBefore, 'the restarted switch caches again');
    assert.equal(checkHistory(kvModel(), history.history() as never).verdict, 'linearizable');
  });

  it('consistent hashing sends every request to its home and stays linearizable', () => {
    const history = new KvHistory();
    const t = kvHashTopology({ servers: 4, clients: 3, sessions: 2, opsPerClient: 100, history });
    const sim = runSim(t.topology, { seed: 2, logLevel: 'silent', network: { dropRate: 0.02, jitterMs: 0.01 } });
    sim.runUntilIdle({ maxMs: 500 });
    assert.equal(checkHistory(kvModel(), history.history() as never).verdict, 'linearizable');
    assert.equal(history.completed, 300);
  });
});
