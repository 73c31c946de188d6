// Two NetCache bugs found by a hunt over configurations and faults the sweep does not draw, each
// rebuilt by hand on a small rack (one client, scripted operations):
//  - a restarted switch carried out a set-up write meant for it before the restart (the
//    controller's resend of the verNext write whose answer was lost, or a late copy of it): its
//    version counter went back into an epoch already used, the restart went unnoticed (verNext
//    read non-zero), and later writes took versions the servers had, so they were acknowledged
//    and not applied. Requests now carry the switch's boot, and a reply from a later boot starts
//    a new set-up;
//  - a write's reply too large to cache passed the switch without recording its version, so a
//    slot filled (with an older value) while the write was on its way stayed valid: reads were
//    answered from the cache with the old value after the write completed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import { kvModel } from '../../apps/linearizability/models.ts';
import type { NetCacheControllerState } from '../../apps/netcache/controller.ts';
import type { NetCache } from '../../apps/netcache/messages.ts';
import { netcacheTopology } from '../../apps/netcache/topology.ts';
import type { KvOp } from '../../apps/kv/kv.ts';

function rack(valueBytes: number) {
  const history = new KvHistory();
  const t = netcacheTopology({
    servers: 4, clients: 1, sessions: 1, opsPerClient: 0, history, startDelayMs: 0, timeoutMs: 20,
    workload: { keys: 2, zipf: 0, readRatio: 1, valueSize: { kind: 'fixed', bytes: valueBytes } },
    cache: { cacheSize: 4, sketchWidth: 256, bloomWidth: 1024 }, controller: { threshold: 1_000_000 },
  });
  const sim = runSim(t.topology, { seed: 1, logLevel: 'silent' });
  return {
    t, sim,
    invoke(op: KvOp, stepMs = 0.5): void {
      sim.send(t.clients[0]!, { type: 'LoadInvoke', op });
      sim.advance(stepMs);
    },
    /** The data plane reports `key` hot (as its clone to the CPU would). */
    hot(key: string, stepMs: number): void {
      sim.send(t.controller, { type: 'PacketIn', msg: { type: 'NetCache', op: 'GET', key } as unknown as NetCache } as never);
      sim.advance(stepMs);
    },
    controller: (): NetCacheControllerState => sim.stateOf<NetCacheControllerState>(t.controller)!,
    assertLinearizable(ops: number): void {
      assert.equal(history.completed, ops);
      const res = checkHistory(kvModel(), history.history() as never);
      assert.equal(res.verdict, 'linearizable', res.violation?.text);
    },
  };
}

/** Two writes in the first epoch, a switch restart, then a write and a read. */
function writesAroundARestart(w: ReturnType<typeof rack>, afterRestartMs: number): void {
  w.invoke({ op: 'put', key: 'k0', value: 'A' }, 0.1);
  w.invoke({ op: 'put', key: 'k0', value: 'B' }, 0.1);
  w.sim.crash('tor');
  w.sim.advance(0.2);
  w.sim.restart('tor');
  w.sim.advance(afterRestartMs);
  w.invoke({ op: 'put', key: 'k0', value: 'C' });
  w.invoke({ op: 'get', key: 'k0' });
}

describe('netcache: bugs of the configuration hunt', () => {
  it('the resend of a set-up write whose answer was lost is refused by the switch restarted since', () => {
    const w = rack(8);
    let dropped = false;
    w.sim.network.addFilter((env) => {
      const m = env.msg as { type: string; id?: number };
      if (dropped || m.type !== 'ControlReply' || m.id !== w.controller().setup?.writes?.[1]?.id) return 'deliver';
      dropped = true;
      return 'drop';
    });
    w.sim.advance(0.4); // the set-up's writes are carried out at about 0.25 ms
    assert.ok(dropped, 'the answer to the verNext write was lost');
    writesAroundARestart(w, 2); // the retry tick (2 ms) resends the set-up's writes
    w.assertLinearizable(4);
    assert.equal(w.controller().boot, 1, 'the controller saw the switch\'s new boot');
  });

  it('a late copy of a set-up write is refused by the switch restarted since', () => {
    const w = rack(8);
    let copies = 0;
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as { type: string; register?: string };
      if (m.type === 'RegisterWrite' && m.register === 'verNext' && info.toHost === 'tor' && copies++ === 0) {
        w.sim.scheduler.schedule(1.2, () => w.sim.network.transmit(env, w.sim.network.endpoint(info.fromHost)));
      }
      return 'deliver';
    });
    w.sim.advance(0.4);
    writesAroundARestart(w, 1); // the copy lands at about 1.45 ms, long before the controller's epoch tick
    w.assertLinearizable(4);
  });

  it('a write\'s reply too large to cache still makes the cached value stale', () => {
    // Values of 200 bytes. k0's first write is stamped before k0 is cached and held up 2 ms on
    // its way to the server; k0 is cached meanwhile (the server holds nothing yet: a fill of
    // version 0, empty, is taken). The write's reply then passes the switch.
    const w = rack(200);
    let held = false;
    w.sim.network.addFilter((env, info) => {
      const m = env.msg as NetCache;
      if (held || m.type !== 'NetCache' || m.op !== 'PUT' || info.fromHost !== 'tor') return 'deliver';
      held = true;
      return { delayMs: 2 };
    });
    w.sim.advance(1);
    w.invoke({ op: 'put', key: 'k0', value: 'A' }, 0.02);
    w.hot('k0', 3);
    assert.ok(held, 'the write was held up');
    w.invoke({ op: 'get', key: 'k0' });
    w.invoke({ op: 'get', key: 'k0' });
    w.assertLinearizable(3);
  });
});
