// freePorts: the ports of one call are distinct and free (a topology file once gave two hosts one
// address when ports were picked one at a time); they lie below the kernel's ephemeral range (a
// cli host's port, unbound between two `kv` runs, was once handed to another socket by the
// kernel); and two processes searching at once never get the same port.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePorts, portRange, reservePort } from '../../transport/free-ports.ts';

describe('freePorts', () => {
  for (const kind of ['tcp', 'udp'] as const) {
    it(`gives distinct ${kind} ports that can be bound`, async () => {
      const ports = await freePorts(kind, 40);
      assert.equal(ports.length, 40);
      assert.equal(new Set(ports).size, 40);
      // Each can be bound again now.
      for (const port of ports.slice(0, 5)) {
        await new Promise<void>((resolve, reject) => {
          if (kind === 'tcp') {
            const srv = createServer();
            srv.once('error', reject);
            srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
          } else {
            const sock = createSocket('udp4');
            sock.once('error', reject);
            sock.bind(port, '127.0.0.1', () => sock.close(() => resolve()));
          }
        });
      }
    });
  }

  it('searches below the ephemeral range, and never gives a port twice in one process', async () => {
    const { lo, hi } = portRange();
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    assert.equal(hi, low);
    const a = await freePorts('udp', 30);
    const b = await freePorts('udp', 30);
    for (const p of [...a, ...b]) assert.ok(p >= lo && p < hi, `${p} outside ${lo}..${hi - 1}`);
    assert.equal(new Set([...a, ...b]).size, 60);
  });

  it('two processes searching at once get disjoint ports', async () => {
    // Each child holds its reservations (stays alive) until both have printed theirs.
    const script = `import { freePorts } from ${JSON.stringify(new URL('../../transport/free-ports.ts', import.meta.url).href)};
      console.log(JSON.stringify(await freePorts('udp', 400)));
      process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
    const children = [0, 1].map(() => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]));
    const lists = await Promise.all(children.map((child) => new Promise<number[]>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out));
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code} before printing`)));
    })));
    for (const child of children) child.stdin.end();
    const [px, py] = lists as [number[], number[]];
    assert.equal(px.length, 400);
    // 400 random picks each from 16,384 ports would share about ten without the reservations.
    assert.deepEqual(px.filter((p) => py.includes(p)), []);
  });

  it('takes over the reservation of a process that is gone, and respects a live one', async () => {
    const { lo, hi } = portRange();
    const dir = join(tmpdir(), `switchboard-ports-${userInfo().uid}`);
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const [stale, held] = [hi - 1, hi - 2].map((p) => (p >= lo ? p : assert.fail('range too small')));
    await freePorts('udp', 1); // makes the directory
    writeFileSync(join(dir, String(stale)), String(gone.pid));
    writeFileSync(join(dir, String(held)), String(process.ppid));
    assert.equal(reservePort(stale), true);
    assert.equal(readFileSync(join(dir, String(stale)), 'utf8'), String(process.pid));
    assert.equal(reservePort(held), false);
    assert.equal(reservePort(stale), false, 'a port this process holds is not given again');
    rmSync(join(dir, String(held)));
  });
});
