// The OUM receiver library (NOPaxos, section 3): what a group member does with stamped
// messages. Plain functions over plain state, no actor: a protocol embeds it in its own state.
//
// Within the session it listens to, the receiver hands out messages in msgNum order. A jump in
// msgNum means the network lost messages: the receiver reports a DROP-NOTIFICATION for each
// missing number. A message of a higher session means the sequencer was replaced: the receiver
// reports SESSION-TERMINATED (the old session's tail may be lost without notice) and keeps the
// new session's messages until the protocol calls `listen(session, msgNum)`.
//
// Two ways to use it:
//  - `receive(r, msg)`: plain OUM. Every event at once; a drop notification is final (the
//    receiver moves past the missing number).
//  - `offer` / `nextEvent` / `skip`: for a protocol that resolves drops itself (NOPaxos gap
//    agreement may still find the "dropped" message elsewhere, or the network may only have
//    reordered it). `nextEvent` reports the first missing number until the protocol says it
//    is resolved (`skip`) or the message arrives after all.
import type { Msg } from '../../actors/index.ts';
import type { OumMessage } from './messages.ts';

export type OumEvent<M extends Msg> =
  | { readonly type: 'Deliver'; readonly msg: OumMessage<M> }
  | { readonly type: 'DropNotification'; readonly sessionNum: number; readonly msgNum: number }
  | { readonly type: 'SessionTerminated'; readonly sessionNum: number };

export type OfferOutcome = 'buffered' | 'stale' | 'duplicate' | 'newer-session' | 'overflow';

export interface OumReceiverStats {
  delivered: number;
  stale: number;
  duplicates: number;
  dropNotifications: number;
  overflow: number;
}

export interface OumReceiver<M extends Msg> {
  /** The session listened to. */
  sessionNum: number;
  /** The msgNum expected next in it. */
  nextMsgNum: number;
  /** Messages of the current session beyond nextMsgNum, by msgNum. */
  readonly buffer: Map<number, OumMessage<M>>;
  /** Messages of higher sessions, by session, until `listen` moves to one of them. */
  readonly future: Map<number, OumMessage<M>[]>;
  futureCount: number;
  /** Bound on buffer + future: beyond it new messages are dropped (and counted). */
  readonly maxBuffered: number;
  readonly stats: OumReceiverStats;
}

export const DEFAULT_MAX_BUFFERED = 10_000;

export function createReceiver<M extends Msg>(sessionNum: number, nextMsgNum = 1, maxBuffered = DEFAULT_MAX_BUFFERED): OumReceiver<M> {
  check(Number.isInteger(sessionNum) && sessionNum >= 0, `sessionNum must be an integer >= 0, got ${sessionNum}`);
  check(Number.isInteger(nextMsgNum) && nextMsgNum >= 1, `nextMsgNum must be an integer >= 1, got ${nextMsgNum}`);
  check(maxBuffered > 0, 'maxBuffered must be > 0');
  return {
    sessionNum, nextMsgNum, buffer: new Map(), future: new Map(), futureCount: 0, maxBuffered,
    stats: { delivered: 0, stale: 0, duplicates: 0, dropNotifications: 0, overflow: 0 },
  };
}

/** Take a stamped message in; it waits until `nextEvent` hands it out. */
export function offer<M extends Msg>(r: OumReceiver<M>, msg: OumMessage<M>): OfferOutcome {
  const { sessionNum, msgNum } = msg.oum;
  if (sessionNum < r.sessionNum || (sessionNum === r.sessionNum && msgNum < r.nextMsgNum)) {
    r.stats.stale++;
    return 'stale';
  }
  if (r.buffer.size + r.futureCount >= r.maxBuffered) {
    r.stats.overflow++;
    return 'overflow';
  }
  if (sessionNum > r.sessionNum) {
    let list = r.future.get(sessionNum);
    if (!list) r.future.set(sessionNum, (list = []));
    list.push(msg);
    r.futureCount++;
    return 'newer-session';
  }
  if (r.buffer.has(msgNum)) {
    r.stats.duplicates++;
    return 'duplicate';
  }
  r.buffer.set(msgNum, msg);
  return 'buffered';
}

/**
 * The next thing the protocol should act on, or undefined when nothing is waiting:
 * the next message in order (consumed), else SESSION-TERMINATED if a higher session has been
 * seen, else a DROP-NOTIFICATION for `nextMsgNum` when later messages are waiting (not
 * consumed: it is reported again until `skip` or the message itself resolves it).
 */
export function nextEvent<M extends Msg>(r: OumReceiver<M>): OumEvent<M> | undefined {
  const msg = r.buffer.get(r.nextMsgNum);
  if (msg !== undefined) {
    r.buffer.delete(r.nextMsgNum);
    r.nextMsgNum++;
    r.stats.delivered++;
    return { type: 'Deliver', msg };
  }
  if (r.futureCount > 0) return { type: 'SessionTerminated', sessionNum: highestFuture(r) };
  if (r.buffer.size > 0) return { type: 'DropNotification', sessionNum: r.sessionNum, msgNum: r.nextMsgNum };
  return undefined;
}

/** The protocol resolved `msgNum` (the next expected) without the message: move past it. */
export function skip<M extends Msg>(r: OumReceiver<M>, msgNum: number): void {
  check(msgNum === r.nextMsgNum, `skip(${msgNum}) but ${r.nextMsgNum} is expected next`);
  r.buffer.delete(msgNum);
  r.nextMsgNum++;
  r.stats.dropNotifications++;
}

/**
 * The protocol learned (by other means, e.g. state transfer) every message of the current
 * session before `nextMsgNum`: move there, forgetting what is buffered below it.
 */
export function advanceTo<M extends Msg>(r: OumReceiver<M>, nextMsgNum: number): void {
  if (nextMsgNum <= r.nextMsgNum) return;
  if (r.buffer.size > 0) {
    if (nextMsgNum - r.nextMsgNum < r.buffer.size) {
      for (let n = r.nextMsgNum; n < nextMsgNum; n++) r.buffer.delete(n);
    } else {
      for (const n of [...r.buffer.keys()]) if (n < nextMsgNum) r.buffer.delete(n);
    }
  }
  r.nextMsgNum = nextMsgNum;
}

/**
 * After a view change: listen to `sessionNum` from `nextMsgNum` on. Waiting messages of that
 * session are kept (from nextMsgNum on), those of lower sessions dropped, those of higher ones
 * kept for a later session change.
 */
export function listen<M extends Msg>(r: OumReceiver<M>, sessionNum: number, nextMsgNum: number): void {
  check(Number.isInteger(nextMsgNum) && nextMsgNum >= 1, `nextMsgNum must be an integer >= 1, got ${nextMsgNum}`);
  if (sessionNum === r.sessionNum) {
    if (nextMsgNum >= r.nextMsgNum) return advanceTo(r, nextMsgNum);
    // Going back within a session (a rewound log): messages consumed since are gone; the
    // protocol gets them again through gap agreement or state transfer.
    r.nextMsgNum = nextMsgNum;
    return;
  }
  check(sessionNum > r.sessionNum, `listen: session ${sessionNum} is older than ${r.sessionNum}`);
  r.buffer.clear();
  r.sessionNum = sessionNum;
  r.nextMsgNum = nextMsgNum;
  for (const [s, list] of [...r.future]) {
    if (s > sessionNum) continue;
    r.future.delete(s);
    r.futureCount -= list.length;
    if (s < sessionNum) {
      r.stats.stale += list.length;
      continue;
    }
    for (const m of list) {
      if (m.oum.msgNum >= nextMsgNum && !r.buffer.has(m.oum.msgNum)) r.buffer.set(m.oum.msgNum, m);
      else r.stats.stale++;
    }
  }
}

/**
 * Plain OUM: take `msg` in and return every event it causes. A gap gives one
 * DROP-NOTIFICATION per missing msgNum, and the receiver moves past them for good.
 */
export function receive<M extends Msg>(r: OumReceiver<M>, msg: OumMessage<M>): OumEvent<M>[] {
  offer(r, msg);
  const events: OumEvent<M>[] = [];
  for (;;) {
    const ev = nextEvent(r);
    if (ev === undefined) return events;
    events.push(ev);
    if (ev.type === 'DropNotification') skip(r, ev.msgNum);
    else if (ev.type === 'SessionTerminated') return events;
  }
}

/** Messages waiting (current session beyond the gap, plus newer sessions). */
export function waiting<M extends Msg>(r: OumReceiver<M>): number {
  return r.buffer.size + r.futureCount;
}

function highestFuture<M extends Msg>(r: OumReceiver<M>): number {
  let max = -1;
  for (const s of r.future.keys()) if (s > max) max = s;
  return max;
}

function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`OUM receiver: ${what}`);
}
