// The launcher behind `switchboard launch`: every host of a topology file as a child process
// (`switchboard node`), their output merged with a host prefix, a live status line, crashes
// reported with their exit and last stderr lines, and a clean stop: SIGTERM to every child, then
// SIGKILL to whatever is left after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TransportName } from '../actors/topology-file.ts';

export const BIN = fileURLToPath(new URL('../bin/switchboard.mjs', import.meta.url));

/** Stderr lines kept per host, to show when it crashes. */
const STDERR_TAIL_LINES = 12;
/** How often children report their counters. */
const CHILD_STATUS_MS = 1000;
/** pino's numeric levels. */
const PINO_WARN = 40;
const PINO_ERROR = 50;

export interface LaunchHost {
  readonly name: string;
  readonly role?: string;
  readonly address: string;
  readonly port: number;
}

export interface LaunchOptions {
  /** The topology's name, for display. */
  readonly name: string;
  readonly transport: TransportName;
  /** The topology file each child runs (`node --topology FILE --host NAME`). */
  readonly file: string;
  readonly hosts: readonly LaunchHost[];
  /** Status line period; 0 for none. */
  readonly statusEveryMs: number;
  /** Time children get between SIGTERM and SIGKILL. */
  readonly graceMs: number;
  /** Stop after this long even if jobs are unfinished. */
  readonly timeoutMs?: number;
  /** Where the children's stdout lines go (their stderr lines and ours go to `err`). */
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  /** Redraw one status line in place (a terminal) rather than print status lines. */
  readonly tty: boolean;
  readonly env?: Record<string, string>;
}

/** One host as the dashboard shows it. */
export interface LiveHost {
  readonly name: string;
  readonly role: string;
  readonly pid: number | null;
  /** 'starting', 'up', or how its process ended. */
  readonly state: string;
  readonly status: Record<string, unknown>;
  readonly errors: number;
  readonly restarts: number;
}

export type HostOutcome = 'finished' | 'stopped' | 'crashed' | 'exited' | 'killed' | 'interrupted';

export interface HostResult {
  readonly role?: string;
  readonly pid?: number;
  /** How the process ended. */
  readonly outcome: HostOutcome;
  /** Whether the host had a job (known once it was ready). */
  readonly job?: boolean;
  readonly finished?: Record<string, unknown>;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly status?: Record<string, unknown>;
  readonly lastStderr?: string[];
}

export interface LaunchResult {
  readonly topology: string;
  readonly transport: TransportName;
  readonly exitCode: number;
  readonly reason: string;
  readonly wallMs: number;
  readonly crashed: string[];
  readonly hosts: Record<string, HostResult>;
}

interface Child {
  readonly spec: LaunchHost;
  readonly proc: ChildProcess;
  readonly startedAt: number;
  ready: boolean;
  job: boolean | undefined;
  finished: Record<string, unknown> | undefined;
  status: Record<string, unknown> | undefined;
  tail: string[];
  errorLines: number;
  warnLines: number;
  exited: { code: number | null; signal: string | null } | undefined;
  outcome: HostOutcome | undefined;
  killedAfterGrace: boolean;
}

type StopReason = 'jobs' | 'ended' | 'signal' | 'timeout';

export class Launcher {
  private readonly children = new Map<string, Child>();
  /** Times each host was started again on request. */
  private readonly restarts = new Map<string, number>();
  private readonly t0 = performance.now();
  private readonly width: number;
  private stopping: StopReason | undefined;
  private stopSignal = '';
  private statusTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private statusShown = false;
  private lastStatus = '';
  private resolveDone!: (r: LaunchResult) => void;
  readonly done: Promise<LaunchResult> = new Promise((resolve) => { this.resolveDone = resolve; });

  constructor(private readonly opts: LaunchOptions) {
    if (opts.hosts.length === 0) throw new Error('launch: no hosts');
    this.width = Math.max(...opts.hosts.map((h) => h.name.length));
  }

  /** Start every host; `done` resolves once all of them have exited. */
  start(): void {
    const o = this.opts;
    this.say(`${o.name} over ${o.transport}: starting ${o.hosts.length} hosts on loopback `
      + `(${o.hosts.map((h) => `${h.name} ${h.address}:${h.port}`).join(', ')})`);
    for (const spec of o.hosts) this.spawnHost(spec);
    if (o.statusEveryMs > 0) this.statusTimer = setInterval(() => this.showStatus(), o.statusEveryMs);
    if (o.timeoutMs !== undefined) {
      this.timeoutTimer = setTimeout(() => {
        this.say(`timeout: ${(o.timeoutMs! / 1000).toFixed(1)} s passed`);
        this.stop('timeout');
      }, o.timeoutMs);
    }
  }

  /** Stop every host: SIGTERM, then SIGKILL after the grace period. A second call kills at once. */
  stop(reason: StopReason, signal = ''): void {
    if (this.stopping) {
      if (reason === 'signal') {
        this.say(`${signal} again: killing every host now`);
        this.killAll();
      }
      return;
    }
    this.stopping = reason;
    this.stopSignal = signal;
    const live = this.live();
    if (live.length) {
      this.say(`stopping ${live.map((c) => c.spec.name).join(', ')} (SIGTERM; SIGKILL after ${(this.opts.graceMs / 1000).toFixed(1)} s)`);
    }
    for (const c of live) c.proc.kill('SIGTERM');
    this.graceTimer = setTimeout(() => {
      const left = this.live();
      if (!left.length) return;
      this.say(`${left.map((c) => c.spec.name).join(', ')} did not stop within ${(this.opts.graceMs / 1000).toFixed(1)} s: SIGKILL`);
      for (const c of left) c.killedAfterGrace = true;
      this.killAll();
    }, this.opts.graceMs);
    this.maybeDone();
  }

  /** Every host as it is now, for a live view (the dashboard): its process, state and last status counters. */
  hostStates(): LiveHost[] {
    return [...this.children.values()].map((c) => ({
      name: c.spec.name, role: c.spec.role ?? 'host', pid: c.proc.pid ?? null,
      state: c.exited ? (c.outcome ?? 'exited') : c.ready ? 'up' : 'starting',
      status: c.status ?? {}, errors: c.errorLines, restarts: this.restarts.get(c.spec.name) ?? 0,
    }));
  }

  /** Kill one host's process with SIGKILL, as a crash would (from the dashboard). */
  killHost(name: string): void {
    const c = this.children.get(name);
    if (!c) throw new Error(`no host '${name}'`);
    if (c.exited) throw new Error(`${name} is not running`);
    if (this.stopping) throw new Error('the launch is stopping');
    this.say(`killing ${name} (pid ${c.proc.pid ?? '?'}) on request`);
    c.proc.kill('SIGKILL');
  }

  /** Start a host whose process ended again, with --rejoin: it recovers its state from its peers. */
  restartHost(name: string): void {
    const c = this.children.get(name);
    if (!c) throw new Error(`no host '${name}'`);
    if (!c.exited) throw new Error(`${name} is running`);
    if (this.stopping) throw new Error('the launch is stopping');
    this.restarts.set(name, (this.restarts.get(name) ?? 0) + 1);
    this.spawnHost(c.spec, true);
  }

  /** Pids of the children, for whoever needs to check on them. */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.children].map(([h, c]) => [h, c.proc.pid]));
  }

  private killAll(): void {
    for (const c of this.live()) c.proc.kill('SIGKILL');
  }

  private live(): Child[] {
    return [...this.children.values()].filter((c) => !c.exited);
  }

  private spawnHost(spec: LaunchHost, rejoin = false): void {
    const args = [BIN, 'node', '--topology', this.opts.file, '--host', spec.name,
      '--status-every', String(CHILD_STATUS_MS), '--parent-pid', String(process.pid), ...(rejoin ? ['--rejoin'] : [])];
    const proc = spawn(process.execPath, args, { env: { ...process.env, ...this.opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const c: Child = {
      spec, proc, startedAt: performance.now(), ready: false, job: undefined, finished: undefined, status: undefined,
      tail: [], errorLines: 0, warnLines: 0, exited: undefined, outcome: undefined, killedAfterGrace: false,
    };
    this.children.set(spec.name, c);
    this.say(`${spec.name}${spec.role ? ` (${spec.role})` : ''} started, pid ${proc.pid ?? '?'}`);
    // Both streams must be read to their end before the exit is handled, or the last lines
    // (often the reason for a crash) would be lost.
    const closed = [proc.stdout!, proc.stderr!].map((stream, i) => new Promise<void>((resolve) => {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => (i === 0 ? this.onStdout(c, line) : this.onStderr(c, line)));
      rl.on('close', resolve);
    }));
    let spawnError: Error | undefined;
    proc.on('error', (err) => { spawnError = err; });
    proc.on('close', (code, signal) => {
      void Promise.all(closed).then(() => {
        if (spawnError && c.tail.length === 0) c.tail.push(spawnError.message);
        this.onExit(c, code, signal);
      });
    });
  }

  private onStdout(c: Child, line: string): void {
    let ev: Record<string, unknown> | undefined;
    if (line.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object' && typeof (parsed as { event?: unknown }).event === 'string') ev = parsed as Record<string, unknown>;
      } catch {
        // not an event: printed as it is
      }
    }
    if (ev?.event === 'status') {
      c.status = ev;
      return;
    }
    if (ev?.event === 'ready') {
      c.ready = true;
      c.job = ev.job === true;
    } else if (ev?.event === 'finished') {
      c.finished = Object.fromEntries(Object.entries(ev).filter(([k]) => k !== 'event' && k !== 'host'));
    }
    this.print(this.opts.out, `${this.prefix(c)}${line}`);
    if (ev?.event === 'ready' || ev?.event === 'finished') {
      this.showStatus(true);
      this.checkJobs();
    }
  }

  private onStderr(c: Child, line: string): void {
    c.tail.push(line);
    if (c.tail.length > STDERR_TAIL_LINES) c.tail.shift();
    const level = /^\{"level":(\d+)/.exec(line);
    if (level) {
      const n = Number(level[1]);
      if (n >= PINO_ERROR) c.errorLines++;
      else if (n >= PINO_WARN) c.warnLines++;
    } else if (/^error\b/i.test(line)) {
      c.errorLines++;
    }
    this.print(this.opts.err, `${this.prefix(c)}${line}`);
  }

  private onExit(c: Child, code: number | null, signal: NodeJS.Signals | null): void {
    c.exited = { code, signal };
    const ranMs = performance.now() - c.startedAt;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (this.stopping) {
      if (c.killedAfterGrace) c.outcome = 'killed';
      else if (code !== 0 && !(signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGKILL')) c.outcome = 'crashed';
      else c.outcome = c.finished ? 'finished' : 'stopped';
    } else if (signal === 'SIGINT') {
      c.outcome = 'interrupted';
    } else if (code === 0 && !signal) {
      c.outcome = c.finished ? 'finished' : 'exited';
    } else {
      c.outcome = 'crashed';
    }
    if (c.outcome === 'crashed') {
      this.say(`host ${c.spec.name} CRASHED: ${how} after ${(ranMs / 1000).toFixed(1)} s (pid ${c.proc.pid}). `
        + (c.tail.length ? 'Last stderr lines:' : 'It wrote nothing on stderr.'));
      for (const l of c.tail) this.say(`  | ${l}`);
    } else if (!this.stopping) {
      this.say(`host ${c.spec.name} ended (${how}) before it was asked to stop`);
    }
    if (c.outcome === 'crashed' && !c.ready && !this.stopping) {
      // It never came up (a port in use, a bad certificate, ...): the cluster cannot form.
      this.say(`host ${c.spec.name} failed to start: stopping the others`);
      this.stop('ended');
    }
    this.showStatus(true);
    this.checkJobs();
    this.maybeDone();
  }

  /** Once every host with a job has finished it (or ended), stop the rest. */
  private checkJobs(): void {
    if (this.stopping) return;
    const all = [...this.children.values()];
    if (all.every((c) => c.exited)) {
      this.stop('ended');
      return;
    }
    // Every host must have said whether it has a job, unless it has ended.
    if (!all.every((c) => c.ready || c.exited)) return;
    const jobs = all.filter((c) => c.job);
    if (jobs.length === 0) return;
    if (jobs.every((c) => c.finished || c.exited)) {
      const finished = jobs.filter((c) => c.finished).length;
      this.say(`${finished} of ${jobs.length} host${jobs.length > 1 ? 's' : ''} with a job finished it`);
      this.stop('jobs');
    }
  }

  private maybeDone(): void {
    if (!this.stopping || this.live().length) return;
    clearInterval(this.statusTimer);
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.graceTimer);
    this.clearStatus();
    const result = this.result();
    for (const [name, h] of Object.entries(result.hosts)) {
      const { transportStats: _stats, ...summary } = h.finished ?? {};
      const how = h.outcome === 'finished' ? 'finished its job' : h.outcome;
      this.say(`${name}: ${how}${h.finished ? ` ${JSON.stringify(summary)}` : ''}`);
    }
    this.say(`totals: ${this.statusLine(true)}`);
    this.say(`done in ${(result.wallMs / 1000).toFixed(1)} s: ${result.reason} (exit ${result.exitCode})`);
    this.resolveDone(result);
  }

  private result(): LaunchResult {
    const all = [...this.children.values()];
    const crashed = all.filter((c) => c.outcome === 'crashed').map((c) => c.spec.name);
    const jobs = all.filter((c) => c.job);
    const allJobsDone = jobs.every((c) => c.finished);
    let exitCode: number;
    let reason: string;
    if (crashed.length) {
      exitCode = 1;
      reason = `${crashed.join(', ')} crashed`;
    } else if (jobs.length && allJobsDone) {
      exitCode = 0;
      reason = 'every host with a job finished it';
    } else if (this.stopping === 'signal') {
      exitCode = allJobsDone && all.every((c) => c.ready) ? 0 : 130;
      reason = `stopped by ${this.stopSignal}${exitCode ? ' before every job finished' : ''}`;
    } else if (this.stopping === 'timeout') {
      exitCode = 1;
      reason = 'timed out before every job finished';
    } else {
      exitCode = 1;
      reason = 'every host ended before every job finished';
    }
    const hosts: Record<string, HostResult> = {};
    for (const c of all) {
      hosts[c.spec.name] = {
        ...(c.spec.role !== undefined ? { role: c.spec.role } : {}),
        ...(c.proc.pid !== undefined ? { pid: c.proc.pid } : {}),
        outcome: c.outcome ?? 'stopped',
        ...(c.job !== undefined ? { job: c.job } : {}),
        ...(c.finished ? { finished: c.finished } : {}),
        exitCode: c.exited?.code ?? null,
        signal: c.exited?.signal ?? null,
        ...(c.status ? { status: c.status } : {}),
        ...(c.outcome === 'crashed' ? { lastStderr: c.tail } : {}),
      };
    }
    return {
      topology: this.opts.name, transport: this.opts.transport, exitCode, reason,
      wallMs: Math.round(performance.now() - this.t0), crashed, hosts,
    };
  }

  // ---- output ----------------------------------------------------------------------------

  private prefix(c: Child): string {
    return `[${c.spec.name}]${' '.repeat(this.width - c.spec.name.length)} `;
  }

  /** A line of ours, on stderr. */
  private say(line: string): void {
    this.print(this.opts.err, `[launch] ${line}`);
  }

  private print(stream: NodeJS.WritableStream, line: string): void {
    this.clearStatus();
    stream.write(`${line}\n`);
    if (this.opts.tty && this.lastStatus && !this.stopping) this.drawStatus(this.lastStatus);
  }

  private statusLine(final = false): string {
    const all = [...this.children.values()];
    const up = all.filter((c) => c.ready && !c.exited).length;
    const jobs = all.filter((c) => c.job);
    const sum = (key: string): number => all.reduce((n, c) => n + (typeof c.status?.[key] === 'number' ? c.status[key] as number : 0), 0);
    const has = (key: string): boolean => all.some((c) => typeof c.status?.[key] === 'number');
    const parts = [`${this.opts.name}/${this.opts.transport}`];
    if (!final) parts.push(`up ${up}/${all.length}`);
    if (jobs.length) parts.push(`finished ${jobs.filter((c) => c.finished).length}/${jobs.length}`);
    if (has('served')) parts.push(`served ${sum('served')}`);
    if (has('completed')) parts.push(`completed ${sum('completed')}`);
    parts.push(`msgs ${sum('processed')}`);
    const errors = sum('failures') + all.reduce((n, c) => n + c.errorLines, 0);
    parts.push(`errors ${errors}`);
    const warnings = all.reduce((n, c) => n + c.warnLines, 0);
    if (warnings) parts.push(`warnings ${warnings}`);
    for (const key of ['rejected', 'dropped', 'deadLetters']) if (sum(key)) parts.push(`${key} ${sum(key)}`);
    const crashed = all.filter((c) => c.outcome === 'crashed').map((c) => c.spec.name);
    if (crashed.length) parts.push(`CRASHED ${crashed.join(',')}`);
    return parts.join(' · ');
  }

  /** The status line: redrawn in place on a terminal, else printed when it changed. */
  private showStatus(changedOnly = false): void {
    if (this.opts.statusEveryMs <= 0 || this.stopping) return;
    const line = this.statusLine();
    const elapsed = `${((performance.now() - this.t0) / 1000).toFixed(1)} s`;
    if (this.opts.tty) {
      this.lastStatus = `${line} · ${elapsed}`;
      this.drawStatus(this.lastStatus);
    } else if (!changedOnly && line !== this.lastStatus) {
      this.lastStatus = line;
      this.opts.err.write(`[launch] status: ${line} · ${elapsed}\n`);
    }
  }

  private drawStatus(line: string): void {
    const cols = (this.opts.err as { columns?: number }).columns || 120;
    this.opts.err.write(`\r\x1b[2K${`[launch] ${line}`.slice(0, cols - 1)}`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (!this.statusShown) return;
    this.opts.err.write('\r\x1b[2K');
    this.statusShown = false;
  }
}
