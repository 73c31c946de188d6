// The control plane: the switch's CPU-side agent (what P4Runtime's server is on a real switch).
// Controllers send it table, register, counter and multicast operations; it checks the names,
// routes each operation to the stage (or traffic manager) that owns the object, and that actor
// answers the requester. Errors are replies, never exceptions. It also fans PacketIn (clones to
// the CPU) out to subscribers, injects PacketOut, and gathers statistics from every component.
import { behavior, type ActorRef, type AskResult, type Behavior } from '../actors/index.ts';
import { answer, fail, wrongBoot } from './control.ts';
import type {
  ControlReply, ControlRequest, MulticastGroupSet, PacketIn, Rx, StageControl, StatsQuery, StatsRead, StatsReport, SwitchStats,
} from './messages.ts';
import { emptyStats, mergeStats } from './messages.ts';
import { PORT_CPU } from './packet.ts';
import type { SwitchProgram } from './program.ts';

export interface ControlPlaneRoutes {
  /** Where packets from the CPU enter (the parser, or the fused pipeline). */
  readonly entry: ActorRef<Rx>;
  readonly tm: ActorRef<MulticastGroupSet>;
  /** table/register/counter name -> the actor that owns it */
  readonly owners: ReadonlyMap<string, ActorRef<StageControl>>;
  /** Every actor that keeps statistics. */
  readonly components: readonly ActorRef<StatsQuery>[];
}

export interface ControlPlaneConfig {
  /** `host/name` of the switch. */
  readonly name: string;
  readonly program: SwitchProgram<any>;
  readonly routes: ControlPlaneRoutes;
  readonly ports: number;
  readonly packetIn?: ActorRef<PacketIn>;
}

interface StatsGathered {
  readonly type: 'StatsGathered';
  readonly gather: number;
  readonly result: AskResult<StatsReport>;
}

interface Gather {
  readonly req: StatsRead;
  remaining: number;
  missing: number;
  readonly acc: SwitchStats;
}

interface ControlPlaneState {
  readonly subscribers: ActorRef<PacketIn>[];
  readonly gathers: Map<number, Gather>;
  nextGather: number;
}

type ControlPlaneMsg = ControlRequest | PacketIn | StatsGathered;

/** Components get this long to report their statistics. */
const STATS_TIMEOUT_MS = 1000;
/** PacketIn subscribers at most (a limit on everything). */
const MAX_SUBSCRIBERS = 64;

export function controlPlane(cfg: ControlPlaneConfig): Behavior<ControlPlaneState, ControlPlaneMsg> {
  const kinds = new Map<string, string>();
  for (const d of cfg.program.owner.keys()) kinds.set(d.name, d.kind);
  const namesOf = (kind: string): string => [...kinds].filter(([, k]) => k === kind).map(([n]) => n).join(', ') || 'none';
  const route = (kind: 'table' | 'register' | 'counter', name: string, req: StageControl): ControlReply | ActorRef<StageControl> => {
    if (kinds.get(name) !== kind) return fail(req, `program '${cfg.program.name}' has no ${kind} '${name}' (${kind}s: ${namesOf(kind)})`);
    return cfg.routes.owners.get(name)!;
  };
  return behavior<ControlPlaneState, ControlPlaneMsg>({
    init: () => ({ subscribers: cfg.packetIn ? [cfg.packetIn] : [], gathers: new Map(), nextGather: 0 }),
    receive: (s, msg, ctx) => {
      if ('replyTo' in msg && 'boot' in msg) {
        const refused = wrongBoot(msg, ctx.incarnation);
        if (refused) {
          answer(ctx, msg.replyTo, fail(msg, refused));
          return s;
        }
      }
      switch (msg.type) {
        case 'TableInsert':
        case 'TableDelete':
        case 'TableClear':
        case 'TableSetDefault':
        case 'RegisterRead':
        case 'RegisterWrite':
        case 'RegisterReset':
        case 'CounterRead': {
          const [kind, name] = 'table' in msg ? ['table', msg.table] as const : 'register' in msg ? ['register', msg.register] as const : ['counter', msg.counter] as const;
          const to = route(kind, name, msg);
          if ('type' in to) answer(ctx, msg.replyTo, to);
          else ctx.send(to, msg);
          break;
        }
        case 'MulticastGroupSet':
          ctx.send(cfg.routes.tm, msg);
          break;
        case 'StatsRead': {
          const id = s.nextGather++;
          const comps = cfg.routes.components;
          s.gathers.set(id, { req: msg, remaining: comps.length, missing: 0, acc: emptyStats(cfg.ports) });
          for (const c of comps) {
            ctx.ask<StatsQuery, StatsReport>(c, (replyTo) => ({ type: 'StatsQuery', replyTo }), STATS_TIMEOUT_MS,
              (result) => ({ type: 'StatsGathered', gather: id, result }));
          }
          break;
        }
        case 'StatsGathered': {
          const g = s.gathers.get(msg.gather);
          if (!g) break;
          if (msg.result.ok) mergeStats(g.acc, msg.result.reply.stats);
          else g.missing++;
          if (--g.remaining > 0) break;
          s.gathers.delete(msg.gather);
          const id = g.req.id === undefined ? {} : { id: g.req.id };
          answer(ctx, g.req.replyTo, g.missing > 0
            ? { type: 'ControlReply', ...id, ok: false, error: `statistics incomplete: ${g.missing} component(s) did not answer within ${STATS_TIMEOUT_MS} ms` }
            : { type: 'ControlReply', ...id, ok: true, stats: g.acc });
          break;
        }
        case 'PacketInSubscribe':
          if (!s.subscribers.some((r) => r.host === msg.subscriber.host && r.path === msg.subscriber.path)) {
            if (s.subscribers.length >= MAX_SUBSCRIBERS) ctx.log.warn({ max: MAX_SUBSCRIBERS }, 'too many PacketIn subscribers; ignored');
            else s.subscribers.push(msg.subscriber);
          }
          break;
        case 'PacketIn':
          for (const sub of s.subscribers) ctx.send(sub, msg);
          break;
        case 'PacketOut':
          ctx.send(cfg.routes.entry, { type: 'Rx', port: PORT_CPU, msg: msg.msg, atMs: ctx.now() });
          break;
      }
      return s;
    },
    supervision: { strategy: 'resume' },
  });
}
