// The pieces of `switchboard bench nopaxos` measure what they claim: one closed-loop client sees the round trip of its path (a NOPaxos request through the in-switch sequencer travels as far as one to an unreplicated server; Multi-Paxos takes two round trips), saturation shows the cost model's bottlenecks, and the failover timeline finds the detection, the first commit through the new sequencer and the return to full throughput.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSystem, measure, sequencerFailover } from '../../bench/nopaxos.ts';

const W = { warmMs: 10, windowMs: 20 };

describe('bench nopaxos', () => {
  it('latency at low load follows the message delays', () => {
    const u = measure(buildSystem('unreplicated', { clients: 1 }), W);
    const np = measure(buildSystem('nopaxos', { clients: 1 }), W);
    const host = measure(buildSystem('nopaxosHostSequencer', { clients: 1 }), W);
    const p = measure(buildSystem('paxos', { clients: 1 }), W);
    assert.ok(Math.abs(u.p50Us - 100) < 2, `unreplicated ${u.p50Us} µs`);
    assert.ok(np.p50Us >= u.p50Us && np.p50Us < u.p50Us * 1.05, `NOPaxos ${np.p50Us} µs`);
    assert.ok(Math.abs(host.p50Us - 150) < 3, `host sequencer ${host.p50Us} µs: one more hop`);
    assert.ok(Math.abs(p.p50Us - 200) < 5, `Multi-Paxos ${p.p50Us} µs: two round trips`);
    assert.ok(Math.abs(u.opsPerSec - 1e6 / u.meanUs) / u.opsPerSec < 0.05, 'one closed-loop client: throughput = 1 / latency');
  });

  it('saturation shows the bottlenecks of the cost model', () => {
    const u = measure(buildSystem('unreplicated', { clients: 64 }), W);
    const p = measure(buildSystem('paxos', { clients: 64 }), W);
    // An unreplicated server: 4 µs per request; a Multi-Paxos leader with 5 replicas about 4x that.
    assert.ok(Math.abs(u.opsPerSec - 250_000) < 2500, `${u.opsPerSec}`);
    assert.ok(p.opsPerSec > 50_000 && p.opsPerSec < 70_000, `${p.opsPerSec}`);
  });

  it('the failover timeline finds detection, resumption and full throughput', () => {
    const fo = sequencerFailover(4, 100, 200);
    // 20 ms of silence, then one round trip (0.1 ms) to reserve the session at a majority of replicas.
    assert.equal(fo.detectMs, 20.1, 'the controller installs the standby 20 ms after the last answer and one round trip');
    assert.ok(fo.resumeMs !== null && fo.resumeMs >= fo.detectMs! && fo.resumeMs < fo.detectMs! + 5, `resumed after ${fo.resumeMs} ms`);
    assert.ok(fo.fullThroughputMs !== null && fo.fullThroughputMs >= fo.resumeMs!, `full throughput after ${fo.fullThroughputMs} ms`);
    assert.ok(fo.steadyOpsPerSec > 0);
    assert.equal(fo.timelineOpsPer5Ms[3], 0, 'nothing completes 5-10 ms after the crash');
  });
});
