// The end-host sequencer of NOPaxos (OSDI 2016, section 3.2): a server, instead of a switch,
// that stamps every message of a multicast group with (sessionNum, msgNum) and sends one copy
// to each member. It implements the OUM contract of messages.ts, as the in-switch sequencer of
// switch-model/ does: msgNum rises by exactly 1 per message of a group within a session and
// starts at 1; a new session (OumStartSession, from the controller) restarts every group's
// counter under a higher session number.
//
// A sequencer without a session (a standby that the controller has not activated) stamps
// nothing: it drops what it gets and counts it.
import { behavior, type Behavior, type Msg } from '../../actors/index.ts';
import type { ActorRef } from '../../actors/index.ts';
import { stamp, type OumControl, type OumMessage, type OumPing, type OumSetGroup, type OumStartSession } from './messages.ts';

/** What a sequencer accepts: its control messages and any message with an `oum` header. */
export type SequencerMsg = OumControl | OumMessage<Msg>;

/**
 * Sim cost model: CPU time per stamped message, plus per copy sent. A software sequencer on a
 * kernel-bypass host handles a few million packets per second; the paper saw it keep up with
 * the switch but add latency (which the link to its host adds here).
 */
export const SEQUENCER_STAMP_MS = 0.0005;
export const SEQUENCER_COPY_MS = 0.0001;
/** Control messages (group changes, sessions, liveness probes). */
export const SEQUENCER_CONTROL_MS = 0.001;

/** Members of one group are bounded, as a switch's multicast group is. */
export const MAX_GROUP_MEMBERS = 64;

export interface HostSequencerConfig {
  /** The session to start in; omit for a standby that waits for OumStartSession. */
  readonly initialSession?: number;
  /** Groups configured from the start (otherwise by OumSetGroup). */
  readonly groups?: readonly { readonly group: number; readonly members: readonly ActorRef<Msg>[] }[];
}

interface Group {
  members: readonly ActorRef<Msg>[];
  /** The msgNum the next message of this group gets. */
  nextMsgNum: number;
}

export interface HostSequencerState {
  /** -1 while the sequencer has no session (a standby). */
  sessionNum: number;
  readonly groups: Map<number, Group>;
  stamped: number;
  /** Messages dropped, by reason (no session, unknown group, bad header). */
  readonly dropped: Record<string, number>;
}

export function hostSequencer(cfg: HostSequencerConfig = {}): Behavior<HostSequencerState, SequencerMsg> {
  if (cfg.initialSession !== undefined && !(Number.isInteger(cfg.initialSession) && cfg.initialSession >= 0)) {
    throw new RangeError(`initialSession must be an integer >= 0, got ${cfg.initialSession}`);
  }
  let lastCopies = 0;
  return behavior<HostSequencerState, SequencerMsg>({
    init: (ctx) => {
      const groups = new Map<number, Group>();
      for (const g of cfg.groups ?? []) groups.set(g.group, { members: checkMembers(g.members), nextMsgNum: 1 });
      // A sequencer that restarted has lost its counters: stamping its old session again would
      // make msgNum go back. It comes back without a session, until the controller starts one.
      const sessionNum = ctx.incarnation === 0 ? cfg.initialSession ?? -1 : -1;
      return { sessionNum, groups, stamped: 0, dropped: {} };
    },
    receive: (state, msg, ctx) => {
      lastCopies = -1;
      switch (msg.type) {
        case 'OumSetGroup': return onSetGroup(state, msg as OumSetGroup);
        case 'OumStartSession': return onStartSession(state, msg as OumStartSession, ctx.incarnation, ctx.log);
        case 'OumPing': {
          const ping = msg as OumPing;
          ctx.send(ping.replyTo, { type: 'OumPong', seq: ping.seq, sessionNum: state.sessionNum, incarnation: ctx.incarnation });
          return state;
        }
        default: {
          const m = msg as OumMessage<Msg>;
          const h = m.oum as OumMessage<Msg>['oum'] | undefined;
          if (h === undefined || typeof h !== 'object' || !Number.isInteger(h.group)) return drop(state, 'no-header');
          if (state.sessionNum < 0) return drop(state, 'no-session');
          const g = state.groups.get(h.group);
          if (!g) return drop(state, 'unknown-group');
          const stamped = stamp(m, state.sessionNum, g.nextMsgNum);
          g.nextMsgNum++;
          for (const member of g.members) ctx.send(member, stamped);
          state.stamped++;
          lastCopies = g.members.length;
          return state;
        }
      }
    },
    serviceTimeMs: () => (lastCopies < 0 ? SEQUENCER_CONTROL_MS : SEQUENCER_STAMP_MS + lastCopies * SEQUENCER_COPY_MS),
  });
}

function onSetGroup(state: HostSequencerState, msg: OumSetGroup): HostSequencerState {
  if (msg.members.length > MAX_GROUP_MEMBERS) return drop(state, 'too-many-members');
  const existing = state.groups.get(msg.group);
  // Changing the members keeps the counter: receivers must not see msgNum go back in a session.
  if (existing) existing.members = [...msg.members];
  else state.groups.set(msg.group, { members: [...msg.members], nextMsgNum: 1 });
  return state;
}

function onStartSession(state: HostSequencerState, msg: OumStartSession, life: number, log: { warn: (o: object, s: string) => void }): HostSequencerState {
  // Meant for this sequencer before a restart: the session may be one it stamped in already. A
  // start that names no life is meant for the first (its sender had heard no pong yet).
  if ((msg.incarnation ?? 0) !== life) return drop(state, 'session-for-another-life');
  if (!(msg.sessionNum > state.sessionNum)) {
    // A session number that does not rise would let receivers mix two sessions' numbering.
    log.warn({ current: state.sessionNum, asked: msg.sessionNum }, 'OumStartSession ignored: the session must rise');
    return drop(state, 'session-not-higher');
  }
  state.sessionNum = msg.sessionNum;
  for (const g of state.groups.values()) g.nextMsgNum = 1;
  return state;
}

function drop(state: HostSequencerState, reason: string): HostSequencerState {
  state.dropped[reason] = (state.dropped[reason] ?? 0) + 1;
  return state;
}

function checkMembers(members: readonly ActorRef<Msg>[]): readonly ActorRef<Msg>[] {
  if (members.length > MAX_GROUP_MEMBERS) throw new RangeError(`a group has at most ${MAX_GROUP_MEMBERS} members, got ${members.length}`);
  return [...members];
}
