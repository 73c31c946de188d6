// The demo's source: simulated systems paced to the wall clock (pacer.ts), sampled through the
// runtime's rxjs streams (metrics$ on the run's clock, failures, dead letters) and their
// protocol state, with the page's faults applied through the runtime's own calls (crash,
// restart, cut, heal) and the NOPaxos controller's sequencer failover.
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { MetricsSnapshot } from '../actors/index.ts';
import { formatRef } from '../actors/ref.ts';
import { Pacer } from './pacer.ts';
import type { Control, DashboardEvent, Hello, HostSample, LinkSample, Sample } from './protocol.ts';
import { ControlError, type DashboardSource } from './source.ts';
import { processedBy, rate, type SimSystem } from './systems/system.ts';

/** Sample period, on the run's (virtual) clock. */
export const SAMPLE_MS = 250;
/** Samples the speed (run time per wall time) is measured over. */
const SPEED_SAMPLES = 8;
/** Failures of one actor reported per this much run time, at most. */
const FAILURE_REPORT_MS = 1000;

export class SimSource implements DashboardSource {
  readonly updates: Observable<Sample | DashboardEvent>;
  private readonly out = new Subject<Sample | DashboardEvent>();
  private readonly pacer: Pacer;
  /** Subscriptions to each system's streams, by system id. */
  private readonly subs = new Map<string, Subscription[]>();
  private readonly cuts = new Map<string, Set<string>>();
  private readonly systems: SimSystem[];
  private readonly generations: number[];

  /** `makers[i](generation)` builds system i; generation 0 first, then 1, 2... for fresh runs. */
  constructor(private readonly makers: readonly ((generation: number) => SimSystem)[], speed = 1) {
    this.systems = makers.map((make) => make(0));
    this.generations = makers.map(() => 0);
    this.pacer = new Pacer(this.systems.map((s) => s.sim), speed);
    this.updates = this.out.asObservable();
    for (const s of this.systems) this.watch(s);
  }

  start(): void {
    this.pacer.start();
  }

  async stop(): Promise<void> {
    this.pacer.stop();
    for (const list of this.subs.values()) for (const s of list) s.unsubscribe();
    this.out.complete();
    await Promise.all(this.systems.map((s) => s.sim.shutdown()));
  }

  hello(): Hello {
    return {
      type: 'hello', title: 'Switchboard demo',
      mode: 'simulated (deterministic, seeded) and paced to the wall clock: one virtual second per second while the CPU keeps up',
      systems: this.systems.map((s) => s.view),
    };
  }

  control(c: Control): string {
    const s = this.systems.find((x) => x.view.id === c.system);
    if (!s) throw new ControlError(`no system '${c.system}' (systems: ${this.systems.map((x) => x.view.id).join(', ')})`);
    if (!s.view.controls.includes(c.action)) throw new ControlError(`${s.view.title} has no '${c.action}' control`);
    const host = (name: string): { up: boolean } => {
      const h = s.sim.system.hosts.get(name);
      if (!h) throw new ControlError(`${s.view.title} has no host '${name}'`);
      return h;
    };
    let text: string;
    switch (c.action) {
      case 'crash':
        if (!host(c.host).up) throw new ControlError(`${c.host} is down already`);
        s.sim.crash(c.host);
        text = `crashed ${c.host}: its actors lost their state and the network drops everything to and from it`;
        break;
      case 'restart':
        if (host(c.host).up) throw new ControlError(`${c.host} is up: crash it first`);
        s.sim.restart(c.host);
        text = `restarted ${c.host}: its actors start again from init, with nothing they had`;
        break;
      case 'cut': {
        host(c.a);
        host(c.b);
        if (c.a === c.b) throw new ControlError('a link joins two different hosts');
        const cuts = this.cutsOf(s);
        if (cuts.has(pairKey(c.a, c.b))) throw new ControlError(`${c.a} - ${c.b} is cut already`);
        s.sim.cut(c.a, c.b);
        cuts.add(pairKey(c.a, c.b));
        text = `cut the link ${c.a} - ${c.b} (both ways)`;
        break;
      }
      case 'heal':
        s.sim.heal();
        this.cutsOf(s).clear();
        text = 'healed every cut link';
        break;
      case 'fail-sequencer':
        if (!s.failSequencer) throw new ControlError(`${s.view.title} has no sequencer to fail`);
        text = s.failSequencer();
        break;
    }
    this.out.next({ type: 'event', system: s.view.id, atMs: s.sim.now(), level: 'warn', text: `fault from the page: ${text}` });
    return text;
  }

  private cutsOf(s: SimSystem): Set<string> {
    let set = this.cuts.get(s.view.id);
    if (!set) this.cuts.set(s.view.id, (set = new Set()));
    return set;
  }

  /** Replace system i by a fresh run of it (a new simulation, the next generation's seed). */
  private renew(i: number, why: string): void {
    const old = this.systems[i]!;
    const id = old.view.id;
    for (const sub of this.subs.get(id) ?? []) sub.unsubscribe();
    this.subs.delete(id);
    this.cuts.delete(id);
    const next = this.makers[i]!(++this.generations[i]!);
    this.systems[i] = next;
    this.pacer.replace(old.sim, next.sim);
    this.watch(next);
    void old.sim.shutdown();
    this.out.next({ type: 'event', system: id, atMs: 0, level: 'warn', text: `a fresh run started: ${why}` });
  }

  private watch(s: SimSystem): void {
    const id = s.view.id;
    const subs: Subscription[] = [];
    this.subs.set(id, subs);
    const event = (atMs: number, level: DashboardEvent['level'], text: string): void => this.out.next({ type: 'event', system: id, atMs, level, text });
    let failures = 0;
    const lastFailure = new Map<string, number>();
    subs.push(s.sim.failures.subscribe((f) => {
      failures++;
      const who = formatRef(f.actor);
      if (f.atMs - (lastFailure.get(who) ?? -Infinity) < FAILURE_REPORT_MS) return;
      lastFailure.set(who, f.atMs);
      event(f.atMs, 'error', `${who} failed handling ${f.msgType ?? 'a message'}: ${(f.error as Error)?.message ?? String(f.error)}`);
    }));
    // Dead letters: one event when messages start going to a host that cannot take them.
    const deadTo = new Set<string>();
    subs.push(s.sim.deadLetters.subscribe((d) => {
      if (deadTo.has(d.to.host)) return;
      deadTo.add(d.to.host);
      event(s.sim.now(), 'info', `dead letters to ${d.to.host} (${d.reason}), e.g. ${d.msg.type} to ${d.to.path}`);
    }));
    let prev: { snap: MetricsSnapshot; processed: Map<string, number>; links: Map<string, number> } | undefined;
    // (run time, wall time) of recent samples: the speed is measured over them, as samples come in bursts.
    const recent: [number, number][] = [];
    subs.push(s.sim.metrics$(SAMPLE_MS).subscribe((snap) => {
      const wallMs = performance.now();
      recent.push([snap.atMs, wallMs]);
      if (recent.length > SPEED_SAMPLES) recent.shift();
      const [runFrom, wallFrom] = recent[0]!;
      const spanMs = prev ? snap.atMs - prev.snap.atMs : SAMPLE_MS;
      const processed = processedBy(snap, (h) => h);
      const hosts: Record<string, HostSample> = {};
      for (const h of s.view.hosts) {
        const up = s.sim.system.hosts.get(h.name)!.up;
        if (up) deadTo.delete(h.name);
        const mine = snap.actors.filter((a) => a.host === h.name);
        hosts[h.name] = {
          up, msgsPerSec: rate(processed.get(h.name) ?? 0, prev?.processed.get(h.name), spanMs),
          queued: mine.reduce((n, a) => n + a.queueDepth, 0), failures: mine.reduce((n, a) => n + a.failures, 0),
        };
      }
      const { links, sent } = this.links(s, snap, prev?.links, spanMs);
      const protocol = s.protocol(snap, spanMs);
      for (const e of s.events(protocol)) event(e.atMs, e.level, e.text);
      this.out.next({
        type: 'sample', system: id, atMs: snap.atMs, speed: recent.length > 1 ? (snap.atMs - runFrom) / Math.max(1, wallMs - wallFrom) : 1,
        hosts, links, deadLetters: snap.deadLetters, failures, clients: s.meter.take(spanMs), protocol,
      });
      prev = { snap, processed, links: sent };
      const why = s.exhausted?.(protocol);
      // Not from inside the simulation's own step: after it.
      if (why !== undefined) setImmediate(() => { if (this.systems.includes(s)) this.renew(this.systems.indexOf(s), why); });
    }));
  }

  /** Links by host pair, both directions together, with a rate since the last sample. */
  private links(s: SimSystem, snap: MetricsSnapshot, before: Map<string, number> | undefined, spanMs: number): { links: LinkSample[]; sent: Map<string, number> } {
    const sent = new Map<string, number>();
    const dropped = new Map<string, number>();
    for (const l of snap.links) {
      if (l.from === l.to) continue;
      const k = pairKey(l.from, l.to);
      sent.set(k, (sent.get(k) ?? 0) + l.sent);
      dropped.set(k, (dropped.get(k) ?? 0) + Object.values(l.dropped).reduce((a, b) => a + b, 0));
    }
    const cuts = this.cutsOf(s);
    for (const k of cuts) if (!sent.has(k)) sent.set(k, 0);
    const links = [...sent].map(([k, n]) => {
      const [a, b] = k.split('|') as [string, string];
      return { a, b, cut: cuts.has(k), msgsPerSec: rate(n, before?.get(k), spanMs), dropped: dropped.get(k) ?? 0 };
    });
    return { links, sent };
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
