// The source of `switchboard launch --dashboard`: the hosts of a topology file, each a process
// the launcher runs. What is known of them is what the launcher knows: whether each process is
// up, and the counters each prints every second (messages processed, requests served and
// completed, failures, dead letters). A host can be killed (SIGKILL, as a crash) and started
// again with --rejoin from the page.
import { interval, Subject, type Observable, type Subscription } from 'rxjs';
import type { Topology } from '../actors/index.ts';
import type { Launcher, LiveHost } from '../cli/launcher.ts';
import type { Control, DashboardEvent, Hello, HostSample, LaunchProtocol, Sample, SystemView } from './protocol.ts';
import { ControlError, type DashboardSource } from './source.ts';
import { rate } from './systems/system.ts';
import { viewOf } from './systems/view.ts';

/** The children report every second; sampling as often shows each report once. */
const SAMPLE_MS = 1000;
/** Samples the clients' throughput is measured over. */
const RATE_SAMPLES = 3;

const count = (h: LiveHost, key: string): number => (typeof h.status[key] === 'number' ? h.status[key] as number : 0);

export class LaunchSource implements DashboardSource {
  readonly updates: Observable<Sample | DashboardEvent>;
  private readonly out = new Subject<Sample | DashboardEvent>();
  private readonly view: SystemView;
  private readonly t0 = performance.now();
  private sub: Subscription | undefined;
  private prev: { atMs: number; processed: Map<string, number>; states: Map<string, string> } | undefined;
  /** (time, completions) of recent samples: each child reports once a second, not in step with us, so a rate over one sample jumps. */
  private readonly recent: [number, number][] = [];

  /** `hosts`: the hosts the launcher runs (the file's, less those kept for `switchboard kv`). */
  constructor(private readonly launcher: Launcher, topology: Topology, transport: string, hosts: readonly string[]) {
    this.updates = this.out.asObservable();
    const running = new Set(hosts);
    const all = viewOf(topology, {
      id: 'launch', title: `${topology.name} over ${transport}`,
      summary: `every host of the topology file as a process on this machine (${running.size} processes); counters as each reports them every second`,
      switches: [], controls: ['crash', 'restart'],
    });
    this.view = { ...all, hosts: all.hosts.filter((h) => running.has(h.name)) };
  }

  start(): void {
    this.sub = interval(SAMPLE_MS).subscribe(() => this.sample());
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.out.complete();
  }

  hello(): Hello {
    return { type: 'hello', title: 'Switchboard launch', mode: 'processes on loopback, in real time', systems: [this.view] };
  }

  control(c: Control): string {
    if (c.system !== this.view.id) throw new ControlError(`no system '${c.system}' (systems: ${this.view.id})`);
    try {
      switch (c.action) {
        case 'crash':
          this.launcher.killHost(c.host);
          return `killed ${c.host}'s process (SIGKILL)`;
        case 'restart':
          this.launcher.restartHost(c.host);
          return `started ${c.host} again with --rejoin: it recovers its state from its peers`;
        default:
          throw new ControlError(`processes can be killed and restarted here, not '${c.action}'`);
      }
    } catch (err) {
      if (err instanceof ControlError) throw err;
      throw new ControlError((err as Error).message);
    } finally {
      this.sample();
    }
  }

  private sample(): void {
    const atMs = performance.now() - this.t0;
    const live = this.launcher.hostStates();
    const spanMs = this.prev ? atMs - this.prev.atMs : SAMPLE_MS;
    const processed = new Map(live.map((h) => [h.name, count(h, 'processed')]));
    const hosts: Record<string, HostSample> = {};
    for (const h of live) {
      hosts[h.name] = { up: h.state === 'up', msgsPerSec: rate(count(h, 'processed'), this.prev?.processed.get(h.name), spanMs), queued: 0, failures: count(h, 'failures') };
      const before = this.prev?.states.get(h.name);
      if (before !== undefined && before !== h.state) {
        const level = h.state === 'up' ? 'info' : h.state === 'starting' ? 'info' : 'warn';
        this.out.next({ type: 'event', system: this.view.id, atMs, level, text: `${h.name}: ${before} -> ${h.state}${h.pid ? ` (pid ${h.pid})` : ''}` });
      }
    }
    const completed = live.reduce((n, h) => n + count(h, 'completed'), 0);
    const protocol: LaunchProtocol = {
      kind: 'launch',
      hosts: live.map((h) => ({
        host: h.name, role: h.role, state: h.state, pid: h.pid, served: count(h, 'served'), completed: count(h, 'completed'),
        errors: h.errors + count(h, 'failures'), restarts: h.restarts,
      })),
    };
    this.out.next({
      type: 'sample', system: this.view.id, atMs, speed: 1, hosts, links: [],
      deadLetters: live.reduce((n, h) => n + count(h, 'deadLetters'), 0), failures: live.reduce((n, h) => n + count(h, 'failures'), 0),
      // Completions are counted by the client hosts; a restarted client counts from zero again.
      clients: { opsPerSec: rate(completed, this.recent[0]?.[1], atMs - (this.recent[0]?.[0] ?? atMs - spanMs)), meanMs: null, p99Ms: null, completed },
      protocol,
    });
    this.prev = { atMs, processed, states: new Map(live.map((h) => [h.name, h.state])) };
    this.recent.push([atMs, completed]);
    if (this.recent.length > RATE_SAMPLES) this.recent.shift();
  }
}
