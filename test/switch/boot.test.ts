// A switch's boot: every control reply says which boot of the switch made it (the incarnation of
// its host), and a request meant for another boot is refused, so that a request sent before a
// restart (a resend, or one late on the way) never lands on the restarted switch. Both modes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probe, type ActorRef } from '../../actors/index.ts';
import { l2Forwarding, RESTARTED, type ControlReply, type SwitchMode } from '../../switch-model/index.ts';
import { MODES, world } from './helpers.ts';

async function scenario(mode: SwitchMode): Promise<ControlReply[]> {
  const w = world({ hosts: 2, program: l2Forwarding({ learning: false }), mode });
  // The controller lives on a host of its own, so that it outlives the switch's restarts.
  const replies = probe<ControlReply>(w.rt, w.hosts[0]!.name, 'controller');
  const send = async (make: (replyTo: ActorRef<ControlReply>) => Parameters<typeof w.rt.send>[1]): Promise<ControlReply> => {
    w.rt.send(w.control, make(replies.ref) as never);
    return replies.expectMsg('ControlReply', 1000);
  };
  const insert = (id: number, boot: number | undefined, mac: number) => send((replyTo) => ({
    type: 'TableInsert', id, table: 'dmac', match: [mac], action: 'forward', params: { port: 1 }, replyTo, ...(boot === undefined ? {} : { boot }),
  }));
  const out: ControlReply[] = [];
  out.push(await insert(1, undefined, 5)); // no boot given: carried out
  out.push(await insert(2, 0, 6)); // for boot 0, which it is
  w.rt.crash(w.rack.switchHost);
  w.rt.restart(w.rack.switchHost);
  w.rt.advance(0.1);
  out.push(await insert(3, 0, 7)); // for boot 0: refused, the switch is at boot 1
  out.push(await insert(4, 1, 7)); // for boot 1: carried out
  out.push(await send((replyTo) => ({ type: 'StatsRead', id: 5, replyTo, boot: 0 }))); // any request, reads too
  // What the refused insert would have added is not there: mac 5 and 6 went with the restart, 7 is in once.
  out.push(await send((replyTo) => ({ type: 'TableInsert', id: 6, table: 'dmac', match: [7], action: 'forward', params: { port: 1 }, replyTo })));
  return out;
}

describe('switch boots', () => {
  for (const mode of MODES) {
    it(`${mode}: replies carry the boot, and a request for an earlier boot is refused`, async () => {
      const r = await scenario(mode);
      assert.deepEqual(r.map((x) => [x.id, x.ok, x.boot]), [[1, true, 0], [2, true, 0], [3, false, 1], [4, true, 1], [5, false, 1], [6, false, 1]]);
      const refused = r[2]!;
      assert.ok(!refused.ok && refused.error.startsWith(RESTARTED), JSON.stringify(refused));
      assert.match(!refused.ok ? refused.error : '', /this switch is at boot 1; the request was for boot 0/);
      // The last insert fails because entry 7 exists (inserted once, by request 4).
      assert.match(!r[5]!.ok ? r[5]!.error : '', /already/);
    });
  }
});
