// The switch as actors on a switch host. Hosts are attached to ports: port i has an ingress
// actor (`<name>/port<i>`) that a host sends its messages to, and a peer, the host's actor at
// the other end of the cable, that receives what leaves on port i. A port's ingress actor
// stamps the port number and arrival time on each message, so the program knows where a packet
// came from, as hardware does from the physical port.
//
// Two execution modes run the same program, with the same stage code and the same results:
//   staged: parser, each ingress stage, the traffic manager, each egress stage and the deparser
//           are separate actors (the reference: stages share nothing, as on the chip);
//   fused:  all of them run inside one actor `<name>/pipeline` (fast).
// In both, the control plane is the actor `<name>/control`.
import { behavior, type ActorRef, type AnyRef, type Behavior, type Ctx, type Msg, type Topology } from '../actors/index.ts';
import { applyStageSetup, applyTmSetup, stageControl, type SwitchSetup } from './control.ts';
import { controlPlane, type ControlPlaneRoutes } from './control-plane.ts';
import type {
  AnyPacket, ControlReply, ControlRequest, MulticastGroupSet, PacketIn, QueueTimer, Reject, Rx, StageControl, StatsQuery, StatsReport,
  SwitchStats,
} from './messages.ts';
import { emptyStats, mergeStats } from './messages.ts';
import { PORT_CPU } from './packet.ts';
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
  /** ports[i]: where a host attached to port i sends its messages. */
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
  const wiring: Wiring<H> = { name: `${host}/${name}`, program, profile, nPorts, portRefs, setup: cfg.setup, control: controlRef };
  const paths: string[] = [];
  const place = <S, M extends Msg>(path: string, b: Behavior<S, M>): ActorRef<M> => {
    paths.push(path);
    return t.actor(host, path, b);
  };

  let entry: ActorRef<Rx | AnyPacket>;
  let routes: ControlPlaneRoutes;
  if (mode === 'fused') {
    const pipeline = at<FusedMsg>(`${name}/pipeline`);
    entry = pipeline;
    routes = { entry, tm: pipeline, owners: new Map([...program.owner.keys()].map((d) => [d.name, pipeline])), components: [pipeline] };
  } else {
    const parser = at<ParserMsg>(`${name}/parser`);
    entry = parser;
    const ingress = program.ingress.map((s) => at<AnyPacket | StageControl | StatsQuery>(`${name}/ingress/${s.name}`));
    const egress = program.egress.map((s) => at<AnyPacket | StageControl | StatsQuery>(`${name}/egress/${s.name}`));
    const tm = at<AnyPacket | QueueTimer | MulticastGroupSet | StatsQuery>(`${name}/tm`);
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
  return { host, name, mode, ports, control: controlRef as ActorRef<ControlRequest>, resources, paths };
}

/** What every actor of one switch is built from. */
interface Wiring<H> {
  readonly name: string;
  readonly program: SwitchProgram<H>;
  readonly profile: TargetProfile;
  readonly nPorts: number;
  readonly portRefs: readonly ActorRef<Msg>[];
  readonly setup: SwitchSetup | undefined;
  readonly control: ActorRef<PacketIn>;
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

// ---- the traffic manager's timers -------------------------------------------------------------

interface TimerNames {
  readonly names: string[];
  readonly msgs: QueueTimer[];
}

function timerNames(queues: number): TimerNames {
  const names: string[] = [];
  const msgs: QueueTimer[] = [];
  for (let q = 0; q < queues; q++) {
    names.push(`queue${q}`);
    msgs.push({ type: 'QueueTimer', queue: q });
  }
  return { names, msgs };
}

/**
 * After `admit`: for every queue that just became busy, hand on its head now if it is already
 * due (real time), else set the queue's timer for it.
 */
function armQueues<H, M extends Msg>(tm: TrafficManager<H>, timers: TimerNames, ctx: Ctx<M>, emit: (q: number, pkt: AnyPacket) => void): void {
  const busy = tm.newlyBusy;
  const n = tm.busyCount;
  for (let i = 0; i < n; i++) drainQueue(tm, busy[i]!, timers, ctx, emit, false);
}

function drainQueue<H, M extends Msg>(tm: TrafficManager<H>, q: number, timers: TimerNames, ctx: Ctx<M>, emit: (q: number, pkt: AnyPacket) => void, force: boolean): void {
  let first = force;
  for (;;) {
    const head = tm.headEmitMs(q);
    if (head === undefined) return;
    const now = ctx.now();
    if (!first && head > now + 1e-9) {
      ctx.startTimer(timers.names[q]!, head - now, timers.msgs[q] as unknown as M);
      return;
    }
    const n = tm.release(q, now, first);
    first = false;
    const out = tm.out;
    for (let i = 0; i < n; i++) emit(q, out[i]!);
  }
}

// ---- staged mode ------------------------------------------------------------------------------

type ParserMsg = Rx | AnyPacket | Reject | StatsQuery;

function parserActor<H>(w: Wiring<H>, next: ActorRef<AnyPacket>): Behavior<ParserUnit<H>, ParserMsg> {
  return behavior<ParserUnit<H>, ParserMsg>({
    init: () => new ParserUnit(w.program, w.nPorts),
    receive: (unit, msg, ctx) => {
      switch (msg.type) {
        case 'Rx': {
          const pkt = unit.parse(msg);
          if (pkt) ctx.send(next, pkt);
          break;
        }
        case 'Packet': {
          const pkt = unit.reenter(msg, ctx.now());
          if (pkt) ctx.send(next, pkt);
          break;
        }
        case 'Reject':
          if (unit.rejected === undefined) ctx.log.error({ reason: msg.reason }, `switch ${w.name}: program '${w.program.name}' rejected`);
          unit.reject(msg.reason);
          break;
        case 'StatsQuery':
          ctx.send(msg.replyTo, { type: 'StatsReport', stats: copyStats(unit.stats, w.nPorts) });
          break;
      }
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
          ctx.send(msg.replyTo, stageControl(s.rt, msg));
      }
      return s;
    },
    supervision: RESUME,
  });
}

type TmMsg = AnyPacket | QueueTimer | MulticastGroupSet | StatsQuery;

interface TmState<H> {
  readonly tm: TrafficManager<H>;
  emit: (q: number, pkt: AnyPacket) => void;
  emitCtx: Ctx<TmMsg> | undefined;
}

function tmActor<H>(w: Wiring<H>, egress: ActorRef<AnyPacket>, deparser: ActorRef<AnyPacket>, parser: ActorRef<AnyPacket>): Behavior<TmState<H>, TmMsg> {
  const timers = timerNames(w.nPorts + 2);
  // Made once per ctx, not per message: creating a named closure is not free (see bench/switch.ts).
  const emitterFor = (s: TmState<H>, ctx: Ctx<TmMsg>): ((q: number, pkt: AnyPacket) => void) => {
    if (s.emitCtx !== ctx) {
      s.emitCtx = ctx;
      s.emit = (q, pkt) => {
        if (q < w.nPorts) ctx.send(egress, pkt);
        else if (q === s.tm.cpuQueue) ctx.send(deparser, pkt);
        else ctx.send(parser, pkt);
      };
    }
    return s.emit;
  };
  return behavior<TmState<H>, TmMsg>({
    init: () => ({ tm: newTm(w), emit: () => {}, emitCtx: undefined }),
    receive: (s, msg, ctx) => {
      const tm = s.tm;
      switch (msg.type) {
        case 'Packet':
          tm.admit(msg);
          if (tm.busyCount > 0) armQueues(tm, timers, ctx, emitterFor(s, ctx));
          break;
        case 'QueueTimer':
          drainQueue(tm, msg.queue, timers, ctx, emitterFor(s, ctx), true);
          break;
        case 'MulticastGroupSet': {
          const err = tm.setGroup(msg.group, msg.ports);
          ctx.send(msg.replyTo, reply(msg, err));
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

function sendOut<H, M extends Msg>(w: Wiring<H>, unit: DeparserUnit<H>, pkt: AnyPacket, ctx: Ctx<M>): void {
  const out = unit.emit(pkt);
  if (out === undefined) return;
  const port = pkt.meta.egressPort;
  if (port === PORT_CPU) ctx.send(w.control, { type: 'PacketIn', switch: w.name, ingressPort: pkt.meta.ingressPort, msg: out });
  else ctx.send(w.portRefs[port]!, out);
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
  /** The queue emitter, made on first use for the ctx it sends with (made again if that changes). */
  emit: (q: number, pkt: AnyPacket) => void;
  emitCtx: Ctx<FusedMsg> | undefined;
}

type FusedMsg = Rx | AnyPacket | QueueTimer | StageControl | MulticastGroupSet | StatsQuery;

function fusedActor<H>(w: Wiring<H>): Behavior<Fused<H>, FusedMsg> {
  const timers = timerNames(w.nPorts + 2);
  /** Hand on a packet the traffic manager released from queue q. */
  const emitFrom = (f: Fused<H>, q: number, pkt: AnyPacket, ctx: Ctx<FusedMsg>): void => {
    if (q < w.nPorts) {
      const stages = f.egress;
      for (let i = 0; i < stages.length; i++) stages[i]!.run(pkt);
      checkRejected(f, stages, ctx);
      sendOut(w, f.deparser, pkt, ctx);
    } else if (q === f.tm.cpuQueue) {
      sendOut(w, f.deparser, pkt, ctx);
    } else {
      // Recirculation: back to the start of the pipeline as a message, as in the staged mode.
      ctx.send(ctx.self, pkt);
    }
  };
  const runIngress = (f: Fused<H>, pkt: AnyPacket, ctx: Ctx<FusedMsg>): void => {
    const stages = f.ingress;
    for (let i = 0; i < stages.length; i++) stages[i]!.run(pkt);
    checkRejected(f, stages, ctx);
    f.tm.admit(pkt);
    if (f.tm.busyCount > 0) armQueues(f.tm, timers, ctx, emitterFor(f, ctx));
  };
  const emitterFor = (f: Fused<H>, ctx: Ctx<FusedMsg>): ((q: number, pkt: AnyPacket) => void) => {
    if (f.emitCtx !== ctx) {
      f.emitCtx = ctx;
      f.emit = (q, p) => emitFrom(f, q, p, ctx);
    }
    return f.emit;
  };
  const checkRejected = (f: Fused<H>, stages: readonly StageRuntime<H>[], ctx: Ctx<FusedMsg>): void => {
    if (f.parser.rejected !== undefined) return;
    for (const s of stages) {
      if (s.rejected !== undefined) {
        ctx.log.error({ reason: s.rejected }, `switch ${w.name}: program '${w.program.name}' rejected`);
        f.parser.reject(s.rejected);
        return;
      }
    }
  };
  return behavior<Fused<H>, FusedMsg>({
    init: () => {
      const ingress = w.program.ingress.map((s) => newStage(w, s.name));
      const egress = w.program.egress.map((s) => newStage(w, s.name));
      const owners = new Map<string, StageRuntime<H>>();
      for (const rt of [...ingress, ...egress]) {
        for (const d of [...rt.tables.keys(), ...rt.registers.keys(), ...rt.counters.keys()]) owners.set(d.name, rt);
      }
      return {
        parser: new ParserUnit(w.program, w.nPorts), ingress, tm: newTm(w), egress, deparser: new DeparserUnit(w.program, w.nPorts), owners,
        emit: () => {}, emitCtx: undefined,
      };
    },
    receive: (f, msg, ctx) => {
      switch (msg.type) {
        case 'Rx': {
          const pkt = f.parser.parse(msg);
          if (pkt) runIngress(f, pkt, ctx);
          break;
        }
        case 'Packet': {
          const pkt = f.parser.reenter(msg, ctx.now());
          if (pkt) runIngress(f, pkt, ctx);
          break;
        }
        case 'QueueTimer':
          drainQueue(f.tm, msg.queue, timers, ctx, emitterFor(f, ctx), true);
          break;
        case 'MulticastGroupSet':
          ctx.send(msg.replyTo, reply(msg, f.tm.setGroup(msg.group, msg.ports)));
          break;
        case 'StatsQuery': {
          const s = copyStats(f.parser.stats, w.nPorts);
          for (const rt of [...f.ingress, ...f.egress]) mergeStats(s, stageStats(rt as StageRuntime<unknown>, w.nPorts));
          mergeStats(s, f.tm.stats);
          mergeStats(s, f.deparser.stats);
          ctx.send(msg.replyTo, { type: 'StatsReport', stats: s } satisfies StatsReport);
          break;
        }
        default: {
          const name = 'table' in msg ? msg.table : 'register' in msg ? msg.register : msg.counter;
          const rt = f.owners.get(name);
          ctx.send(msg.replyTo, rt ? stageControl(rt, msg) : reply(msg, `no table, register or counter '${name}'`));
        }
      }
      return f;
    },
    supervision: RESUME,
  });
}
