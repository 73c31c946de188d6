// The controller of the OUM network (NOPaxos, section 3.3): it watches the group's sequencer
// with liveness probes and, when it stops answering (or answers without the session it was
// given: it restarted and lost its counters), installs a new one with a higher session number
// on the next sequencer of its list (a standby), then routes the senders there. Replicas learn
// of the new session from its first message (SESSION-TERMINATED) and change view.
//
// `SessionChange` starts a new session on the same sequencer, as the reference simulator's
// sessionChange() does; `Failover` moves to the next one at once.
//
// A session number must never be used twice: two sequencers stamping the same (session, msgNum)
// with different messages would break the ordering OUM promises. The paper has a replicated
// controller; here the one thing a controller must not forget, the highest session it may have
// installed, is kept by the replicas (`keepers`). Before it installs session s, the controller
// reserves s at a majority of them (SessionReserve, answered with SessionReserved and the highest
// reservation the replica knows); a replica that recovers takes the highest of its f+1
// RecoveryResponses. A controller that restarts (ctx.incarnation > 0) has lost everything, so it
// first asks a majority for their highest reservation M (any majority meets the one that took
// the last reservation, so no session above M was ever installed). Then it pings every
// sequencer: one that stamps in session M got it from the controller before the restart, and is
// adopted as the active one, with no new session (the senders are routed to it again). If none
// answers so within the failure-detection time (failAfterMs: the silence after which a running
// controller would declare the sequencer failed; a fresh process may take that long to reach it),
// or every sequencer has answered in another session, it installs M+1 on the first sequencer
// that answered at all (or on its first). Without keepers a restarted controller does nothing.
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx, type Msg } from '../../actors/index.ts';
import type { OumPing, OumRoute, OumSetGroup, OumStartSession } from '../oum/messages.ts';
import { majorityOf, MajorityReservation } from '../reservation/majority.ts';
import type { ControllerMsg, SessionReserve } from './messages.ts';

/** Pings whose target the controller remembers (a pong older than that is not used). */
const PINGED_KEPT = 256;

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
  /**
   * The actors that keep the highest reserved session (the replicas, which answer
   * SessionReserve); a majority must take each reservation. Omitted: sessions are installed
   * without one, and a restarted controller does nothing.
   */
  readonly keepers?: readonly ActorRef<SessionReserve>[];
  readonly probeIntervalMs?: number;
  readonly failAfterMs?: number;
}

export interface ControllerEvent {
  readonly atMs: number;
  readonly kind: 'failover' | 'session-change' | 'sequencer-restarted' | 'controller-restarted';
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
  /** A session being reserved at the keepers before it is installed. */
  reserving: Reservation | undefined;
  /** A restarted controller looking for the sequencer in the highest reserved session. */
  locating: Locating | undefined;
  /** A restarted controller without keepers: it cannot know which sessions were used. */
  halted: boolean;
  readonly events: ControllerEvent[];
  /** Each sequencer's life (its host's incarnation) as its latest pong said: a session start is meant for that life. */
  readonly lives: (number | undefined)[];
  /** The life of the active sequencer in this session (from its first pong in it): a pong of another life means it restarted. */
  activeLife: number | undefined;
  /** Ping seq -> the sequencer it went to (a pong does not say who sent it), for the latest pings. */
  readonly pinged: Map<number, number>;
}

export interface Locating {
  /** The highest session reserved at a majority of the keepers. */
  readonly top: number;
  readonly sinceMs: number;
  /** Ping seq -> the sequencer it went to (a pong does not say who sent it). */
  readonly pings: Map<number, number>;
  /** The sequencers that answered in another session, in the order they did. */
  readonly elsewhere: Set<number>;
}

export interface Reservation {
  /** The session asked for (-1 only asks for the highest reserved: after a restart) and the keepers' answers. */
  readonly votes: MajorityReservation;
  /** Where and why it will be installed (a later Failover may move it to the next sequencer). */
  to: number;
  readonly kind: ControllerEvent['kind'];
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

  const keepers = cfg.keepers ?? [];
  const majority = majorityOf(keepers.length);

  /** Make `to` the active sequencer in `sessionNum` and route the senders to it. */
  const takeOver = (s: ControllerState, ctx: C, to: number, sessionNum: number, kind: ControllerEvent['kind']): void => {
    s.active = to;
    s.sessionNum = sessionNum;
    s.activeLife = undefined;
    s.lastPongAtMs = ctx.now();
    s.activeSinceSeq = s.pingSeq + 1;
    s.events.push({ atMs: ctx.now(), kind, sequencer: to, sessionNum });
    s.unacked.clear();
    for (let i = 0; i < cfg.senders.length; i++) {
      s.unacked.add(i);
      route(s, ctx, i);
    }
  };

  /** Install `sessionNum` on sequencer `to` and route the senders to it. */
  const commit = (s: ControllerState, ctx: C, to: number, sessionNum: number, kind: ControllerEvent['kind']): void => {
    const seq = cfg.sequencers[to]!;
    const setGroup: OumSetGroup = { type: 'OumSetGroup', group: cfg.group, members: cfg.members };
    const life = s.lives[to];
    const start: OumStartSession = { type: 'OumStartSession', sessionNum, ...(life !== undefined ? { incarnation: life } : {}) };
    ctx.send(seq as ActorRef<OumSetGroup>, setGroup);
    ctx.send(seq as ActorRef<OumStartSession>, start);
    ctx.log.warn({ sequencer: to, sessionNum, kind }, 'new OUM session');
    takeOver(s, ctx, to, sessionNum, kind);
    // A start that names no life is meant for the first (the sequencers refuse it otherwise).
    s.activeLife = life ?? 0;
  };

  const pingAll = (s: ControllerState, ctx: C): void => {
    cfg.sequencers.forEach((seq, i) => {
      const ping: OumPing = { type: 'OumPing', seq: ++s.pingSeq, replyTo: ctx.self };
      s.locating!.pings.set(ping.seq, i);
      s.pinged.set(ping.seq, i);
      s.pinged.delete(ping.seq - PINGED_KEPT);
      ctx.send(seq as ActorRef<OumPing>, ping);
    });
  };

  /** Ping sequencer i, remembering which one the seq went to (the latest PINGED_KEPT). */
  const ping = (s: ControllerState, ctx: C, i: number): void => {
    const p: OumPing = { type: 'OumPing', seq: ++s.pingSeq, replyTo: ctx.self };
    s.pinged.set(p.seq, i);
    s.pinged.delete(p.seq - PINGED_KEPT);
    ctx.send(cfg.sequencers[i] as ActorRef<OumPing>, p);
  };

  /** A restarted controller's pong: adopt a sequencer already in the highest reserved session. */
  const onLocatePong = (s: ControllerState, ctx: C, seq: number, sessionNum: number): void => {
    const l = s.locating!;
    const i = l.pings.get(seq);
    if (i === undefined) return;
    if (sessionNum !== l.top) {
      l.elsewhere.add(i);
      // Every sequencer is in another session: none will be found in the highest one.
      if (l.elsewhere.size === cfg.sequencers.length) installPastTop(s, ctx);
      return;
    }
    s.locating = undefined;
    ctx.log.warn({ sequencer: i, sessionNum }, 'restarted controller: the sequencer in the highest session goes on in it');
    takeOver(s, ctx, i, sessionNum, 'controller-restarted');
  };

  const askKeepers = (s: ControllerState, ctx: C): void => {
    const r = s.reserving!;
    keepers.forEach((k, i) => {
      if (!r.votes.answered(i)) ctx.send(k, { type: 'SessionReserve', sessionNum: r.votes.asked, keeper: i, replyTo: ctx.self });
    });
  };

  const reserve = (s: ControllerState, ctx: C, sessionNum: number, to: number, kind: ControllerEvent['kind']): void => {
    s.reserving = { votes: new MajorityReservation(sessionNum, majority), to, kind };
    askKeepers(s, ctx);
  };

  /** No sequencer is in the highest session reserved (it was reserved but not installed, or its
   *  sequencer is gone): reserve the next one, for a live sequencer. */
  const installPastTop = (s: ControllerState, ctx: C): void => {
    const l = s.locating!;
    s.locating = undefined;
    // The first sequencer that answered at all (the set keeps insertion order), or the first.
    const [alive = 0] = l.elsewhere;
    reserve(s, ctx, l.top + 1, alive, 'controller-restarted');
  };

  /** Install the next session on sequencer `to`, once a majority of the keepers has reserved it. */
  const install = (s: ControllerState, ctx: C, to: number, kind: ControllerEvent['kind']): void => {
    if (s.locating !== undefined) return; // the restart installs or adopts one
    if (s.reserving !== undefined) {
      // One is under way already: it will do (a failover moves it to the next sequencer).
      if (kind === 'failover') s.reserving.to = to;
      return;
    }
    if (keepers.length === 0) return commit(s, ctx, to, s.sessionNum + 1, kind);
    reserve(s, ctx, s.sessionNum + 1, to, kind);
  };

  const onReserved = (s: ControllerState, ctx: C, asked: number, keeper: number, highest: number): void => {
    const r = s.reserving;
    if (r === undefined || keepers[keeper] === undefined) return;
    const out = r.votes.answer(keeper, asked, highest);
    if (out.kind === 'waiting') return;
    s.reserving = undefined;
    if (out.kind === 'taken') return commit(s, ctx, r.to, out.num, r.kind);
    if (r.votes.asked < 0) {
      // Restarted, and top is the highest session that may have been installed: find its sequencer.
      s.locating = { top: out.top, sinceMs: ctx.now(), pings: new Map(), elsewhere: new Set() };
      return pingAll(s, ctx);
    }
    // Someone reserved a higher one: reserve past it.
    reserve(s, ctx, out.top + 1, r.to, r.kind);
  };

  return behavior<ControllerState, ControllerMsg>({
    init: (ctx) => {
      ctx.startTimer('probe', probeMs, { type: 'ProbeTimeout' }, { repeat: true });
      const s: ControllerState = {
        active: 0, sessionNum: cfg.initialSession, lastPongAtMs: ctx.now(), lastProbeAtMs: ctx.now(), pingSeq: 0, activeSinceSeq: 0,
        unacked: new Set(), reserving: undefined, locating: undefined, halted: false, events: [],
        lives: cfg.sequencers.map(() => undefined), activeLife: undefined, pinged: new Map(),
      };
      if (ctx.incarnation > 0) {
        // Restarted: the sessions installed before are unknown. Ask the keepers at the first
        // probe (what init sends is lost: the host is not up in the network yet).
        if (keepers.length === 0) {
          s.halted = true;
          ctx.log.error('restarted without session keepers: the sessions used before are unknown, so this controller does nothing');
        } else {
          s.reserving = { votes: new MajorityReservation(-1, majority), to: 0, kind: 'controller-restarted' };
        }
      }
      return s;
    },
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'ProbeTimeout': {
          const now = ctx.now();
          if (s.halted) return s;
          const l = s.locating;
          if (l !== undefined) {
            s.lastProbeAtMs = now;
            if (now - l.sinceMs < failMs) pingAll(s, ctx);
            else installPastTop(s, ctx);
            return s;
          }
          if (s.reserving !== undefined) {
            // No failure detection until the session is installed; keepers' answers may be lost.
            askKeepers(s, ctx);
            s.lastProbeAtMs = now;
            return s;
          }
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
          ping(s, ctx, s.active);
          // The standbys too, for their lives: a session installed on one is meant for the life it has.
          for (let i = 0; i < cfg.sequencers.length; i++) if (i !== s.active) ping(s, ctx, i);
          // Routes are resent until acknowledged (the network may lose them).
          for (const i of s.unacked) route(s, ctx, i);
          return s;
        }
        case 'SessionReserved':
          onReserved(s, ctx, msg.asked, msg.keeper, msg.highest);
          return s;
        case 'OumPong': {
          const from = s.pinged.get(msg.seq);
          if (from !== undefined) s.lives[from] = msg.incarnation;
          if (s.locating !== undefined) {
            onLocatePong(s, ctx, msg.seq, msg.sessionNum);
            return s;
          }
          if (from !== s.active || msg.seq < s.activeSinceSeq || s.reserving !== undefined || s.halted) return s;
          s.activeLife ??= msg.incarnation;
          // Alive but without our session, or in it in another life (a late copy of the session's
          // start reached it after a restart, and it numbers the session anew): give it a new one.
          if (msg.sessionNum !== s.sessionNum || msg.incarnation !== s.activeLife) {
            install(s, ctx, s.active, 'sequencer-restarted');
            return s;
          }
          s.lastPongAtMs = ctx.now();
          return s;
        }
        case 'OumRouteAck':
          if (msg.group === cfg.group && msg.sessionNum === s.sessionNum) {
            const i = senderIndex.get(`${msg.sender.host}/${msg.sender.path}`);
            if (i !== undefined) s.unacked.delete(i);
          }
          return s;
        case 'SessionChange':
          if (!s.halted) install(s, ctx, s.active, 'session-change');
          return s;
        case 'Failover':
          if (!s.halted) install(s, ctx, ((s.reserving?.to ?? s.active) + 1) % cfg.sequencers.length, 'failover');
          return s;
        default:
          return assertNever(msg);
      }
    },
  });
}
