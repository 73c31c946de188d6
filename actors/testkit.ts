// The test kit: probes that stand in for actors and assert on what they receive, scripted
// network filters, and helpers to drive virtual time. In sim mode a probe's wait advances
// virtual time (deterministically, instantly); in real-time modes it waits on the clock.
import { behavior } from './behavior.ts';
import type { ActorRef, Msg } from './ref.ts';
import { formatRef } from './ref.ts';
import type { Runtime } from './runtime.ts';
import { SimRuntime } from './sim.ts';
import type { Envelope } from '../transport/types.ts';
import type { FilterInfo, FilterVerdict, PacketFilter } from '../transport/memory/sim-network.ts';

export interface Received<M> {
  readonly msg: M;
  readonly atMs: number;
}

export type Match<M> = string | ((msg: M) => boolean);

export class ProbeTimeoutError extends Error {
  override readonly name = 'ProbeTimeoutError';
}

let probeCount = 0;

export class Probe<M extends Msg> {
  readonly ref: ActorRef<M>;
  private readonly inbox: Received<M>[] = [];
  private wake: (() => void) | undefined;

  /** A probe actor on `host` (it lives at `probe/<name>`). */
  constructor(private readonly runtime: Runtime, host: string, name = `p${++probeCount}`) {
    const inbox = this.inbox;
    this.ref = runtime.spawn(host, `probe/${name}`, behavior<null, M>({
      init: () => null,
      receive: (state, msg, ctx) => {
        inbox.push({ msg, atMs: ctx.now() });
        this.wake?.();
        return state;
      },
    }));
  }

  /** Messages received and not yet taken by an expectation. */
  get pending(): readonly Received<M>[] {
    return this.inbox;
  }

  /** Wait (virtual time in sim) for the first pending message that matches; it is taken. */
  async expectMsg(match?: Match<M>, withinMs = 1000): Promise<M> {
    const pick = (): number => this.inbox.findIndex((r) => matches(match, r.msg));
    const found = await this.waitFor(() => pick() >= 0, withinMs);
    if (!found) {
      const seen = this.inbox.map((r) => r.msg.type).join(', ') || 'nothing';
      throw new ProbeTimeoutError(`${formatRef(this.ref)}: no message${describe(match)} within ${withinMs} ms (pending: ${seen})`);
    }
    return this.inbox.splice(pick(), 1)[0]!.msg;
  }

  /** Take `n` messages in order of arrival. */
  async receiveN(n: number, withinMs = 1000): Promise<M[]> {
    const ok = await this.waitFor(() => this.inbox.length >= n, withinMs);
    if (!ok) throw new ProbeTimeoutError(`${formatRef(this.ref)}: ${this.inbox.length} of ${n} messages within ${withinMs} ms`);
    return this.inbox.splice(0, n).map((r) => r.msg);
  }

  /** Assert that no (matching) message arrives for `forMs`. */
  async expectNoMsg(forMs: number, match?: Match<M>): Promise<void> {
    const hit = (): boolean => this.inbox.some((r) => matches(match, r.msg));
    if (await this.waitFor(hit, forMs)) {
      const r = this.inbox.find((x) => matches(match, x.msg))!;
      throw new Error(`${formatRef(this.ref)}: expected no message${describe(match)} for ${forMs} ms, got ${JSON.stringify(r.msg)}`);
    }
  }

  private async waitFor(cond: () => boolean, withinMs: number): Promise<boolean> {
    if (cond()) return true;
    const rt = this.runtime;
    if (rt instanceof SimRuntime) {
      return rt.runUntil(cond, withinMs);
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(cond()); }, withinMs);
      this.wake = () => {
        if (cond()) {
          clearTimeout(timer);
          this.wake = undefined;
          resolve(true);
        }
      };
    });
  }
}

export function probe<M extends Msg>(runtime: Runtime, host: string, name?: string): Probe<M> {
  return new Probe<M>(runtime, host, name);
}

function matches<M extends Msg>(match: Match<M> | undefined, msg: M): boolean {
  if (match === undefined) return true;
  return typeof match === 'string' ? msg.type === match : match(msg);
}

function describe(match: unknown): string {
  return typeof match === 'string' ? ` of type '${match}'` : match ? ' matching' : '';
}

// ---- scripted network filters --------------------------------------------------------------

export interface EnvelopeMatch {
  readonly type?: string;
  readonly fromHost?: string;
  readonly toHost?: string;
  readonly where?: (env: Envelope, info: FilterInfo) => boolean;
}

function envelopeMatches(m: EnvelopeMatch, env: Envelope, info: FilterInfo): boolean {
  return (m.type === undefined || env.msg.type === m.type)
    && (m.fromHost === undefined || info.fromHost === m.fromHost)
    && (m.toHost === undefined || info.toHost === m.toHost)
    && (m.where === undefined || m.where(env, info));
}

/** Drop the `nth` (1-based) matching envelope, or all of them when nth is omitted. */
export function dropMatching(m: EnvelopeMatch, nth?: number): PacketFilter {
  let seen = 0;
  return (env, info): FilterVerdict => {
    if (!envelopeMatches(m, env, info)) return 'deliver';
    seen++;
    return nth === undefined || seen === nth ? 'drop' : 'deliver';
  };
}

/** Delay every matching envelope by `delayMs`. */
export function delayMatching(m: EnvelopeMatch, delayMs: number): PacketFilter {
  return (env, info) => (envelopeMatches(m, env, info) ? { delayMs } : 'deliver');
}
