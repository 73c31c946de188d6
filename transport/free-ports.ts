// Ports free on 127.0.0.1 now, for processes about to be started on them.
//
// A topology file names a port for every host, and a host is not always bound to it: a cli
// client host binds only while a `kv` command runs, a controller starts after the rest, a
// crashed host is down a while. Two things could take such a port in the gap, and both did:
// - the kernel, handing it out as an ephemeral port (to any socket bound to port 0, such as
//   another cluster's port search): a `kv` run then failed with EADDRINUSE. So ports are taken
//   from just below the kernel's ephemeral range, which it never hands out by itself;
// - another process searching at the same time, which would see the port unbound. So each port
//   is reserved for the life of the process that found it, by a file named after it in a shared
//   directory, created exclusively; a reservation whose process is gone is taken over.
// Within one call, every port is distinct.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export type PortKind = 'tcp' | 'udp';

/** How many ports below the ephemeral range are searched. */
const SPAN = 16_384;

/** The first port the kernel hands out by itself (Linux's setting; IANA's 49152 elsewhere). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 1024) return low;
  } catch { /* not Linux */ }
  return 49_152;
}

/** The ports searched: [lo, hi). */
export function portRange(): { lo: number; hi: number } {
  const hi = ephemeralLow();
  return { lo: Math.max(1024, hi - SPAN), hi };
}

let reservations: string | undefined;
const mine = new Set<string>();

function reservationDir(): string {
  if (reservations === undefined) {
    reservations = join(tmpdir(), `switchboard-ports-${userInfo().uid}`);
    mkdirSync(reservations, { recursive: true });
    process.once('exit', () => {
      for (const f of mine) try { unlinkSync(f); } catch { /* already gone */ }
    });
  }
  return reservations;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a reservation file, or undefined if there is none. */
function holderOf(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Reserves `port` for this process; false if a live process (this one too) holds it. A
 * reservation is written whole under a private name and then linked into place, which fails if
 * the port is taken, so a reader never sees one half written. A dead process's reservation is
 * first renamed aside, which only one process can do, and put back should it turn out to be a
 * fresh one that replaced it meanwhile.
 */
export function reservePort(port: number): boolean {
  const dir = reservationDir();
  const file = join(dir, String(port));
  const draft = join(dir, `.${process.pid}.draft`);
  writeFileSync(draft, String(process.pid));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(draft, file);
        mine.add(file);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = holderOf(file);
      if (holder === undefined) continue; // released meanwhile
      if (holder === process.pid || alive(holder)) return false;
      const aside = join(dir, `.${process.pid}.stale`);
      try { renameSync(file, aside); } catch { continue; /* another process moved it first */ }
      if (holderOf(aside) !== holder) {
        try { linkSync(aside, file); } catch { /* taken again: the newest stands */ }
        unlinkSync(aside);
        return false;
      }
      unlinkSync(aside);
    }
    return false;
  } finally {
    unlinkSync(draft);
  }
}

function release(port: number): void {
  const file = join(reservationDir(), String(port));
  mine.delete(file);
  try { unlinkSync(file); } catch { /* already gone */ }
}

/** Whether `port` can be bound on 127.0.0.1 right now (nothing else listens on it). */
function bindable(kind: PortKind, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === 'tcp') {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
      return;
    }
    const sock = createSocket('udp4');
    sock.once('error', () => { sock.close(); resolve(false); });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
  });
}

/** `count` distinct ports free on 127.0.0.1 right now, reserved for this process's life. */
export async function freePorts(kind: PortKind, count: number): Promise<number[]> {
  const { lo, hi } = portRange();
  const found: number[] = [];
  for (let tries = 0; found.length < count; tries++) {
    if (tries >= 20 * count + 1000) {
      throw new Error(`freePorts: found only ${found.length} of ${count} free ${kind} ports in ${lo}..${hi - 1}`);
    }
    const port = lo + Math.floor(Math.random() * (hi - lo));
    if (!reservePort(port)) continue;
    if (await bindable(kind, port)) found.push(port);
    else release(port);
  }
  return found;
}

/** One port free on 127.0.0.1 right now. */
export async function freePort(kind: PortKind): Promise<number> {
  return (await freePorts(kind, 1))[0]!;
}
