// The worked example of docs/switch-model.md, verbatim: a switch program that gives each
// tracked source a packet quota and forwards by destination MAC. It must build, fit, load and
// behave as the guide says, in both execution modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probe, runSim, type ActorRef, type Msg } from '../../actors/index.ts';
import {
  checkResources, defineProgram, formatResourceReport, markDrop, rack, register, stage, table,
  type ControlReply, type Frame, type SwitchProgram,
} from '../../switch-model/index.ts';
import { bothModes, stats } from './helpers.ts';

// ---- from the guide: the program ------------------------------------------------------------

interface QuotaHeaders {
  src: number; // from the frame
  dst: number;
  slot: number; // metadata: which register cell counts this source (-1: not tracked)
  quota: number; // metadata: how many packets it may send
}

export function quotaSwitch(): SwitchProgram<QuotaHeaders> {
  const flows = table<QuotaHeaders>({
    name: 'flows',
    match: 'exact',
    keys: [{ name: 'src', bits: 48, get: (h) => h.src }],
    size: 1024,
    actions: {
      track: {
        params: { slot: 10, quota: 32 },
        run: (pkt, p) => { pkt.headers.slot = p.slot!; pkt.headers.quota = p.quota!; },
      },
      untracked: { run: (pkt) => { pkt.headers.slot = -1; } },
    },
    defaultAction: { action: 'untracked' },
  });
  const used = register('used', 32, 1024);
  const dmac = table<QuotaHeaders>({
    name: 'dmac',
    match: 'exact',
    keys: [{ name: 'dst', bits: 48, get: (h) => h.dst }],
    size: 1024,
    actions: {
      forward: { params: { port: 9 }, run: (pkt, p) => { pkt.meta.egressPort = p.port!; } },
      drop: { run: (pkt) => markDrop(pkt, 'unknown-destination') },
    },
    defaultAction: { action: 'drop' },
  });
  return defineProgram<QuotaHeaders>({
    name: 'quota',
    parse: (msg) => {
      if (msg.type !== 'Frame') return undefined; // anything else is dropped as 'parse-error'
      const f = msg as Frame;
      return { src: f.ethSrc, dst: f.ethDst, slot: -1, quota: 0 };
    },
    deparse: (pkt) => pkt.msg, // nothing in the frame changes
    ingress: [
      stage<QuotaHeaders>('classify', { tables: [flows] }, (pkt, env) => {
        env.apply(flows, pkt);
      }),
      stage<QuotaHeaders>('meter', { registers: [used] }, (pkt, env) => {
        const h = pkt.headers;
        if (h.slot < 0) return;
        const n = env.register(used).rmw(h.slot, (old) => old + 1); // the one access to 'used'
        if (n > h.quota) markDrop(pkt, 'over-quota');
      }),
      stage<QuotaHeaders>('forward', { tables: [dmac] }, (pkt, env) => {
        env.apply(dmac, pkt);
      }),
    ],
  });
}

// ---- the guide's claims ---------------------------------------------------------------------------

describe('the guide\'s worked example', () => {
  it('fits the default target, and the report says so', () => {
    const report = checkResources(quotaSwitch());
    assert.equal(report.ok, true);
    assert.match(formatResourceReport(report), /program 'quota' on tofino-like: fits \(3 of 12 stages\)/);
  });

  it('forwards by destination, stops a tracked source after its quota, and counts why', async () => {
    const out = await bothModes(async (mode) => {
      const r = rack({
        hosts: 3, program: quotaSwitch(), mode,
        peer: (host) => ({ host, path: 'probe/nic' }), // port i delivers to the probe on host i
        setup: (hosts) => ({
          entries: [
            ...hosts.map((h) => ({ table: 'dmac', match: [h.mac], action: 'forward', params: { port: h.port } })),
            { table: 'flows', match: [hosts[0]!.mac], action: 'track', params: { slot: 0, quota: 3 } },
          ],
        }),
      });
      const rt = runSim(r.topology, { seed: 1, logLevel: 'silent' });
      const nic = r.hosts.map((h) => probe<Frame>(rt, h.name, 'nic')); // a probe lives at probe/<name>
      const [h0, h1, h2] = r.hosts;
      const send = (from: typeof h0, to: typeof h0, n: number) =>
        rt.send(from!.ingress, { type: 'Frame', ethSrc: from!.mac, ethDst: to!.mac, sizeBytes: 100, payload: { type: 'Hi', n } as Msg });
      for (let n = 0; n < 5; n++) send(h0, h1, n); // h0 is tracked: 3 get through
      for (let n = 0; n < 5; n++) send(h2, h1, 10 + n); // h2 is not
      rt.runUntilIdle();
      const controller = probe<ControlReply>(rt, r.switchHost, 'controller');
      const read = await (async () => {
        rt.send(r.switch.control, { type: 'RegisterRead', register: 'used', index: 0, replyTo: controller.ref as ActorRef<ControlReply> });
        return controller.expectMsg('ControlReply');
      })();
      return {
        toH1: nic[1]!.pending.map((x) => (x.msg.payload as unknown as { n: number }).n),
        used: read.ok ? read.value : read.error,
        drops: (await stats({ rt, control: r.switch.control, replies: controller })).drops,
      };
    });
    assert.deepEqual(out.toH1, [0, 1, 2, 10, 11, 12, 13, 14]);
    assert.equal(out.used, 5);
    assert.deepEqual(out.drops, { 'over-quota': 2 });
  });
});
