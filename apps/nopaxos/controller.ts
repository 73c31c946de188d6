// The controller of the OUM network (NOPaxos, section 3.3): it watches the group's sequencer
// with liveness probes and, when it stops answering (or answers without the session it was
// given: it restarted and lost its counters), installs a new one with a higher session number
// on the next sequencer of its list (a standby), then routes the senders there. Replicas learn
// of the new session from its first message (SESSION-TERMINATED) and change view.
//
// `SessionChange` starts a new session on the same sequencer, as the reference simulator's
// sessionChange() does; `Failover` moves to the next one at once.
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx, type Msg } from '../../actors/index.ts';
import type { OumPing, OumRoute, OumSetGroup, OumStartSession } from '../oum/messages.ts';
import type { ControllerMsg } from './messages.ts';

/** Probe period and the silence after which a sequencer is declared failed. */
export const PROBE_INTERVAL_MS = 5;
export const SEQUENCER_FAIL_AFTER_MS = 20;

export interface ControllerConfig {
  readonly group: number;
  /** The sequencers, the active one first; the rest are standbys, used in turn. */
  readonly sequencers: readonly ActorRef<Msg>[];
  /** The group's members (the replicas). */
  readonly members: readonly ActorRef<Msg>[];
  /** The senders to route (the clients). */
  readonly senders: readonly ActorRef<OumRoute>[];
  /** The session the first sequencer starts in. */
  readonly initialSession: number;
  readonly probeIntervalMs?: number;
  readonly failAfterMs?: number;
}

export interface ControllerEvent {
  readonly atMs: number;
  readonly kind: 'failover' | 'session-change' | 'sequencer-restarted';
  readonly sequencer: number;
  readonly sessionNum: number;
}

export interface ControllerState {
  active: number;
  sessionNum: number;
  lastPongAtMs: number;
  /** When the latest probe ran: one far later than due means this controller was paused. */
  lastProbeAtMs: number;
  pingSeq: number;
  /** Pongs to pings sent before this seq are from an earlier sequencer or session. */
  activeSinceSeq: number;
  /** Senders that have not acknowledged the current route. */
  readonly unacked: Set<number>;
  readonly events: ControllerEvent[];
}

type C = Ctx<ControllerMsg>;

export function controller(cfg: ControllerConfig): Behavior<ControllerState, ControllerMsg> {
  if (cfg.sequencers.length === 0) throw new RangeError('the controller needs at least one sequencer');
  const probeMs = cfg.probeIntervalMs ?? PROBE_INTERVAL_MS;
  const failMs = cfg.failAfterMs ?? SEQUENCER_FAIL_AFTER_MS;
  const senderIndex = new Map(cfg.senders.map((s, i) => [`${s.host}/${s.path}`, i]));

  const route = (s: ControllerState, ctx: C, i: number): void => {
    const m: OumRoute = {
      type: 'OumRoute', group: cfg.group, sequencer: cfg.sequencers[s.active]!, sessionNum: s.sessionNum, replyTo: ctx.self,
    };
    ctx.send(cfg.senders[i]!, m);
  };

  /** Install session `sessionNum + 1` on sequencer `to` and route the senders to it. */
  const install = (s: ControllerState, ctx: C, to: number, kind: ControllerEvent['kind']): void => {
    s.active = to;
    s.sessionNum++;
    const seq = cfg.sequencers[to]!;
    const setGroup: OumSetGroup = { type: 'OumSetGroup', group: cfg.group, members: cfg.members };
    const start: OumStartSession = { type: 'OumStartSession', sessionNum: s.sessionNum };
    ctx.send(seq as ActorRef<OumSetGroup>, setGroup);
    ctx.send(seq as ActorRef<OumStartSession>, start);
    s.lastPongAtMs = ctx.now();
    s.activeSinceSeq = s.pingSeq + 1;
    s.events.push({ atMs: ctx.now(), kind, sequencer: to, sessionNum: s.sessionNum });
    ctx.log.warn({ sequencer: to, sessionNum: s.sessionNum, kind }, 'new OUM session');
    s.unacked.clear();
    for (let i = 0; i < cfg.senders.length; i++) {
      s.unacked.add(i);
      route(s, ctx, i);
    }
  };

  return behavior<ControllerState, ControllerMsg>({
    init: (ctx) => {
      ctx.startTimer('probe', probeMs, { type: 'ProbeTimeout' }, { repeat: true });
      return {
        active: 0, sessionNum: cfg.initialSession, lastPongAtMs: ctx.now(), lastProbeAtMs: ctx.now(), pingSeq: 0, activeSinceSeq: 0,
        unacked: new Set(), events: [],
      };
    },
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'ProbeTimeout': {
          const now = ctx.now();
          if (now - s.lastProbeAtMs > probeMs + failMs / 2) {
            // Far later than due: the controller was paused (a busy machine, a long garbage
            // collection) and the sequencer's answers wait behind this timer. Its silence is
            // ours: start the clock afresh rather than move the group to a new session for nothing.
            ctx.log.warn({ lateMs: now - s.lastProbeAtMs }, 'controller paused: the sequencer\'s failure clock starts afresh');
            s.lastPongAtMs = now;
          }
          s.lastProbeAtMs = now;
          if (now - s.lastPongAtMs > failMs) {
            install(s, ctx, (s.active + 1) % cfg.sequencers.length, 'failover');
            return s;
          }
          const ping: OumPing = { type: 'OumPing', seq: ++s.pingSeq, replyTo: ctx.self };
          ctx.send(cfg.sequencers[s.active] as ActorRef<OumPing>, ping);
          // Routes are resent until acknowledged (the network may lose them).
          for (const i of s.unacked) route(s, ctx, i);
          return s;
        }
        case 'OumPong':
          if (msg.seq < s.activeSinceSeq) return s;
          if (msg.sessionNum !== s.sessionNum) {
            // Alive but without our session: it restarted. Give it a new one.
            install(s, ctx, s.active, 'sequencer-restarted');
            return s;
          }
          s.lastPongAtMs = ctx.now();
          return s;
        case 'OumRouteAck':
          if (msg.group === cfg.group && msg.sessionNum === s.sessionNum) {
            const i = senderIndex.get(`${msg.sender.host}/${msg.sender.path}`);
            if (i !== undefined) s.unacked.delete(i);
          }
          return s;
        case 'SessionChange':
          install(s, ctx, s.active, 'session-change');
          return s;
        case 'Failover':
          install(s, ctx, (s.active + 1) % cfg.sequencers.length, 'failover');
          return s;
        default:
          return assertNever(msg);
      }
    },
  });
}
