// Shared pieces of the actor tests: a scriptable actor that runs test code inside its own turn
// (so a test can use ctx at an exact virtual time) and records what it receives, and a poller
// for real-time tests.
import { behavior, type Behavior, type Ctx, type Msg } from '../../actors/index.ts';

export type ScriptMsg =
  /** Run `fn` inside the actor's turn, with its ctx and state. */
  | { readonly type: 'Run'; readonly fn: (ctx: Ctx<ScriptMsg>, state: number) => void }
  /** Recorded in the log with its arrival time. */
  | { readonly type: 'Note'; readonly tag: string; readonly n?: number }
  /** Makes receive throw. */
  | { readonly type: 'Boom' };

export interface Seen {
  readonly msg: Msg;
  readonly atMs: number;
  readonly incarnation: number;
}

/**
 * An actor whose state counts the messages it handled; it records every Note (and anything it
 * does not know, such as replies and Terminated notices) into `log`.
 */
export function scripted(log: Seen[], extra: Partial<Behavior<number, ScriptMsg>> = {}): Behavior<number, ScriptMsg> {
  return behavior<number, ScriptMsg>({
    init: () => 0,
    receive: (state, msg, ctx) => {
      switch (msg.type) {
        case 'Run':
          msg.fn(ctx, state);
          return state + 1;
        case 'Boom':
          throw new Error('boom');
        default:
          log.push({ msg, atMs: ctx.now(), incarnation: ctx.incarnation });
          return state + 1;
      }
    },
    ...extra,
  });
}

export const run = (fn: (ctx: Ctx<ScriptMsg>, state: number) => void): ScriptMsg => ({ type: 'Run', fn });

export const note = (tag: string, n?: number): ScriptMsg => (n === undefined ? { type: 'Note', tag } : { type: 'Note', tag, n });

/** The tag of a recorded Note (or the type of anything else). */
export const tag = (s: Seen): string => (s.msg as unknown as { tag?: string }).tag ?? s.msg.type;
/** The `n` of a recorded Note. */
export const num = (s: Seen): number | undefined => (s.msg as unknown as { n?: number }).n;
export const tags = (log: readonly Seen[]): string[] => log.map(tag);
/** [tag, arrival time] of each recorded message. */
export const tagsAt = (log: readonly Seen[]): [string, number][] => log.map((s) => [tag(s), s.atMs]);

/** Real-time modes: poll `cond` every few ms until it holds or `maxMs` passes. */
export async function eventually(cond: () => boolean, maxMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${maxMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
