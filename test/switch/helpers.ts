// Shared pieces of the switch tests: a rack of probe hosts around a switch in sim mode, control
// requests that run the simulation until answered, and `bothModes`, which runs one scenario
// with the staged pipeline and with the fused one and asserts that every host received the
// same messages at the same virtual times.
import assert from 'node:assert/strict';
import { probe, runSim, type ActorRef, type Msg, type Probe, type Runtime, type SimRuntime } from '../../actors/index.ts';
import {
  rack, type AttachedHost, type ControlReply, type ControlRequest, type Frame, type Rack, type RackOptions, type SwitchMode, type SwitchStats,
} from '../../switch-model/index.ts';

export const MODES: readonly SwitchMode[] = ['staged', 'fused'];

export interface World {
  readonly rt: SimRuntime;
  readonly rack: Rack;
  readonly hosts: readonly AttachedHost[];
  /** probes[i] is the actor attached to port i. */
  readonly probes: readonly Probe<Msg>[];
  readonly control: ActorRef<ControlRequest>;
  /** Receives the replies of `control()`. */
  readonly replies: Probe<ControlReply>;
}

/** A rack whose hosts are probes (at `probe/nic`), in sim mode. */
export function world<H>(opts: Omit<RackOptions<H>, 'peer'> & { readonly seed?: number }): World {
  const r = rack({ ...opts, peer: (host) => ({ host, path: 'probe/nic' }) });
  const rt = runSim(r.topology, { seed: opts.seed ?? 1, logLevel: 'silent' });
  const probes = r.hosts.map((h) => probe<Msg>(rt, h.name, 'nic'));
  const replies = probe<ControlReply>(rt, r.switchHost, 'controller');
  return { rt, rack: r, hosts: r.hosts, probes, control: r.switch.control, replies };
}

/** Where control requests go and their replies come back (in any mode). */
export interface ControlSession {
  readonly rt: Runtime;
  readonly control: ActorRef<ControlRequest>;
  readonly replies: Probe<ControlReply>;
}

/** Send a control request and wait (in sim: run the simulation) until its reply arrives. */
export async function control(w: ControlSession, make: (replyTo: ActorRef<ControlReply>) => ControlRequest): Promise<ControlReply> {
  w.rt.send(w.control, make(w.replies.ref));
  return w.replies.expectMsg('ControlReply', 1000);
}

/** Insert or write and expect success. */
export async function mustControl(w: ControlSession, make: (replyTo: ActorRef<ControlReply>) => ControlRequest): Promise<ControlReply> {
  const r = await control(w, make);
  assert.ok(r.ok, `control request failed: ${r.ok ? '' : r.error}`);
  return r;
}

export async function stats(w: ControlSession): Promise<SwitchStats> {
  const r = await control(w, (replyTo) => ({ type: 'StatsRead', replyTo }));
  assert.ok(r.ok, `StatsRead failed: ${JSON.stringify(r)}`);
  return r.stats!;
}

export interface Seen {
  readonly msg: Msg;
  readonly atMs: number;
}

/** Everything each probe has received so far (host name -> messages with arrival times). */
export function received(w: World): Record<string, Seen[]> {
  const out: Record<string, Seen[]> = {};
  w.probes.forEach((p, i) => { out[w.hosts[i]!.name] = p.pending.map((r) => ({ msg: r.msg, atMs: r.atMs })); });
  return out;
}

/**
 * Run `scenario` with the staged pipeline and with the fused one; assert that what it returns
 * (received streams with their times, statistics...) is identical; return the staged result.
 */
export async function bothModes<T>(scenario: (mode: SwitchMode) => Promise<T> | T): Promise<T> {
  const staged = await scenario('staged');
  const fused = await scenario('fused');
  assert.deepEqual(fused, staged, 'staged and fused pipelines disagree');
  return staged;
}

export function frame(from: AttachedHost, ethDst: number, payload: Msg, sizeBytes = 100, extra: Partial<Frame> = {}): Frame {
  return { type: 'Frame', ethSrc: from.mac, ethDst, sizeBytes, payload, ...extra };
}

/** The payloads of the frames a host received. */
export function payloads(seen: readonly Seen[] | undefined): Msg[] {
  return (seen ?? []).map((s) => (s.msg as Frame).payload);
}
