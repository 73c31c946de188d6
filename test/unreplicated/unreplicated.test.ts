// The unreplicated baseline: one server executes each request once (its client table answers retries), over a clean and a lossy, duplicating network; histories are linearizable.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import type { ClientState } from '../../apps/unreplicated/client.ts';
import type { ServerState } from '../../apps/unreplicated/replica.ts';
import { unreplicatedTopology } from '../../apps/unreplicated/topology.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import { kvModel } from '../../apps/linearizability/models.ts';
import type { InvokeResult } from '../../apps/kv/driver.ts';
import { probe } from '../../actors/index.ts';

describe('unreplicated server', () => {
  for (const [name, network] of [['ManyOps', { latencyMs: 0.05 }], ['LossyNetwork', { latencyMs: 0.05, jitterMs: 0.05, dropRate: 0.1, duplicateRate: 0.2 }]] as const) {
    it(name, () => {
      // Goal: every operation of four closed-loop clients completes, executed once, and the history is linearizable.
      const history = new KvHistory();
      const topo = unreplicatedTopology({ clients: 4, opsPerClient: 50, history });
      const rt = runSim(topo.topology, { seed: 4, logLevel: 'silent', network });
      const completed = () => topo.clients.reduce((n, c) => n + rt.stateOf<ClientState>(c)!.d.completed, 0);
      assert.ok(rt.runUntil(() => completed() === 200, 30_000), `${completed()} of 200 completed`);
      const server = rt.stateOf<ServerState>(topo.server)!;
      assert.equal(server.app.executedCount, 200);
      assert.equal(server.app.maxExecutions, 1);
      // A second execution throws in the state machine (at-most-once violated): no actor may have failed.
      assert.deepEqual(rt.system.failureLog.map((f) => String(f.error)), []);
      const res = checkHistory(kvModel(), history.history() as never, { maxSteps: 5_000_000 });
      assert.equal(res.verdict, 'linearizable', res.violation?.text ?? '');
    });
  }

  it('Invoke', async () => {
    // Goal: an operation asked for from outside (Invoke) is answered with InvokeResult, as by every protocol's client.
    const topo = unreplicatedTopology({ clients: 1 });
    const rt = runSim(topo.topology, { seed: 1, logLevel: 'silent' });
    const p = probe<InvokeResult>(rt, 'c0');
    rt.send(topo.clients[0]!, { type: 'Invoke', op: { op: 'put', key: 'a', value: 'x' }, replyTo: p.ref });
    rt.send(topo.clients[0]!, { type: 'Invoke', op: { op: 'get', key: 'a' }, replyTo: p.ref });
    const [put, get] = await p.receiveN(2);
    assert.deepEqual(put!.result, {});
    assert.deepEqual(get!.result, { value: 'x' });
  });
});
