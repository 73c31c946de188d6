// Child processes: hosts started as `switchboard node` or benchmark peers, their JSON lines read
// back, free loopback ports found for them. Used by the benchmarks and by the CLI's demo.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/switchboard.mjs', import.meta.url));

export interface Child {
  readonly proc: ChildProcess;
  /** Resolves with the first JSON line whose `event` is `event`. */
  next(event: string, timeoutMs: number): Promise<Record<string, unknown>>;
  stderr(): string;
  kill(): Promise<void>;
}

/** `switchboard node ARGS` as a child process. */
export function startNode(args: string[], env: Record<string, string>): Child {
  return startProcess([BIN, 'node', ...args], env);
}

/** A TypeScript file of this project run as a child process (through tsx). */
export function startScript(file: string, args: string[], env: Record<string, string> = {}): Child {
  return startProcess(['--import', 'tsx', file, ...args], env);
}

function startProcess(nodeArgs: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, nodeArgs, {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) w();
  });
  proc.on('exit', () => { for (const w of waiters.splice(0)) w(); });
  return {
    proc,
    stderr: () => err,
    next(event, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${event}' from child within ${timeoutMs} ms; stderr: ${err.trim().slice(-500)}`)), timeoutMs);
        const check = (): void => {
          const found = lines.find((l) => l.event === event);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`child exited (${proc.exitCode ?? proc.signalCode}) before '${event}'; stderr: ${err.trim().slice(-500)}`));
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
    kill() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const hard = setTimeout(() => proc.kill('SIGKILL'), 2000);
        proc.once('exit', () => { clearTimeout(hard); resolve(); });
        proc.kill('SIGTERM');
      });
    },
  };
}

export { freePort, freePorts } from '../transport/free-ports.ts';

/** A fresh random cluster secret for processes this one starts. */
export function freshSecret(): string {
  return randomBytes(32).toString('base64');
}
