// A network of Linux network namespaces for partition tests: one namespace per host, each with
// one interface (eth0) cabled by a veth pair to a bridge in a hub namespace, and an address in
// a private subnet that exists only inside these namespaces (nothing is added to the machine's
// own namespace). Taking a host's cable down (`ip link set ... down` on the hub's end) cuts it
// off from every other host: a real partition, which the kernel enforces. Every namespace is
// deleted by remove(), and at process exit if remove() was not reached.
import { execFileSync, spawnSync } from 'node:child_process';

export interface NetnsNetwork {
  /** The address of `host` (inside its namespace). */
  address(host: string): string;
  /** The command prefix that runs a process in `host`'s namespace. */
  exec(host: string): string[];
  /** Take `host`'s cable down (true) or up again (false). */
  cut(host: string, down: boolean): void;
  /** Delete every namespace (processes in them must be gone first). */
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Why partition tests cannot run here, or undefined if they can: root, the `ip` command of
 * iproute2 (scripts/ensure-test-tools.sh installs it) and a kernel that lets us make a namespace
 * with a bridge and a veth pair.
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).error) return 'the ip command (iproute2) is not installed: run scripts/ensure-test-tools.sh';
  const probe = `sbprobe${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('-n', probe, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', probe, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot make a network namespace with a bridge and a veth pair: ${stderr || (err as Error).message}`;
  } finally {
    spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  }
}

/** Namespaces `<tag>-<host>` and `<tag>-hub`; host i gets 10.213.0.(i+1)/24, its cable an MTU of `mtu`. */
export function netnsNetwork(tag: string, hosts: readonly string[], mtu = 1500): NetnsNetwork {
  if (hosts.length > 250) throw new RangeError('at most 250 hosts');
  const hub = `${tag}-hub`;
  const ns = (h: string): string => `${tag}-${h}`;
  const cable = (h: string): string => `h-${h}`.slice(0, 15);
  const made: string[] = [];
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    for (const n of made) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    process.off('exit', remove);
  };
  process.on('exit', remove);
  try {
    ip('netns', 'add', hub);
    made.push(hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    hosts.forEach((h, i) => {
      ip('netns', 'add', ns(h));
      made.push(ns(h));
      ip('-n', hub, 'link', 'add', cable(h), 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(mtu), 'netns', ns(h));
      ip('-n', hub, 'link', 'set', cable(h), 'master', 'br0', 'up');
      ip('-n', ns(h), 'addr', 'add', `10.213.0.${i + 1}/24`, 'dev', 'eth0');
      ip('-n', ns(h), 'link', 'set', 'eth0', 'up');
      ip('-n', ns(h), 'link', 'set', 'lo', 'up');
    });
  } catch (err) {
    remove();
    throw err;
  }
  return {
    address: (h) => `10.213.0.${hosts.indexOf(h) + 1}`,
    exec: (h) => ['ip', 'netns', 'exec', ns(h)],
    cut: (h, down) => ip('-n', hub, 'link', 'set', cable(h), down ? 'down' : 'up'),
    remove,
  };
}
