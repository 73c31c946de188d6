// The in-switch OUM sequencer under a NOPaxos controller (apps/nopaxos/controller.ts), exactly as
// that controller drives a host-based sequencer: at one address (the switch's) it probes with
// OumPing and gets OumPong carrying the session the data plane stamps with; a session change
// (SessionChange) installs the next session through OumSetGroup and OumStartSession and routes the
// client to it; a switch that restarts (its registers lost) answers -1, and the controller
// installs a new session on it, after which stamping resumes from 1; a switch that stays down is
// replaced by a host-based standby with a higher session. Both execution modes,
// compared message for message and virtual time for virtual time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { behavior, probe, runSim, Topology, type ActorRef, type Behavior, type Msg } from '../../actors/index.ts';
import { controller, type ControllerState } from '../../apps/nopaxos/controller.ts';
import { hostSequencer } from '../../apps/oum/host-sequencer.ts';
import type { ControllerMsg } from '../../apps/nopaxos/messages.ts';
import {
  oumHeader, oumSchemas, type OumMessage, type OumPing, type OumPong, type OumRoute, type OumRouteAck, type OumStartSession,
} from '../../apps/oum/messages.ts';
import {
  oumController, oumMulticastGroup, oumSequencer, rack, type ControlReply, type OumControllerState, type PacketIn, type SwitchMode,
} from '../../switch-model/index.ts';
import { bothModes, stats } from './helpers.ts';

const GROUP = 1;
const REPLICAS = ['r0', 'r1', 'r2'];

interface Request { readonly type: 'Request'; readonly n: number; readonly sizeBytes: number }
type Stamped = OumMessage<Request>;
interface Send { readonly type: 'Send'; readonly n: number }

/** A sender as the NOPaxos controller sees one: it sends to the route it was given and acknowledges routes. */
function client(first: ActorRef<Msg>): Behavior<{ route: ActorRef<Msg>; routes: number[] }, Send | OumRoute> {
  return behavior({
    init: () => ({ route: first, routes: [] as number[] }),
    receive: (s, msg, ctx) => {
      if (msg.type === 'Send') {
        ctx.send(s.route, { type: 'Request', n: msg.n, sizeBytes: 200, oum: oumHeader(GROUP) } as Stamped);
        return s;
      }
      ctx.send(msg.replyTo, { type: 'OumRouteAck', group: msg.group, sessionNum: msg.sessionNum, sender: ctx.self } satisfies OumRouteAck);
      return { route: msg.sequencer, routes: [...s.routes, msg.sessionNum] };
    },
  });
}

async function scenario(mode: SwitchMode, opts: { readonly standby?: boolean } = {}) {
  let staleStartRefused: boolean | undefined;
  const t = new Topology('oum-ctl').messages(oumSchemas);
  // The NOPaxos controller's host is attached to the rack like any other: its probes reach the
  // switch on its port. The switch's own OUM controller runs on the switch host.
  const oumCtl: ActorRef<PacketIn> = { host: 'tor', path: 'oum/controller' };
  const r = rack({
    topology: t, hosts: [...REPLICAS, 'c0', 'ctrl'], program: oumSequencer(), mode, packetIn: oumCtl,
    peer: (host) => ({ host, path: REPLICAS.includes(host) ? 'probe/replica' : host === 'c0' ? 'client' : 'nopaxos/controller' }),
    link: { latencyMs: 0.01 },
    setup: (hosts) => ({
      entries: [{ table: 'groups', match: [GROUP], action: 'sequence', params: { counter: GROUP, mgid: oumMulticastGroup(GROUP) } }],
      multicast: [{ group: oumMulticastGroup(GROUP), ports: hosts.filter((h) => REPLICAS.includes(h.name)).map((h) => h.port) }],
    }),
  });
  t.actor('tor', 'oum/controller', oumController({ control: r.switch.control, ports: r.hosts.map((h) => h.peer), initialSessionNum: 1 }));
  const c0 = t.actor('c0', 'client', client(r.switch.address));
  const members = REPLICAS.map((h) => r.host(h).peer as ActorRef<Msg>);
  // A host-based standby off the rack (it sends to the replicas over the network).
  const standby = opts.standby ? [t.actor(t.host('seq1'), 'oum/sequencer', hostSequencer()) as ActorRef<Msg>] : [];
  const ctl = t.actor('ctrl', 'nopaxos/controller', controller({
    group: GROUP, sequencers: [r.switch.address, ...standby], members, senders: [c0 as ActorRef<OumRoute>], initialSession: 1,
  }));
  const rt = runSim(t, { seed: 3, logLevel: 'silent' });
  const replicas = REPLICAS.map((h) => probe<Stamped>(rt, h, 'replica'));
  const pinger = probe<OumPong>(rt, 'ctrl', 'pinger');
  const ctlState = () => rt.stateOf<ControllerState>(ctl)!;
  const send = (from: number, count: number) => {
    for (let i = 0; i < count; i++) rt.send(c0, { type: 'Send', n: from + i });
    rt.advance(1);
  };

  // Session 1, installed by the switch's controller at start: probes are answered with it.
  rt.advance(30);
  assert.deepEqual(ctlState().events, [], 'the controller should be content with the switch sequencer');
  assert.ok(ctlState().lastPongAtMs > 25, `pongs should keep coming (last at ${ctlState().lastPongAtMs} ms)`);
  send(0, 3);
  // A ping sent to the switch's controller directly also goes through the data plane.
  rt.send(oumCtl as unknown as ActorRef<OumPing>, { type: 'OumPing', seq: 1, replyTo: pinger.ref });
  const direct = await pinger.expectMsg('OumPong', 10);

  // A session change through the NOPaxos controller: the next session, on the same switch.
  rt.send(ctl as ActorRef<ControllerMsg>, { type: 'SessionChange' });
  rt.advance(30);
  send(3, 2);
  const afterChange = ctlState().events.map((e) => ({ kind: e.kind, sessionNum: e.sessionNum }));
  assert.equal(ctlState().unacked.size, 0, 'the client should have taken the new route');

  if (opts.standby) {
    // The switch fails for good: the controller moves the group to the standby.
    rt.crash('tor');
  } else {
    // The switch restarts and loses its registers: it answers -1 and gets a new session. A late
    // copy of session 2's start, meant for the switch before the restart, is refused: it would
    // number session 2 anew.
    rt.crash('tor');
    rt.restart('tor');
    rt.send(oumCtl as unknown as ActorRef<OumStartSession>, { type: 'OumStartSession', sessionNum: 2, incarnation: 0 });
    // And one that names no life (meant for the first).
    rt.send(oumCtl as unknown as ActorRef<OumStartSession>, { type: 'OumStartSession', sessionNum: 2 });
    rt.advance(0.5);
    staleStartRefused = rt.stateOf<OumControllerState>(oumCtl)!.sessionNum === 0;
  }
  rt.advance(30);
  send(5, 2);
  rt.advance(30);
  if (opts.standby) {
    return {
      events: ctlState().events.map((e) => ({ kind: e.kind, sequencer: e.sequencer, sessionNum: e.sessionNum, atMs: e.atMs })),
      routes: rt.stateOf<{ routes: number[] }>(c0)!.routes,
      got: replicas.map((p) => p.pending.map((x) => ({ session: x.msg.oum.sessionNum, msgNum: x.msg.oum.msgNum, n: x.msg.n, atMs: x.atMs }))),
    };
  }

  const replies = probe<ControlReply>(rt, 'tor', 'stats');
  const st = await stats({ rt, control: r.switch.control, replies });
  return {
    direct,
    events: ctlState().events.map((e) => ({ kind: e.kind, sequencer: e.sequencer, sessionNum: e.sessionNum, atMs: e.atMs })),
    afterChange,
    routes: rt.stateOf<{ routes: number[] }>(c0)!.routes,
    got: replicas.map((p) => p.pending.map((x) => ({ session: x.msg.oum.sessionNum, msgNum: x.msg.oum.msgNum, n: x.msg.n, atMs: x.atMs }))),
    pongs: rt.stateOf<OumControllerState>(oumCtl)!.pongs,
    drops: st.drops,
    staleStartRefused,
  };
}

describe('the in-switch OUM sequencer under a NOPaxos controller', () => {
  it('answers probes with its session, takes a session change, and gets a new session after a restart', async () => {
    const out = await bothModes((mode) => scenario(mode));
    assert.deepEqual(out.direct, { type: 'OumPong', seq: 1, sessionNum: 1, incarnation: 0 });
    assert.deepEqual(out.afterChange, [{ kind: 'session-change', sessionNum: 2 }]);
    assert.deepEqual(out.events.map((e) => [e.kind, e.sessionNum]), [['session-change', 2], ['sequencer-restarted', 3]]);
    assert.deepEqual(out.routes, [2, 3], 'the client is routed to the switch again for each new session');
    const expected = [
      { session: 1, msgNum: 1, n: 0 }, { session: 1, msgNum: 2, n: 1 }, { session: 1, msgNum: 3, n: 2 },
      { session: 2, msgNum: 1, n: 3 }, { session: 2, msgNum: 2, n: 4 },
      { session: 3, msgNum: 1, n: 5 }, { session: 3, msgNum: 2, n: 6 },
    ];
    for (const got of out.got) assert.deepEqual(got.map(({ session, msgNum, n }) => ({ session, msgNum, n })), expected);
    assert.ok(out.pongs > 0, 'the switch controller of the restarted switch answered probes');
    assert.deepEqual(out.drops, {}, 'nothing is lost when no request is sent while the switch has no session');
    assert.equal(out.staleStartRefused, true, 'the restarted switch refused the start meant for its life before');
  });

  it('fails over to a host-based standby when the switch stays down', async () => {
    const out = await bothModes((mode) => scenario(mode, { standby: true }));
    assert.deepEqual(out.events.map((e) => [e.kind, e.sequencer, e.sessionNum]), [['session-change', 0, 2], ['failover', 1, 3]]);
    assert.deepEqual(out.routes, [2, 3]);
    const expected = [
      { session: 1, msgNum: 1, n: 0 }, { session: 1, msgNum: 2, n: 1 }, { session: 1, msgNum: 3, n: 2 },
      { session: 2, msgNum: 1, n: 3 }, { session: 2, msgNum: 2, n: 4 },
      { session: 3, msgNum: 1, n: 5 }, { session: 3, msgNum: 2, n: 6 },
    ];
    for (const got of out.got) assert.deepEqual(got.map(({ session, msgNum, n }) => ({ session, msgNum, n })), expected);
  });
});
