// The switch as actors on a switch host. Hosts are attached to ports: port i has a peer, the
// host's actor at the other end of the cable, that receives what leaves on port i. A host sends
// into the switch in one of two ways:
//   - to the switch's address (`SwitchRefs.address`: the parser, or the fused pipeline): the
//     switch takes the ingress port from the sender (ctx.sender), as hardware knows the physical
//     port a frame came in on: the port whose peer is on the sender's host (or, for a host with
//     several ports, the port whose peer is the sender itself). No extra actor on the way;
//   - to port i's ingress actor (`<name>/port<i>`), which stamps the port number and arrival
//     time and hands the message on: for senders the switch cannot place by their address
//     (messages injected from outside the system, actors on unattached hosts), at the cost of
//     one more actor delivery.
//
// Two execution modes run the same program, with the same stage code and the same results:
//   staged: parser, each ingress stage, the traffic manager, each egress stage and the deparser
//           are separate actors (the reference: stages share nothing, as on the chip);
//   fused:  all of them run inside one actor `<name>/pipeline` (fast).
// In both, the control plane is the actor `<name>/control`.
import { behavior, type ActorRef, type Address, type AnyRef, type Behavior, type Ctx, type Msg, type SendOptions, type Topology } from '../actors/index.ts';
import { answer, applyStageSetup, applyTmSetup, stageControl, type SwitchSetup } from './control.ts';
import { controlPlane, type ControlPlaneRoutes } from './control-plane.ts';
import type {
  AnyPacket, ControlReply, ControlRequest, Departure, MulticastGroupSet, PacketIn, QueuePoll, QueueTimer, Reject, Rx, StageControl, StatsQuery,
  StatsReport, SwitchStats,
} from './messages.ts';
import { emptyStats, mergeStats } from './messages.ts';
import { PORT_CPU, PORT_NONE } from './packet.ts';
import { DeparserUnit, ParserUnit, TrafficManager } from './pipeline.ts';
import type { TargetProfile } from './profile.ts';
import { TOFINO_LIKE } from './profile.ts';
import type { SwitchProgram } from './program.ts';
import { assertFits, type ResourceReport } from './resources.ts';
import { StageRuntime } from './stage.ts';

export type SwitchMode = 'staged' | 'fused';

export interface SwitchConfig<H> {
  /** Path prefix of the switch's actors on its host. Default 'switch'. */
  readonly name?: string;
  readonly program: SwitchProgram<H>;
  /** Default 'staged' (the reference). */
  readonly mode?: SwitchMode;
  /**
   * Port i's peer: the actor at the other end of the cable, which receives every message that
   * leaves on port i. It must accept what the program's deparser makes.
   */
  readonly ports: readonly AnyRef[];
  readonly profile?: TargetProfile;
  readonly setup?: SwitchSetup;
  /** A first subscriber to PacketIn (clones to the CPU); more can subscribe through the control plane. */
  readonly packetIn?: ActorRef<PacketIn>;
}

export interface SwitchRefs {
  readonly host: string;
  readonly name: string;
  readonly mode: SwitchMode;
  /**
   * The switch's own address: a message that an actor on an attached host sends here arrives on
   * that host's port (for a host with several ports: the port whose peer is the sender). From
   * anyone else (outside the system, an unattached host) it is dropped as 'unknown-port': send
   * to `ports[i]` instead.
   */
  readonly address: ActorRef<Msg>;
  /** ports[i]: port i's ingress actor; whatever is sent there arrived on port i (one actor more on the way). */
  readonly ports: readonly ActorRef<Msg>[];
  readonly control: ActorRef<ControlRequest>;
  readonly resources: ResourceReport;
  /** Paths of every actor of this switch on its host. */
  readonly paths: readonly string[];
}

export class SwitchSetupError extends Error {
  override readonly name = 'SwitchSetupError';
}

const RESUME = { strategy: 'resume' } as const;

/**
 * Place a switch running `cfg.program` on `host` of topology `t`. The program's resources are
 * checked against the profile first: a program that does not fit throws a ResourceError listing
 * every overuse, and a setup that does not apply throws a SwitchSetupError.
 */
export function placeSwitch<H>(t: Topology, host: string, cfg: SwitchConfig<H>): SwitchRefs {
  const name = cfg.name ?? 'switch';
  const mode = cfg.mode ?? 'staged';
  const program = cfg.program;
  const profile = cfg.profile ?? TOFINO_LIKE;
  const nPorts = cfg.ports.length;
  if (nPorts > profile.ports) throw new SwitchSetupError(`switch '${name}' has ${nPorts} ports attached; ${profile.name} has ${profile.ports}`);
  const resources = assertFits(program, profile);
  const setupErrors = checkSetup(program, nPorts, profile, cfg.setup);
  if (setupErrors.length > 0) throw new SwitchSetupError(`switch '${name}' (${program.name}):\n  - ${setupErrors.join('\n  - ')}`);

  const at = <M extends Msg>(path: string): ActorRef<M> => ({ host, path });
  const controlRef = at<ControlRequest | PacketIn>(`${name}/control`);
  const portRefs = cfg.ports as readonly ActorRef<Msg>[];
  const wiring: Wiring<H> = {
    name: `${host}/${name}`, host, prefix: `${name}/`, program, profile, nPorts, portRefs, setup: cfg.setup, control: controlRef,
    portOf: senderPorts(portRefs),
  };
  const paths: string[] = [];
  const place = <S, M extends Msg>(path: string, b: Behavior<S, M>): ActorRef<M> => {
    paths.push(path);
    return t.actor(host, path, b);
  };

  let entry: ActorRef<Rx>;
  let routes: ControlPlaneRoutes;
  if (mode === 'fused') {
    const pipeline = at<FusedMsg>(addressPath(name, mode));
    entry = pipeline;
    routes = { entry, tm: pipeline, owners: new Map([...program.owner.keys()].map((d) => [d.name, pipeline])), components: [pipeline] };
  } else {
    const parser = at<ParserMsg>(addressPath(name, mode));
    entry = parser;
    const ingress = program.ingress.map((s) => at<AnyPacket | StageControl | StatsQuery>(`${name}/ingress/${s.name}`));
    const egress = program.egress.map((s) => at<AnyPacket | StageControl | StatsQuery>(`${name}/egress/${s.name}`));
    const tm = at<TmMsg>(`${name}/tm`);
    const deparser = at<AnyPacket | StatsQuery>(`${name}/deparser`);
    const stageRef = new Map<string, ActorRef<AnyPacket | StageControl | StatsQuery>>();
    program.ingress.forEach((s, i) => stageRef.set(s.name, ingress[i]!));
    program.egress.forEach((s, i) => stageRef.set(s.name, egress[i]!));
    routes = {
      entry, tm,
      owners: new Map([...program.owner].map(([d, stageName]) => [d.name, stageRef.get(stageName)!])),
      components: [parser, ...ingress, tm, ...egress, deparser],
    };
    place(`${name}/parser`, parserActor(wiring, ingress[0]!));
    program.ingress.forEach((s, i) => place(`${name}/ingress/${s.name}`, stageActor(wiring, s.name, ingress[i + 1] ?? tm, parser)));
    place(`${name}/tm`, tmActor(wiring, egress[0] ?? deparser, deparser, parser));
    program.egress.forEach((s, i) => place(`${name}/egress/${s.name}`, stageActor(wiring, s.name, egress[i + 1] ?? deparser, parser)));
    place(`${name}/deparser`, deparserActor(wiring));
  }
  if (mode === 'fused') place(`${name}/pipeline`, fusedActor(wiring));
  const ports = cfg.ports.map((_, i) => place(portPath(name, i), portActor(i, entry)));
  place(`${name}/control`, controlPlane({
    name: wiring.name, program, routes, ports: nPorts, packetIn: cfg.packetIn,
  }));
  return { host, name, mode, address: entry as ActorRef<Msg>, ports, control: controlRef as ActorRef<ControlRequest>, resources, paths };
}

/** What every actor of one switch is built from. */
interface Wiring<H> {
  /** `host/name`, for logs. */
  readonly name: string;
  readonly host: string;
  /** `name/`: the paths of this switch's actors start with it. */
  readonly prefix: string;
  readonly program: SwitchProgram<H>;
  readonly profile: TargetProfile;
  readonly nPorts: number;
  readonly portRefs: readonly ActorRef<Msg>[];
  readonly setup: SwitchSetup | undefined;
  readonly control: ActorRef<PacketIn>;
  /** The ingress port of a message sent to the switch's address by `from`, or PORT_NONE. */
  readonly portOf: (from: Address | undefined) => number;
}

/** Whether `from` is one of this switch's own actors (internal messages come only from them). */
function ours(w: { readonly host: string; readonly prefix: string }, from: Address | undefined): boolean {
  return from !== undefined && from.host === w.host && from.path.startsWith(w.prefix);
}

/**
 * Port i's peer is the actor at the other end of its cable. A message from host h arrives on the
 * port whose peer is on h; when several ports' peers are on h, on the port whose peer sent it.
 */
export function senderPorts(peers: readonly AnyRef[]): (from: Address | undefined) => number {
  const byHost = new Map<string, number>();
  const byPeer = new Map<string, Map<string, number>>();
  peers.forEach((p, i) => {
    byHost.set(p.host, byHost.has(p.host) ? -1 : i);
    let paths = byPeer.get(p.host);
    if (!paths) byPeer.set(p.host, (paths = new Map()));
    if (!paths.has(p.path)) paths.set(p.path, i);
  });
  // The last sender and its port: an actor's ref is one object, so a stream from one sender
  // is placed by one comparison.
  let lastFrom: Address | undefined;
  let lastPort = PORT_NONE;
  return (from) => {
    if (from === lastFrom) return lastPort;
    if (from === undefined) return PORT_NONE;
    const p = byHost.get(from.host);
    const port = p === undefined ? PORT_NONE : p >= 0 ? p : byPeer.get(from.host)!.get(from.path) ?? PORT_NONE;
    lastFrom = from;
    lastPort = port;
    return port;
  };
}

/** Build every part once and apply the setup: the errors it would meet at start-up. */
function checkSetup<H>(program: SwitchProgram<H>, nPorts: number, profile: TargetProfile, setup: SwitchSetup | undefined): string[] {
  if (!setup) return [];
  const errors: string[] = [];
  const known = new Set([...program.owner.keys()].map((d) => `${d.kind}:${d.name}`));
  for (const e of setup.entries ?? []) if (!known.has(`table:${e.table}`)) errors.push(`setup: no table '${e.table}'`);
  for (const d of setup.defaults ?? []) if (!known.has(`table:${d.table}`)) errors.push(`setup: no table '${d.table}'`);
  for (const r of setup.registers ?? []) if (!known.has(`register:${r.register}`)) errors.push(`setup: no register '${r.register}'`);
  for (const s of [...program.ingress, ...program.egress]) errors.push(...applyStageSetup(new StageRuntime(program, s), setup));
  errors.push(...applyTmSetup(new TrafficManager(program, nPorts, profile), setup));
  return errors;
}

function newStage<H>(w: Wiring<H>, stageName: string): StageRuntime<H> {
  const def = [...w.program.ingress, ...w.program.egress].find((s) => s.name === stageName)!;
  const rt = new StageRuntime(w.program, def);
  const errors = applyStageSetup(rt, w.setup);
  if (errors.length > 0) throw new SwitchSetupError(errors.join('; '));
  return rt;
}

function newTm<H>(w: Wiring<H>): TrafficManager<H> {
  const tm = new TrafficManager(w.program, w.nPorts, w.profile);
  const errors = applyTmSetup(tm, w.setup);
  if (errors.length > 0) throw new SwitchSetupError(errors.join('; '));
  return tm;
}

function stageStats(rt: StageRuntime<unknown>, nPorts: number): SwitchStats {
  const s = emptyStats(nPorts);
  s.violations.push(...rt.violations);
  s.errors.push(...rt.errors);
  s.rejected = rt.rejected ?? null;
  return s;
}

const copyStats = (s: SwitchStats, nPorts: number): SwitchStats => mergeStats(emptyStats(nPorts), s);

// ---- ports ----------------------------------------------------------------------------------

/** The path of the address of the switch named `name` in `mode` (see SwitchRefs.address). */
export function addressPath(name: string, mode: SwitchMode): string {
  return mode === 'fused' ? `${name}/pipeline` : `${name}/parser`;
}

/** Where port `port` of the switch named `name` takes its messages. */
export function portPath(name: string, port: number): string {
  return `${name}/port${port}`;
}

/** The ingress side of port `port`: everything sent here arrived on that port. */
export function portActor(port: number, entry: ActorRef<Rx>): Behavior<null, Msg> {
  return behavior<null, Msg>({
    init: () => null,
    receive: (s, msg, ctx) => {
      ctx.send(entry, { type: 'Rx', port, msg, atMs: ctx.now() });
      return s;
    },
    supervision: RESUME,
  });
}

// ---- when the traffic manager hands packets on ----------------------------------------------

/**
 * A packet's fate is settled when the traffic manager admits it: its queue is FIFO and every
 * time is computed from its ingress stamp, so the TM knows then when its last bit will be on the
 * wire. In sim the TM hands it on at once, sent with the delay until that time (ctx.send's
 * afterMs): exact virtual times and no wake-up of the TM per packet. In real time (local and
 * distributed mode) the modelled delays are well under a microsecond, and a Node timer takes a
 * millisecond or more: the TM keeps a packet until its time has passed, waiting with a message to
 * itself (it comes back after the messages already waiting). Which of the two applies is seen
 * once, when the actor starts: in sim the clock stands still while an actor runs; in real time
 * it moves.
 */
class TmClock {
  private readonly timerMsg: QueueTimer = { type: 'QueueTimer' };
  private readonly pollMsg: QueuePoll = { type: 'QueuePoll' };
  private polling = false;
  /** Real time: when the timer is set to go off; undefined when it is not set. */
  private armedMs: number | undefined;
  readonly realTime: boolean;

  constructor(ctx: Ctx<never>) {
    this.realTime = clockRunsByItself(ctx);
  }

  /**
   * After `admit`, at `nowMs` (read by the caller while handling the packet: in real time a clock
   * read is not free): hand on what is settled (sim) or what is due (real time).
   */
  admitted<H, M extends Msg>(tm: TrafficManager<H>, ctx: Ctx<M>, emit: Emit, nowMs: number): void {
    if (tm.busyCount === 0) return;
    if (this.realTime) return this.run(tm, ctx, emit, nowMs);
    const n = tm.releaseAll();
    const now = nowMs;
    const out = tm.out;
    const outQueue = tm.outQueue;
    const outAtMs = tm.outAtMs;
    for (let i = 0; i < n; i++) {
      const at = outAtMs[i]!;
      const together = (i > 0 && outAtMs[i - 1] === at) || (i + 1 < n && outAtMs[i + 1] === at);
      emit(outQueue[i]!, out[i]!, at - now, together);
    }
  }

  timer<H, M extends Msg>(tm: TrafficManager<H>, ctx: Ctx<M>, emit: Emit): void {
    this.armedMs = undefined;
    this.run(tm, ctx, emit, ctx.now());
  }

  poll<H, M extends Msg>(tm: TrafficManager<H>, ctx: Ctx<M>, emit: Emit): void {
    this.polling = false;
    this.run(tm, ctx, emit, ctx.now());
  }

  /** Real time: hand on everything that is due at `now`, then wait for the next head. */
  private run<H, M extends Msg>(tm: TrafficManager<H>, ctx: Ctx<M>, emit: Emit, now: number): void {
    const n = tm.releaseDue(now);
    const out = tm.out;
    const outQueue = tm.outQueue;
    for (let i = 0; i < n; i++) emit(outQueue[i]!, out[i]!, 0, false);
    const next = tm.nextDueMs();
    if (next === undefined || (this.armedMs !== undefined && this.armedMs <= next)) return;
    const delay = next - now;
    if (delay < POLL_BELOW_MS) {
      if (!this.polling) {
        this.polling = true;
        ctx.send(ctx.self, this.pollMsg as unknown as M);
      }
      return;
    }
    this.armedMs = next;
    ctx.startTimer('tm', delay, this.timerMsg as unknown as M);
  }
}

/** Real-time heads due sooner than this are polled for rather than waited for on a timer. */
const POLL_BELOW_MS = 1;

function clockRunsByItself(ctx: Ctx<never>): boolean {
  const t0 = ctx.now();
  for (let i = 0; i < 2000; i++) if (ctx.now() !== t0) return true;
  return false;
}

/**
 * Hand on a packet from queue `q`, to arrive `afterMs` from now (0 in real time); `together`:
 * released with others that leave at the same time (the copies of a multicast).
 */
type Emit = (q: number, pkt: AnyPacket, afterMs: number, together: boolean) => void;

/**
 * ctx.send's options for a delay of `afterMs` (0: at once). One object, reused: ctx.send reads
 * it before it returns, and departures are the hottest path of a switch in sim.
 */
function after(afterMs: number): SendOptions {
  sendDelay.afterMs = afterMs;
  return sendDelay;
}

const sendDelay: { afterMs: number } = { afterMs: 0 };

// ---- staged mode ------------------------------------------------------------------------------

type ParserMsg = Rx | AnyPacket | Reject | StatsQuery;

function parserActor<H>(w: Wiring<H>, next: ActorRef<AnyPacket>): Behavior<ParserUnit<H>, ParserMsg> {
  /** A message from one of the switch's own actors; false if it is none of theirs. */
  const internal = (unit: ParserUnit<H>, msg: ParserMsg, ctx: Ctx<ParserMsg>): boolean => {
    switch (msg.type) {
      case 'Rx': {
        const pkt = unit.parse(msg);
        if (pkt) ctx.send(next, pkt);
        return true;
      }
      case 'Packet': {
        const pkt = unit.reenter(msg, ctx.now());
        if (pkt) ctx.send(next, pkt);
        return true;
      }
      case 'Reject':
        if (unit.rejected === undefined) ctx.log.error({ reason: msg.reason }, `switch ${w.name}: program '${w.program.name}' rejected`);
        unit.reject(msg.reason);
        return true;
      case 'StatsQuery':
        ctx.send(msg.replyTo, { type: 'StatsReport', stats: copyStats(unit.stats, w.nPorts) });
        return true;
      default:
        return false;
    }
  };
  return behavior<ParserUnit<H>, ParserMsg>({
    init: () => new ParserUnit(w.program, w.nPorts),
    receive: (unit, msg, ctx) => {
      // Internal messages come from the switch's own actors; anything else is a packet from a host.
      const from = ctx.sender;
      if (ours(w, from) && internal(unit, msg, ctx)) return unit;
      const port = w.portOf(from);
      if (port === PORT_NONE) {
        unit.unknownPort();
        return unit;
      }
      const pkt = unit.parseMsg(msg, port, ctx.now());
      if (pkt) ctx.send(next, pkt);
      return unit;
    },
    supervision: RESUME,
  });
}

type StageMsg = AnyPacket | StageControl | StatsQuery;

function stageActor<H>(w: Wiring<H>, stageName: string, next: ActorRef<AnyPacket>, parser: ActorRef<Reject>): Behavior<{ rt: StageRuntime<H>; told: boolean }, StageMsg> {
  return behavior<{ rt: StageRuntime<H>; told: boolean }, StageMsg>({
    init: () => ({ rt: newStage(w, stageName), told: false }),
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'Packet':
          s.rt.run(msg);
          if (s.rt.rejected !== undefined && !s.told) {
            s.told = true;
            ctx.send(parser, { type: 'Reject', reason: s.rt.rejected });
          }
          ctx.send(next, msg);
          break;
        case 'StatsQuery':
          ctx.send(msg.replyTo, { type: 'StatsReport', stats: stageStats(s.rt as StageRuntime<unknown>, w.nPorts) });
          break;
        default:
          answer(ctx, msg.replyTo, stageControl(s.rt, msg));
      }
      return s;
    },
    supervision: RESUME,
  });
}

type TmMsg = AnyPacket | QueueTimer | QueuePoll | MulticastGroupSet | StatsQuery;

interface TmState<H> {
  readonly tm: TrafficManager<H>;
  readonly clock: TmClock;
  emit: Emit;
  emitCtx: Ctx<TmMsg> | undefined;
}

function tmActor<H>(w: Wiring<H>, egress: ActorRef<AnyPacket>, deparser: ActorRef<AnyPacket>, parser: ActorRef<AnyPacket>): Behavior<TmState<H>, TmMsg> {
  // Made once per ctx, not per message: creating a closure per packet is not free.
  const emitterFor = (s: TmState<H>, ctx: Ctx<TmMsg>): Emit => {
    if (s.emitCtx !== ctx) {
      s.emitCtx = ctx;
      s.emit = (q, pkt, afterMs) => {
        const opts = after(afterMs);
        if (q < w.nPorts) ctx.send(egress, pkt, opts);
        else if (q === s.tm.cpuQueue) ctx.send(deparser, pkt, opts);
        else ctx.send(parser, pkt, opts);
      };
    }
    return s.emit;
  };
  return behavior<TmState<H>, TmMsg>({
    init: (ctx) => ({ tm: newTm(w), clock: new TmClock(ctx as Ctx<never>), emit: () => {}, emitCtx: undefined }),
    receive: (s, msg, ctx) => {
      const tm = s.tm;
      switch (msg.type) {
        case 'Packet':
          tm.admit(msg);
          s.clock.admitted(tm, ctx, emitterFor(s, ctx), ctx.now());
          break;
        case 'QueueTimer':
          s.clock.timer(tm, ctx, emitterFor(s, ctx));
          break;
        case 'QueuePoll':
          s.clock.poll(tm, ctx, emitterFor(s, ctx));
          break;
        case 'MulticastGroupSet': {
          const err = tm.setGroup(msg.group, msg.ports);
          answer(ctx, msg.replyTo, reply(msg, err));
          break;
        }
        case 'StatsQuery':
          ctx.send(msg.replyTo, { type: 'StatsReport', stats: copyStats(tm.stats, w.nPorts) });
          break;
      }
      return s;
    },
    supervision: RESUME,
  });
}

function deparserActor<H>(w: Wiring<H>): Behavior<DeparserUnit<H>, AnyPacket | StatsQuery> {
  return behavior<DeparserUnit<H>, AnyPacket | StatsQuery>({
    init: () => new DeparserUnit(w.program, w.nPorts),
    receive: (unit, msg, ctx) => {
      if (msg.type === 'StatsQuery') {
        ctx.send(msg.replyTo, { type: 'StatsReport', stats: copyStats(unit.stats, w.nPorts) });
        return unit;
      }
      sendOut(w, unit, msg, ctx);
      return unit;
    },
    supervision: RESUME,
  });
}

/** Deparse a packet and send what it makes out of its port, to arrive `afterMs` from now. */
function sendOut<H, M extends Msg>(w: Wiring<H>, unit: DeparserUnit<H>, pkt: AnyPacket, ctx: Ctx<M>, afterMs = 0): void {
  const out = unit.emit(pkt);
  if (out === undefined) return;
  const port = pkt.meta.egressPort;
  if (port === PORT_CPU) ctx.send(w.control, { type: 'PacketIn', switch: w.name, ingressPort: pkt.meta.ingressPort, msg: out }, after(afterMs));
  else ctx.send(w.portRefs[port]!, out, after(afterMs));
}

function reply(req: { readonly id?: number }, err: string | null): ControlReply {
  const id = req.id === undefined ? {} : { id: req.id };
  return err ? { type: 'ControlReply', ...id, ok: false, error: err } : { type: 'ControlReply', ...id, ok: true };
}

// ---- fused mode -------------------------------------------------------------------------------

interface Fused<H> {
  readonly parser: ParserUnit<H>;
  readonly ingress: readonly StageRuntime<H>[];
  readonly tm: TrafficManager<H>;
  readonly egress: readonly StageRuntime<H>[];
  readonly deparser: DeparserUnit<H>;
  /** table/register/counter name -> the stage that owns it */
  readonly owners: ReadonlyMap<string, StageRuntime<H>>;
  readonly clock: TmClock;
  /** The queue emitter, made on first use for the ctx it sends with (made again if that changes). */
  emit: Emit;
  emitCtx: Ctx<FusedMsg> | undefined;
  /** The Departure of the admission being handled, and its delay: copies due with it join it. */
  departure: Departure | undefined;
  departureAfterMs: number;
}

type FusedMsg = Rx | AnyPacket | QueueTimer | QueuePoll | Departure | StageControl | MulticastGroupSet | StatsQuery;

function fusedActor<H>(w: Wiring<H>): Behavior<Fused<H>, FusedMsg> {
  /** Hand on a packet the traffic manager released from queue q, to arrive `afterMs` from now. */
  const emitFrom = (f: Fused<H>, q: number, pkt: AnyPacket, afterMs: number, together: boolean, ctx: Ctx<FusedMsg>): void => {
    if (q < w.nPorts) {
      // Egress stages run when the packet leaves, in the order packets leave, as in staged mode;
      // copies that leave together go as one message (one scheduler event rather than one each).
      if (afterMs > 0 && (together || f.egress.length > 0)) depart(f, pkt, afterMs, ctx);
      else runEgress(f, pkt, ctx, afterMs);
    } else if (q === f.tm.cpuQueue) {
      sendOut(w, f.deparser, pkt, ctx, afterMs);
    } else {
      // Recirculation: back to the start of the pipeline as a message, as in the staged mode.
      ctx.send(ctx.self, pkt, after(afterMs));
    }
  };
  /**
   * Send a packet to the pipeline itself, to arrive when it leaves. Copies released by the same
   * admission and due at the same time join one message: it is still on its way (its delay is
   * not 0) and never leaves this actor, so adding to it before it arrives is safe.
   */
  const depart = (f: Fused<H>, pkt: AnyPacket, afterMs: number, ctx: Ctx<FusedMsg>): void => {
    if (f.departure !== undefined && f.departureAfterMs === afterMs) {
      f.departure.pkts.push(pkt);
      return;
    }
    f.departure = { type: 'Departure', pkts: [pkt] };
    f.departureAfterMs = afterMs;
    ctx.send(ctx.self, f.departure, after(afterMs));
  };
  const runEgress = (f: Fused<H>, pkt: AnyPacket, ctx: Ctx<FusedMsg>, afterMs: number): void => {
    const stages = f.egress;
    for (let i = 0; i < stages.length; i++) stages[i]!.run(pkt);
    if (pkt.meta.drop) checkRejected(f, stages, ctx);
    sendOut(w, f.deparser, pkt, ctx, afterMs);
  };
  /** Ingress and the traffic manager for a packet that arrived at `nowMs`. */
  const runIngress = (f: Fused<H>, pkt: AnyPacket, ctx: Ctx<FusedMsg>, nowMs: number): void => {
    const stages = f.ingress;
    for (let i = 0; i < stages.length; i++) stages[i]!.run(pkt);
    // A stage rejects the program only while dropping the packet in hand.
    if (pkt.meta.drop) checkRejected(f, stages, ctx);
    f.tm.admit(pkt);
    f.departure = undefined;
    f.clock.admitted(f.tm, ctx, emitterFor(f, ctx), nowMs);
  };
  const emitterFor = (f: Fused<H>, ctx: Ctx<FusedMsg>): Emit => {
    if (f.emitCtx !== ctx) {
      f.emitCtx = ctx;
      f.emit = (q, p, afterMs, together) => emitFrom(f, q, p, afterMs, together, ctx);
    }
    return f.emit;
  };
  const checkRejected = (f: Fused<H>, stages: readonly StageRuntime<H>[], ctx: Ctx<FusedMsg>): void => {
    if (f.parser.rejected !== undefined) return;
    for (let i = 0; i < stages.length; i++) {
      const s = stages[i]!;
      if (s.rejected !== undefined) {
        ctx.log.error({ reason: s.rejected }, `switch ${w.name}: program '${w.program.name}' rejected`);
        f.parser.reject(s.rejected);
        return;
      }
    }
  };
  /** A message from one of the switch's own actors; false if it is none of theirs. */
  const internal = (f: Fused<H>, msg: FusedMsg, ctx: Ctx<FusedMsg>): boolean => {
    switch (msg.type) {
      case 'QueueTimer':
        f.clock.timer(f.tm, ctx, emitterFor(f, ctx));
        return true;
      case 'QueuePoll':
        f.clock.poll(f.tm, ctx, emitterFor(f, ctx));
        return true;
      case 'Departure':
        for (const pkt of msg.pkts) runEgress(f, pkt, ctx, 0);
        return true;
      case 'Rx': {
        const pkt = f.parser.parse(msg);
        if (pkt) runIngress(f, pkt, ctx, ctx.now());
        return true;
      }
      case 'Packet': {
        const now = ctx.now();
        const pkt = f.parser.reenter(msg, now);
        if (pkt) runIngress(f, pkt, ctx, now);
        return true;
      }
      case 'MulticastGroupSet':
        answer(ctx, msg.replyTo, reply(msg, f.tm.setGroup(msg.group, msg.ports)));
        return true;
      case 'StatsQuery': {
        const s = copyStats(f.parser.stats, w.nPorts);
        for (const rt of [...f.ingress, ...f.egress]) mergeStats(s, stageStats(rt as StageRuntime<unknown>, w.nPorts));
        mergeStats(s, f.tm.stats);
        mergeStats(s, f.deparser.stats);
        ctx.send(msg.replyTo, { type: 'StatsReport', stats: s } satisfies StatsReport);
        return true;
      }
      case 'TableInsert':
      case 'TableDelete':
      case 'TableClear':
      case 'TableSetDefault':
      case 'RegisterRead':
      case 'RegisterWrite':
      case 'RegisterReset':
      case 'CounterRead': {
        const name = 'table' in msg ? msg.table : 'register' in msg ? msg.register : msg.counter;
        const rt = f.owners.get(name);
        answer(ctx, msg.replyTo, rt ? stageControl(rt, msg) : reply(msg, `no table, register or counter '${name}'`));
        return true;
      }
      default:
        return false;
    }
  };
  return behavior<Fused<H>, FusedMsg>({
    init: (ctx) => {
      const ingress = w.program.ingress.map((s) => newStage(w, s.name));
      const egress = w.program.egress.map((s) => newStage(w, s.name));
      const owners = new Map<string, StageRuntime<H>>();
      for (const rt of [...ingress, ...egress]) {
        for (const d of [...rt.tables.keys(), ...rt.registers.keys(), ...rt.counters.keys()]) owners.set(d.name, rt);
      }
      return {
        parser: new ParserUnit(w.program, w.nPorts), ingress, tm: newTm(w), egress, deparser: new DeparserUnit(w.program, w.nPorts), owners,
        clock: new TmClock(ctx as Ctx<never>), emit: () => {}, emitCtx: undefined, departure: undefined, departureAfterMs: 0,
      };
    },
    receive: (f, msg, ctx) => {
      // Internal messages come from the switch's own actors (its timers and polls from itself);
      // anything else is a packet from a host.
      const from = ctx.sender;
      if ((from === ctx.self || ours(w, from)) && internal(f, msg, ctx)) return f;
      const port = w.portOf(from);
      if (port === PORT_NONE) {
        f.parser.unknownPort();
        return f;
      }
      // One clock read for the packet's arrival and its traffic manager.
      const now = ctx.now();
      const pkt = f.parser.parseMsg(msg, port, now);
      if (pkt) runIngress(f, pkt, ctx, now);
      return f;
    },
    supervision: RESUME,
  });
}
