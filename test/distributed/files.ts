// Topology files for multi-process tests: the ping-pong builder's file on ports free now, in a
// fresh folder, and the `switchboard launch` process with its output and the pids of its hosts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportTopologyFile, formatTopologyFile, type TopologyFile, type TransportName } from '../../actors/topology-file.ts';
import { BIN, freePorts } from '../../bench/children.ts';
import { builders } from '../../cli/builtins.ts';

export const SECRET_ENV = 'SWITCHBOARD_SECRET';

export interface WrittenFile {
  readonly dir: string;
  readonly path: string;
  readonly file: TopologyFile;
}

/** A ping-pong topology file on free loopback ports; `edit` may change it before it is written. */
export function pingpongFile(kind: TransportName, params: Record<string, unknown>,
  edit: (f: TopologyFile) => TopologyFile = (f) => f): Promise<WrittenFile> {
  return topologyFile('pingpong', kind, params, edit);
}

/** The file of a registered builder on free loopback ports, in a fresh folder. */
export async function topologyFile(builder: string, kind: TransportName, params: Record<string, unknown>,
  edit: (f: TopologyFile) => TopologyFile = (f) => f): Promise<WrittenFile> {
  const exported = exportTopologyFile(builders, { builder, params, transport: kind, basePort: 1, secret: { env: SECRET_ENV } });
  const hosts = Object.values(exported.hosts);
  const ports = await freePorts(kind === 'ws' ? 'tcp' : 'udp', hosts.length);
  hosts.forEach((h, i) => { h.port = ports[i]!; });
  const file = edit(exported);
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const path = join(dir, `${builder}.json`);
  writeFileSync(path, formatTopologyFile(file));
  return { dir, path, file };
}

export interface Launch {
  readonly proc: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves once stderr matches `re` (or rejects after `timeoutMs`). */
  waitErr(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code or signal (or rejects after `timeoutMs`). */
  exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Host pids from the "started, pid N" lines. */
  pids(): Record<string, number>;
}

/** `switchboard launch ARGS` as a child process. */
export function startLaunch(args: string[], env: Record<string, string>): Launch {
  const proc = spawn(process.execPath, [BIN, 'launch', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const poke = (): void => { for (const l of [...listeners]) l(); };
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); poke(); });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  proc.on('close', (code, signal) => { exited = { code, signal }; poke(); });
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> => new Promise((resolve, reject) => {
    const done = (): void => {
      const v = check();
      if (v !== undefined) {
        clearTimeout(timer);
        listeners.delete(done);
        resolve(v);
      } else if (exited) {
        clearTimeout(timer);
        listeners.delete(done);
        reject(new Error(`launch exited (${exited.code ?? exited.signal}) before ${what}; stderr:\n${err.slice(-3000)}`));
      }
    };
    const timer = setTimeout(() => {
      listeners.delete(done);
      reject(new Error(`no ${what} within ${timeoutMs} ms; stderr:\n${err.slice(-3000)}`));
    }, timeoutMs);
    listeners.add(done);
    done();
  });
  return {
    proc,
    out: () => out,
    err: () => err,
    waitErr: (re, timeoutMs) => until(() => re.exec(err) ?? undefined, timeoutMs, `${re}`),
    exit: (timeoutMs) => new Promise((resolve, reject) => {
      if (exited) return resolve(exited);
      const timer = setTimeout(() => reject(new Error(`launch still running after ${timeoutMs} ms; stderr:\n${err.slice(-3000)}`)), timeoutMs);
      proc.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
    }),
    pids: () => Object.fromEntries([...err.matchAll(/\[launch\] (\S+) (?:\(\S+\) )?started, pid (\d+)/g)].map((m) => [m[1]!, Number(m[2])])),
  };
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
