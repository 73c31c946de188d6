// L2 and L3 forwarding programs on the topologies they are for: a rack whose switch learns MACs
// through a controller (unknown destinations flood, learned ones go to one port), and a
// leaf-spine fabric that routes by longest prefix across racks, rewriting MACs and counting down
// the TTL. Both execution modes, compared packet for packet.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probe, runSim, type Msg } from '../../actors/index.ts';
import {
  BROADCAST_MAC, ipv4, l2Forwarding, l2Learner, l2Setup, leafSpine, type ControlReply, type Frame,
} from '../../switch-model/index.ts';
import { bothModes, frame, payloads, received, stats, world } from './helpers.ts';

const data = (n: number): Msg => ({ type: 'Data', n }) as Msg;

describe('L2 forwarding', () => {
  it('floods unknown destinations, learns sources through the controller, then forwards to one port', async () => {
    const out = await bothModes(async (mode) => {
      const w = world({ hosts: 4, program: l2Forwarding({ learning: true }), mode, setup: { multicast: l2Setup([], 4).multicast } });
      w.rt.spawn(w.rack.switchHost, 'learner', l2Learner(w.control));
      const [h0, h1, h2] = w.hosts;
      w.rt.advance(0.1);
      w.rt.send(h0!.ingress, frame(h0!, h1!.mac, data(1))); // h1 unknown: flood; h0 learned
      w.rt.advance(0.1);
      w.rt.send(h1!.ingress, frame(h1!, h0!.mac, data(2))); // h0 known: to h0 only; h1 learned
      w.rt.advance(0.1);
      w.rt.send(h0!.ingress, frame(h0!, h1!.mac, data(3))); // h1 known
      w.rt.send(h2!.ingress, frame(h2!, BROADCAST_MAC, data(4))); // broadcast: everyone else
      w.rt.runUntilIdle();
      return { got: received(w), stats: await stats(w) };
    });
    const ns = (h: string) => payloads(out.got[h]).map((p) => (p as unknown as { n: number }).n);
    assert.deepEqual(ns('h0'), [2, 4]);
    assert.deepEqual(ns('h1'), [1, 3, 4]);
    assert.deepEqual(ns('h2'), [1]);
    assert.deepEqual(ns('h3'), [1, 4]);
    assert.equal(out.stats.toCpu, 3, 'h0, h1 and h2 were each learned once');
    assert.deepEqual(out.stats.drops, { 'same-port': 2 });
  });
});

describe('L3 forwarding on a leaf-spine fabric', () => {
  it('routes by longest prefix within and across racks over the chosen spine, rewriting MACs and decrementing the TTL', async () => {
    const out = await bothModes(async (mode) => {
      const f = leafSpine({ leaves: 3, spines: 2, hostsPerLeaf: 2, mode, peer: (host) => ({ host, path: 'probe/nic' }) });
      const rt = runSim(f.topology, { seed: 3, logLevel: 'silent' });
      const probes = f.hosts.map((h) => probe<Frame>(rt, h.name, 'nic'));
      const a = f.host('l0h0');
      const send = (n: number, ipDst: number, ttl = 64) => rt.send(a.ingress, frame(a, 0, data(n), 200, { ipSrc: a.ip, ipDst, ttl }));
      send(1, f.host('l2h1').ip); // leaf0 -> spine (0+2)%2 = 0 -> leaf2
      send(2, f.host('l0h1').ip); // same rack
      send(3, f.host('l1h0').ip); // leaf0 -> spine 1 -> leaf1
      send(4, ipv4(192, 168, 0, 1)); // no route
      send(5, f.host('l2h0').ip, 2); // the TTL runs out at the spine
      rt.runUntilIdle();
      const replies = probe<ControlReply>(rt, 'leaf0', 'ctl');
      const stat = async (sw: typeof f.leaves[number]) => stats({ rt, control: sw.control, replies });
      const got = Object.fromEntries(f.hosts.map((h, i) => [h.name, probes[i]!.pending.map((r) => ({ msg: r.msg, atMs: r.atMs }))]));
      return {
        got,
        leaf0: (await stat(f.leaves[0]!)).drops,
        spineRx: [(await stat(f.spines[0]!)).rxPackets, (await stat(f.spines[1]!)).rxPackets],
        spine0: (await stat(f.spines[0]!)).drops,
      };
    });
    const only = (h: string) => {
      const frames = out.got[h]!.map((s) => s.msg as Frame);
      return frames.map((fr) => ({ n: (fr.payload as unknown as { n: number }).n, ttl: fr.ttl, ethDst: fr.ethDst, ethSrc: fr.ethSrc }));
    };
    const f = leafSpine({ leaves: 3, spines: 2, hostsPerLeaf: 2 });
    const leaf2Mac = 0x020000010002;
    assert.deepEqual(only('l2h1'), [{ n: 1, ttl: 61, ethDst: f.host('l2h1').mac, ethSrc: leaf2Mac }]);
    assert.deepEqual(only('l0h1'), [{ n: 2, ttl: 63, ethDst: f.host('l0h1').mac, ethSrc: 0x020000010000 }]);
    assert.deepEqual(only('l1h0').map((x) => [x.n, x.ttl]), [[3, 61]]);
    assert.deepEqual(only('l2h0'), []);
    assert.deepEqual(out.leaf0, { 'no-route': 1 });
    assert.deepEqual(out.spine0, { 'ttl-expired': 1 });
    // Spine port l faces leaf l: packets 1 and 5 entered spine 0 from leaf 0; packet 3 entered spine 1.
    assert.deepEqual(out.spineRx, [[2, 0, 0], [1, 0, 0]]);
    assert.equal(f.spineFor(0, 2), 0);
  });
});
