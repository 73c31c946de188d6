// A cluster of `switchboard node` processes for multi-process failure tests: every host of a
// topology file started on its own, its status lines kept (the builder's counters: completed,
// view, normal, active, ...), hosts killed with SIGKILL and started again with --rejoin, the
// client hosts' histories written to a folder and checked at the end. `prefix` runs a host's
// process under another command (`ip netns exec NS`, for hosts in network namespaces).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN } from '../../bench/children.ts';
import { anchoredNowMs, CLOCK_ANCHOR_ENV, takeAnchor } from '../../cli/history-clock.ts';

export type Status = Record<string, number>;

interface Proc {
  readonly proc: ChildProcess;
  ready: boolean;
  exited: boolean;
  status: Status;
  finished: Record<string, unknown> | undefined;
  stderr: string;
}

export class Cluster {
  private readonly procs = new Map<string, Proc>();
  private readonly waiters = new Set<() => void>();
  readonly historyDir: string;
  /** What happened, for the failure message of a test. */
  readonly log: string[] = [];
  private readonly t0 = Date.now();
  /** The clock anchor every host gets (they all run on this machine): their histories share one time base. */
  private readonly anchor = takeAnchor();

  constructor(private readonly file: string, dir: string, private readonly env: Record<string, string>, private readonly statusEveryMs = 100,
    private readonly prefix: (host: string) => readonly string[] = () => []) {
    this.historyDir = join(dir, 'histories');
    mkdirSync(this.historyDir, { recursive: true });
  }

  /** Milliseconds since the epoch on the hosts' time base: for operations the test records itself. */
  nowMs(): number {
    return anchoredNowMs(this.anchor);
  }

  note(line: string): void {
    this.log.push(`${((Date.now() - this.t0) / 1000).toFixed(1)}s ${line}`);
  }

  /** Start `host` (again, with --rejoin, if it ran before). */
  start(host: string, opts: { rejoin?: boolean } = {}): void {
    const old = this.procs.get(host);
    if (old && !old.exited) throw new Error(`${host} is running`);
    const args = [BIN, 'node', '--topology', this.file, '--host', host, '--status-every', String(this.statusEveryMs),
      '--history-out', join(this.historyDir, `${host}.json`), ...(opts.rejoin ? ['--rejoin'] : [])];
    const [cmd, ...pre] = [...this.prefix(host), process.execPath];
    const proc = spawn(cmd!, [...pre, ...args], { env: { ...process.env, ...this.env, [CLOCK_ANCHOR_ENV]: String(this.anchor) }, stdio: ['ignore', 'pipe', 'pipe'] });
    const p: Proc = { proc, ready: false, exited: false, status: {}, finished: undefined, stderr: '' };
    this.procs.set(host, p);
    this.note(`start ${host}${opts.rejoin ? ' --rejoin' : ''} (pid ${proc.pid})`);
    proc.stderr!.on('data', (d: Buffer) => { p.stderr = (p.stderr + d.toString()).slice(-3000); });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (ev.event === 'ready') p.ready = true;
      else if (ev.event === 'status') p.status = Object.fromEntries(Object.entries(ev).filter(([, v]) => typeof v === 'number')) as Status;
      else if (ev.event === 'finished') p.finished = ev;
      this.poke();
    });
    proc.on('exit', () => {
      p.exited = true;
      this.poke();
    });
  }

  /** SIGKILL, and wait until it is gone. */
  async kill9(host: string): Promise<void> {
    const p = this.procs.get(host);
    if (!p || p.exited) return;
    this.note(`kill -9 ${host}`);
    p.proc.kill('SIGKILL');
    await this.until(() => p.exited, 5000, `${host} to die`);
  }

  /** SIGSTOP: the process keeps its state and its connections but does nothing (a long pause). */
  pause(host: string): void {
    this.note(`pause ${host} (SIGSTOP)`);
    this.procs.get(host)?.proc.kill('SIGSTOP');
  }

  /** SIGCONT after pause. */
  resume(host: string): void {
    this.note(`resume ${host} (SIGCONT)`);
    this.procs.get(host)?.proc.kill('SIGCONT');
  }

  /** SIGTERM (the node writes its history) and wait; SIGKILL after 5 s. */
  async stop(host: string): Promise<void> {
    const p = this.procs.get(host);
    if (!p || p.exited) return;
    p.proc.kill('SIGTERM');
    const hard = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
    await this.until(() => p.exited, 10_000, `${host} to stop`);
    clearTimeout(hard);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((h) => this.stop(h)));
  }

  status(host: string): Status {
    return this.procs.get(host)?.status ?? {};
  }

  /** The host's 'finished' event, once it came. */
  finished(host: string): Record<string, unknown> | undefined {
    return this.procs.get(host)?.finished;
  }

  isUp(host: string): boolean {
    const p = this.procs.get(host);
    return !!p && p.ready && !p.exited;
  }

  /** The sum of a status counter over some hosts. */
  sum(hosts: readonly string[], key: string): number {
    return hosts.reduce((n, h) => n + (this.status(h)[key] ?? 0), 0);
  }

  /** Resolves once `cond` holds (checked on every line from any host), or rejects after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms\n${this.report()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** What happened and what every host said last, for a failure message. */
  report(): string {
    const hosts = [...this.procs].map(([h, p]) => `  ${h}${p.exited ? ' (exited)' : ''}: ${JSON.stringify(p.status)}`
      + (p.exited || /"level":[456]0|error/i.test(p.stderr) ? `\n    stderr: ${p.stderr.trim().split('\n').slice(-8).join('\n    ')}` : ''));
    return `events:\n  ${this.log.join('\n  ')}\nhosts:\n${hosts.join('\n')}`;
  }

  private poke(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * Run a test's `body` on cluster `c`: a failure's message gets the cluster's report (what
 * happened, every host's status and stderr), and every process stops and `dir` goes, whatever
 * happens. SWITCHBOARD_TEST_VERBOSE=1 prints the report of a passing run too;
 * SWITCHBOARD_TEST_KEEP=DIR copies a failed run's folder (its topology file and the hosts'
 * histories) under DIR before it goes.
 */
export async function runCluster(c: Cluster, dir: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    if (process.env.SWITCHBOARD_TEST_VERBOSE) process.stderr.write(`${c.report()}\n`);
  } catch (err) {
    (err as Error).message += `\n${c.report()}`;
    const keep = process.env.SWITCHBOARD_TEST_KEEP;
    if (keep) {
      // Keep the failed run's folder (topology, histories) for a look afterwards.
      const to = join(keep, `${Date.now()}-${process.pid}`);
      cpSync(dir, to, { recursive: true });
      (err as Error).message += `\nits folder kept in ${to}`;
    }
    throw err;
  } finally {
    await c.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
