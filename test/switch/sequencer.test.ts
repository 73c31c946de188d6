// The in-switch OUM sequencer keeps the OUM contract (apps/oum/messages.ts) under load: with
// many clients sending at once over jittery links, every member of a group receives every
// request once, in the same order, stamped with consecutive message numbers from 1; a new
// session (installed through the controller, with the messages a host-based sequencer takes)
// restarts the numbers at 1 under the higher session number; groups count independently; and
// nothing is stamped before a session exists. Both execution modes, compared packet for packet.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { behavior, probe, runSim, Topology, type ActorRef, type Behavior, type Msg } from '../../actors/index.ts';
import { oumHeader, type OumMessage, type OumSetGroup, type OumStartSession } from '../../apps/oum/messages.ts';
import { oumController, oumSequencer, rack, type ControlReply, type SwitchMode } from '../../switch-model/index.ts';
import { stats } from './helpers.ts';

interface Request { readonly type: 'Request'; readonly clientId: number; readonly reqId: number; readonly sizeBytes: number }
type Stamped = OumMessage<Request>;

interface ClientCfg { readonly to: ActorRef<Msg>; readonly clientId: number; readonly count: number; readonly groups: readonly number[]; readonly meanGapMs: number }

/** Sends `count` requests at random intervals, alternating over its groups. */
function client(cfg: ClientCfg): Behavior<{ sent: number }, { type: 'Start' } | { type: 'Next' }> {
  return behavior({
    init: () => ({ sent: 0 }),
    receive: (s, _msg, ctx) => {
      if (s.sent >= cfg.count) return s;
      const group = cfg.groups[s.sent % cfg.groups.length]!;
      const req: Stamped = { type: 'Request', clientId: cfg.clientId, reqId: s.sent, sizeBytes: 200, oum: oumHeader(group) };
      ctx.send(cfg.to, req);
      ctx.startTimer('next', ctx.random() * 2 * cfg.meanGapMs, { type: 'Next' });
      return { sent: s.sent + 1 };
    },
  });
}

const REPLICAS = ['r0', 'r1', 'r2'];
const CLIENTS = 16;
const PER_CLIENT = 60;
/** Group 0 is every replica; group 1 only r1 and r2. */
const MEMBERS: Record<number, string[]> = { 0: ['r0', 'r1', 'r2'], 1: ['r1', 'r2'] };

async function runScenario(mode: SwitchMode, sessionChangeAtMs: number | undefined) {
  const t = new Topology('oum');
  const clients = Array.from({ length: CLIENTS }, (_, i) => `c${i}`);
  const r = rack({
    topology: t, hosts: [...REPLICAS, ...clients], program: oumSequencer(), mode,
    peer: (host) => ({ host, path: REPLICAS.includes(host) ? 'probe/replica' : 'probe/nic' }),
  });
  // Clients' links jitter (their requests reach the switch in a random order); replicas' do not.
  for (const c of clients) t.link(c, r.switchHost, { latencyMs: 0.02, jitterMs: 0.03 });
  for (const rep of REPLICAS) t.link(rep, r.switchHost, { latencyMs: 0.02 });
  t.host('ctl');
  const ctl = t.actor('ctl', 'oum', oumController({ control: r.switch.control, ports: r.hosts.map((h) => h.peer) }));
  const clientRefs = clients.map((c, i) => t.actor(c, 'client', client({
    to: r.host(c).ingress, clientId: i, count: PER_CLIENT, groups: i % 2 === 0 ? [0] : [0, 1], meanGapMs: 0.01,
  })));
  const rt = runSim(t, { seed: 7, logLevel: 'silent' });
  const replicas = REPLICAS.map((h) => probe<Stamped>(rt, h, 'replica'));
  const replies = probe<ControlReply>(rt, 'ctl', 'stats');

  for (const [group, members] of Object.entries(MEMBERS)) {
    rt.send<OumSetGroup>(ctl as ActorRef<OumSetGroup>, { type: 'OumSetGroup', group: Number(group), members: members.map((m) => r.host(m).peer as ActorRef<Msg>) });
  }
  rt.advance(1);
  // Before any session: dropped, not stamped "unstamped".
  rt.send(r.host('c0').ingress, { type: 'Request', clientId: 99, reqId: 0, sizeBytes: 200, oum: oumHeader(0) } as Stamped);
  rt.advance(1);
  rt.send<OumStartSession>(ctl as ActorRef<OumStartSession>, { type: 'OumStartSession', sessionNum: 1 });
  rt.advance(1);
  for (const c of clientRefs) rt.send(c, { type: 'Start' });
  if (sessionChangeAtMs !== undefined) {
    rt.advance(sessionChangeAtMs);
    rt.send<OumStartSession>(ctl as ActorRef<OumStartSession>, { type: 'OumStartSession', sessionNum: 2 });
  }
  rt.runUntilIdle();
  const got = Object.fromEntries(REPLICAS.map((h, i) => [h, replicas[i]!.pending.map((x) => ({ msg: x.msg, atMs: x.atMs }))]));
  return { got, stats: await stats({ rt, control: r.switch.control, replies }) };
}

/** Per group: the stream every member saw (they must agree), as (session, msgNum, client, req). */
function streams(got: Record<string, { msg: Stamped }[]>): Record<number, [number, number, number, number][]> {
  const out: Record<number, [number, number, number, number][]> = {};
  for (const [group, members] of Object.entries(MEMBERS)) {
    const views = members.map((m) => got[m]!.filter((x) => x.msg.oum.group === Number(group))
      .map((x) => [x.msg.oum.sessionNum, x.msg.oum.msgNum, x.msg.clientId, x.msg.reqId] as [number, number, number, number]));
    for (const v of views.slice(1)) assert.deepEqual(v, views[0], `members of group ${group} disagree`);
    out[Number(group)] = views[0]!;
  }
  return out;
}

function sentTo(group: number): number {
  let n = 0;
  for (let c = 0; c < CLIENTS; c++) {
    const groups = c % 2 === 0 ? [0] : [0, 1];
    for (let i = 0; i < PER_CLIENT; i++) if (groups[i % groups.length] === group) n++;
  }
  return n;
}

function assertConsecutive(stream: [number, number, number, number][], session: number): void {
  stream.forEach(([s, msgNum], i) => {
    assert.equal(s, session);
    assert.equal(msgNum, i + 1, `message ${i} of session ${session} is numbered ${msgNum}`);
  });
}

describe('OUM sequencer', () => {
  it('many concurrent clients: every member gets every request once, in one order, numbered 1, 2, 3, ... per group', async () => {
    const out = await runBoth(undefined);
    const byGroup = streams(out.got);
    for (const group of [0, 1]) {
      const stream = byGroup[group]!;
      assert.equal(stream.length, sentTo(group));
      assertConsecutive(stream, 1);
      const ids = new Set(stream.map(([, , c, q]) => `${c}/${q}`));
      assert.equal(ids.size, stream.length, 'a request was delivered twice');
    }
    assert.deepEqual(out.stats.drops, { 'no-session': 1 });
  });

  it('a new session restarts the numbers at 1 under the higher session number, atomically for every group', async () => {
    const out = await runBoth(0.3);
    const byGroup = streams(out.got);
    for (const group of [0, 1]) {
      const stream = byGroup[group]!;
      assert.equal(stream.length, sentTo(group));
      const cut = stream.findIndex(([s]) => s === 2);
      assert.ok(cut > 0 && cut < stream.length, `group ${group}: the change fell inside the stream`);
      assertConsecutive(stream.slice(0, cut), 1);
      assertConsecutive(stream.slice(cut), 2);
    }
  });
});

async function runBoth(sessionChangeAtMs: number | undefined) {
  const staged = await runScenario('staged', sessionChangeAtMs);
  const fused = await runScenario('fused', sessionChangeAtMs);
  assert.deepEqual(fused, staged, 'staged and fused pipelines disagree');
  return staged;
}
