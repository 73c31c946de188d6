// The example switch programs of examples/switch-programs/, written from docs/switch-model.md
// alone: a count-min heavy-hitter detector and a hash-based load balancer. Each scenario runs
// with the staged and the fused pipeline and must give the same messages at the same virtual
// times, the same controller state and the same statistics (`bothModes`). Last, two broken
// variants that the model must refuse, naming the array and the stage.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probe, runSim, type Msg, type Probe } from '../../actors/index.ts';
import {
  checkResources, defineProgram, formatResourceReport, rack, register, stage,
  type ControlReply, type Frame, type Rack, type SwitchMode, type SwitchProgram,
} from '../../switch-model/index.ts';
import {
  flowHash, heavyHitter, heavyHitterRack, HH_ROWS, HH_SEEDS, type HhControllerState,
} from '../../examples/switch-programs/heavy-hitter.ts';
import {
  LB_VIP, loadBalancer, loadBalancerRack, type LbControllerState,
} from '../../examples/switch-programs/load-balancer.ts';
import { bothModes, control, stats, type Seen } from './helpers.ts';

const NIC = (host: string) => ({ host, path: 'probe/nic' });

/** Probes at every host's peer, and one at the switch host for control replies. */
function start(r: Rack) {
  const rt = runSim(r.topology, { seed: 1, logLevel: 'silent' });
  const probes = new Map(r.hosts.map((h) => [h.name, probe<Msg>(rt, h.name, 'nic')]));
  const replies = probe<ControlReply>(rt, r.switchHost, 'replies');
  return { rt, probes, session: { rt, control: r.switch.control, replies } };
}

function seen(probes: Map<string, Probe<Msg>>): Record<string, Seen[]> {
  const out: Record<string, Seen[]> = {};
  for (const [name, p] of probes) out[name] = p.pending.map((x) => ({ msg: x.msg, atMs: x.atMs }));
  return out;
}

function frame(ethSrc: number, ethDst: number, seq: number, extra: Partial<Frame> = {}): Frame {
  return { type: 'Frame', ethSrc, ethDst, sizeBytes: 100, payload: { type: 'Seq', seq } as Msg, ...extra };
}

async function registerValue(session: Parameters<typeof control>[0], name: string, index: number) {
  const r = await control(session, (replyTo) => ({ type: 'RegisterRead', register: name, index, replyTo }));
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

describe('example: heavy-hitter detector', () => {
  it('fits the budget: four stages, one register array and one stateful ALU in each', () => {
    const report = checkResources(heavyHitter());
    assert.ok(report.ok, formatResourceReport(report));
    assert.equal(report.stages.length, 4);
    for (const s of report.stages) assert.equal(s.statefulAlus, 1, formatResourceReport(report));
  });

  it('reports the skewed flow once when it crosses the threshold, not the others; a reset clears the sketch', async () => {
    const THRESHOLD = 10;
    const out = await bothModes(async (mode: SwitchMode) => {
      const r = heavyHitterRack({ hosts: 3, threshold: THRESHOLD, mode, peer: NIC });
      const { rt, probes, session } = start(r);
      const [h0, h1, h2] = [r.host('h0'), r.host('h1'), r.host('h2')];
      const ctl = () => rt.stateOf<HhControllerState>(r.controller)!;
      // The heavy flow: 30 frames from h0. Light flows: 100 sources behind h2, 2 frames each,
      // and h1 answering h0 5 times. 30 + 200 + 5 packets in 3 x 1024 cells: collisions are rare.
      let seq = 0;
      for (let i = 0; i < 30; i++) {
        rt.send(h0.ingress, frame(h0.mac, h1.mac, seq++));
        if (i < 5) rt.send(h1.ingress, frame(h1.mac, h0.mac, seq++));
      }
      for (let k = 0; k < 100; k++) {
        for (let j = 0; j < 2; j++) rt.send(h2.ingress, frame(0x0a0000000000 + k * 7919, h1.mac, seq++));
      }
      rt.runUntilIdle();
      const afterFirst = structuredClone(ctl());
      assert.deepEqual(afterFirst.reports.map((x) => x.src), [h0.mac], 'only h0 is reported, once');
      assert.equal(afterFirst.reports[0]!.ingressPort, h0.port);
      assert.equal(afterFirst.reports[0]!.estimate, THRESHOLD + 1, 'reported as it went above the threshold');
      const cell0 = flowHash(Math.floor(h0.mac / 2 ** 32), h0.mac >>> 0, HH_SEEDS[0]);
      const counted = await registerValue(session, HH_ROWS[0], cell0);
      assert.equal(counted, 30, "row 0 counts h0's 30 frames");

      // Reset through the controller; the same flow is counted from 0 and reported again.
      rt.send(r.controller, { type: 'HhReset' });
      rt.runUntilIdle();
      assert.equal(ctl().resets, 4, `four RegisterResets answered: ${JSON.stringify(ctl().errors)}`);
      assert.equal(await registerValue(session, HH_ROWS[0], cell0), 0);
      for (let i = 0; i < THRESHOLD; i++) rt.send(h0.ingress, frame(h0.mac, h1.mac, seq++));
      rt.runUntilIdle();
      assert.equal(ctl().reports.length, 1, 'at the threshold, not above it: no new report');
      rt.send(h0.ingress, frame(h0.mac, h1.mac, seq++));
      rt.runUntilIdle();
      assert.deepEqual(ctl().reports.map((x) => x.src), [h0.mac, h0.mac], 'one packet more: reported again');

      const st = await stats(session);
      assert.equal(st.toCpu, 2);
      assert.equal(st.rejected, null);
      const got = seen(probes);
      assert.equal(got.h1!.length, 30 + 200 + THRESHOLD + 1, 'every frame to h1 is forwarded, reported or not');
      assert.equal(got.h0!.length, 5);
      return { got, controller: ctl(), stats: st };
    });
    assert.equal(out.controller.reports.length, 2);
  });
});

describe('example: load balancer', () => {
  it('fits the budget', () => {
    const report = checkResources(loadBalancer());
    assert.ok(report.ok, formatResourceReport(report));
    assert.equal(report.stages.length, 3);
  });

  it('spreads flows over the backends, keeps each flow on one backend, and counts per backend', async () => {
    const FLOWS = 64;
    const PER_FLOW = 3;
    await bothModes(async (mode: SwitchMode) => {
      const r = loadBalancerRack({ clients: 2, backends: 4, mode, peer: NIC });
      const { rt, probes, session } = start(r);
      const clients = [r.host('c0'), r.host('c1')];
      const backends = ['b0', 'b1', 'b2', 'b3'].map((n) => r.host(n));
      let seq = 0;
      for (let p = 0; p < PER_FLOW; p++) {
        for (let f = 0; f < FLOWS; f++) {
          const c = clients[f % 2]!;
          // Flow f: its own source address (as if behind a NAT); the destination MAC is not a host's.
          rt.send(c.ingress, frame(c.mac, 0x02ffffffffff, seq++, { ipSrc: c.ip + 0x10000 * (f + 1), ipDst: LB_VIP, sizeBytes: 64 + f }));
        }
      }
      // Not to the VIP: forwarded by MAC, unchanged. To nobody: dropped.
      rt.send(clients[0]!.ingress, frame(clients[0]!.mac, clients[1]!.mac, seq++, { ipSrc: clients[0]!.ip, ipDst: clients[1]!.ip }));
      rt.send(clients[0]!.ingress, frame(clients[0]!.mac, 0x02ffffffffff, seq++, { ipSrc: clients[0]!.ip, ipDst: clients[1]!.ip }));
      rt.runUntilIdle();

      const got = seen(probes);
      const flowTo = new Map<number, Set<string>>();
      for (const b of backends) {
        for (const s of got[b.name]!) {
          const f = s.msg as Frame;
          assert.equal(f.ipDst, b.ip, 'rewritten to the backend it reached');
          assert.equal(f.ethDst, b.mac);
          if (!flowTo.has(f.ipSrc!)) flowTo.set(f.ipSrc!, new Set());
          flowTo.get(f.ipSrc!)!.add(b.name);
        }
      }
      assert.equal(flowTo.size, FLOWS, 'every flow reached a backend');
      for (const [src, bs] of flowTo) assert.equal(bs.size, 1, `flow ${src} went to ${[...bs]}`);
      const perBackend = backends.map((b) => got[b.name]!.length);
      assert.equal(perBackend.reduce((a, b) => a + b, 0), FLOWS * PER_FLOW);
      for (const n of perBackend) assert.ok(n >= FLOWS * PER_FLOW / 8, `spread over all backends: ${perBackend}`);
      assert.equal(got.c1!.length, 1, 'the non-VIP frame reached c1');
      assert.equal((got.c1![0]!.msg as Frame).ipDst, clients[1]!.ip);
      assert.equal(got.c0!.length, 0);

      rt.send(r.controller, { type: 'LbReadCounters', backends: 4 });
      rt.runUntilIdle();
      const ctl = rt.stateOf<LbControllerState>(r.controller)!;
      assert.deepEqual(ctl.errors, []);
      assert.deepEqual(ctl.counts, backends.map((b) => ({
        packets: got[b.name]!.length,
        bytes: got[b.name]!.reduce((a, s) => a + (s.msg as Frame).sizeBytes, 0),
      })));
      const st = await stats(session);
      assert.deepEqual(st.drops, { 'no-egress-port': 1 });
      return { got, counts: ctl.counts, stats: st };
    });
  });
});

/** A sketch row done wrong: read the cell, then write it back, two accesses for one packet. */
function readThenWrite(): SwitchProgram<{ src: number }> {
  const row = register('cms0', 32, 1024);
  return defineProgram<{ src: number }>({
    name: 'hh-read-then-write',
    parse: (msg) => (msg.type === 'Frame' ? { src: (msg as Frame).ethSrc } : undefined),
    deparse: (pkt) => pkt.msg,
    ingress: [
      stage<{ src: number }>('row0', { registers: [row] }, (pkt, env) => {
        const i = pkt.headers.src & 1023;
        const old = env.register(row).read(i);
        env.register(row).write(i, old + 1);
        pkt.meta.egressPort = 1;
      }),
    ],
  });
}

describe('example: broken variants are refused', () => {
  for (const mode of ['staged', 'fused'] as const) {
    it(`a register touched twice for one packet rejects the program (${mode}), naming array and stage`, async () => {
      const r = rack({ hosts: 2, program: readThenWrite(), mode, peer: NIC });
      const { rt, probes, session } = start(r);
      // One packet, then another once the first is through (in staged mode the packets already
      // past the parser when the program is rejected still run their stages).
      rt.send(r.host('h0').ingress, frame(r.host('h0').mac, r.host('h1').mac, 0));
      rt.runUntilIdle();
      rt.send(r.host('h0').ingress, frame(r.host('h0').mac, r.host('h1').mac, 1));
      rt.runUntilIdle();
      const st = await stats(session);
      assert.match(String(st.rejected), /register 'cms0'.*twice.*stage 'row0'/);
      assert.deepEqual(st.drops, { 'rule-violation': 1, 'program-rejected': 1 });
      assert.equal(probes.get('h1')!.pending.length, 0);
    });
  }

  it('a sketch with all rows in one stage is over budget, the report names the stage and the arrays', () => {
    const rows = [0, 1, 2, 3, 4].map((i) => register(`cms${i}`, 32, 1024));
    const program = defineProgram<{ src: number }>({
      name: 'hh-one-stage',
      parse: (msg) => (msg.type === 'Frame' ? { src: (msg as Frame).ethSrc } : undefined),
      deparse: (pkt) => pkt.msg,
      ingress: [stage<{ src: number }>('sketch', { registers: rows }, (pkt, env) => {
        for (const r of rows) env.register(r).rmw(pkt.headers.src & 1023, (old) => old + 1);
      })],
    });
    const report = checkResources(program);
    assert.equal(report.ok, false);
    assert.match(formatResourceReport(report), /OVER: stage 0 \(ingress 'sketch'\).*stateful ALUs > 4.*register 'cms0'/);
    assert.throws(() => rack({ hosts: 2, program, peer: NIC }), /sketch/);
  });
});
