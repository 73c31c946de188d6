// Ping-pong: the pinger keeps up to `window` pings in flight until `count` have been answered,
// resending any ping unanswered after `retryMs` (so it finishes over a lossy network too) and
// measuring round trips; the ponger answers every ping. Duplicate pongs are ignored.
import { assertNever, behavior, type ActorRef, type Behavior } from '../../actors/index.ts';
import type { PingerMsg, PongerMsg } from './messages.ts';

export interface PingerConfig {
  readonly ponger: ActorRef<PongerMsg>;
  /** Pings to get answered. */
  readonly count: number;
  /** Pings in flight at once. */
  readonly window: number;
  readonly retryMs: number;
}

export interface PingerState {
  readonly nextSeq: number;
  /** seq -> time first sent */
  readonly inFlight: Map<number, number>;
  readonly answered: number;
  readonly resent: number;
  readonly duplicates: number;
  readonly rttSumMs: number;
  readonly rttMaxMs: number;
  readonly startedAtMs: number;
  readonly finishedAtMs: number | undefined;
}

export function pinger(cfg: PingerConfig): Behavior<PingerState, PingerMsg> {
  if (!(cfg.count > 0) || !(cfg.window > 0) || !(cfg.retryMs > 0)) throw new RangeError('pinger: count, window and retryMs must be > 0');
  return behavior<PingerState, PingerMsg>({
    init: (ctx) => {
      // Start on a message rather than in init, so that every mode can start it the same way.
      ctx.send(ctx.self, { type: 'Start' });
      return {
        nextSeq: 0, inFlight: new Map(), answered: 0, resent: 0, duplicates: 0,
        rttSumMs: 0, rttMaxMs: 0, startedAtMs: ctx.now(), finishedAtMs: undefined,
      };
    },
    receive: (state, msg, ctx) => {
      switch (msg.type) {
        case 'Start': {
          let s = { ...state, startedAtMs: ctx.now() };
          while (s.inFlight.size < cfg.window && s.nextSeq < cfg.count) s = sendNext(s, cfg, ctx);
          ctx.startTimer('retry', cfg.retryMs, { type: 'RetryTimeout' }, { repeat: true });
          return s;
        }
        case 'Pong': {
          const sentAt = state.inFlight.get(msg.seq);
          if (sentAt === undefined) return { ...state, duplicates: state.duplicates + 1 };
          state.inFlight.delete(msg.seq);
          const rttMs = ctx.now() - sentAt;
          let s: PingerState = {
            ...state, answered: state.answered + 1, rttSumMs: state.rttSumMs + rttMs, rttMaxMs: Math.max(state.rttMaxMs, rttMs),
          };
          while (s.inFlight.size < cfg.window && s.nextSeq < cfg.count) s = sendNext(s, cfg, ctx);
          if (s.answered === cfg.count) {
            ctx.cancelTimer('retry');
            ctx.log.info({ answered: s.answered }, 'all pings answered');
            s = { ...s, finishedAtMs: ctx.now() };
          }
          return s;
        }
        case 'RetryTimeout': {
          const now = ctx.now();
          let resent = 0;
          for (const [seq, sentAt] of state.inFlight) {
            if (now - sentAt >= cfg.retryMs) {
              ctx.send(cfg.ponger, { type: 'Ping', seq, replyTo: ctx.self });
              resent++;
            }
          }
          return resent ? { ...state, resent: state.resent + resent } : state;
        }
        default:
          return assertNever(msg);
      }
    },
  });
}

function sendNext(s: PingerState, cfg: PingerConfig, ctx: { now(): number; self: ActorRef<PingerMsg>; send: (to: ActorRef<PongerMsg>, m: PongerMsg) => void }): PingerState {
  const seq = s.nextSeq;
  s.inFlight.set(seq, ctx.now());
  ctx.send(cfg.ponger, { type: 'Ping', seq, replyTo: ctx.self });
  return { ...s, nextSeq: seq + 1 };
}

export interface PongerState {
  readonly answered: number;
}

export function ponger(): Behavior<PongerState, PongerMsg> {
  return behavior<PongerState, PongerMsg>({
    init: () => ({ answered: 0 }),
    receive: (state, msg, ctx) => {
      ctx.send(msg.replyTo, { type: 'Pong', seq: msg.seq });
      return { answered: state.answered + 1 };
    },
  });
}
