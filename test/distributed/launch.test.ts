// `switchboard launch`: every host of a topology file as a local process. It runs ping-pong to
// completion over ws, udp and wss and exits 0; it reports a host killed with SIGKILL (exit 1);
// Ctrl-C stops every child, leaving no process behind; a bad file or a missing secret is refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freshSecret } from '../../bench/children.ts';
import { alive, pingpongFile, SECRET_ENV, startLaunch } from './files.ts';

const TIMEOUT_MS = 60_000;

async function assertAllGone(pids: Record<string, number>): Promise<void> {
  assert.ok(Object.keys(pids).length === 2, `expected two host pids, got ${JSON.stringify(pids)}`);
  const deadline = Date.now() + 2000;
  while (Object.values(pids).some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const [host, pid] of Object.entries(pids)) assert.ok(!alive(pid), `host ${host} (pid ${pid}) is still running`);
}

describe('switchboard launch', { timeout: 4 * TIMEOUT_MS }, () => {
  for (const kind of ['ws', 'udp'] as const) {
    it(`runs ping-pong over ${kind} to completion and exits 0`, { timeout: TIMEOUT_MS }, async () => {
      const { path } = await pingpongFile(kind, { count: 2000 });
      const l = startLaunch(['--topology', path, '--json', '--status-every', '200'], { [SECRET_ENV]: freshSecret() });
      const { code } = await l.exit(TIMEOUT_MS - 5000);
      assert.equal(code, 0, l.err());
      const result = JSON.parse(l.out());
      assert.equal(result.exitCode, 0);
      assert.equal(result.transport, kind);
      assert.equal(result.hosts.a.outcome, 'finished');
      assert.equal(result.hosts.a.job, true);
      assert.equal(result.hosts.a.finished.answered, 2000);
      assert.equal(result.hosts.b.outcome, 'stopped');
      assert.deepEqual(result.crashed, []);
      // Merged output: each host's lines carry its prefix; the status line counts what was served.
      assert.match(l.err(), /^\[a\] \{"event":"ready"/m);
      assert.match(l.err(), /^\[b\] \{"event":"ready"/m);
      // A live status line is shown; a fast job may finish before one shows both hosts up.
      assert.match(l.err(), /^\[launch\] status: pingpong\/\w+ · up [0-2]\/2/m);
      assert.match(l.err(), /^\[launch\] totals: pingpong\/\w+ · finished 1\/1/m);
      await assertAllGone(l.pids());
    });
  }

  it('uses the transport given on the command line instead of the file\'s', { timeout: TIMEOUT_MS }, async () => {
    const { path } = await pingpongFile('ws', { count: 300 });
    const l = startLaunch(['--topology', path, '--transport', 'udp', '--json'], { [SECRET_ENV]: freshSecret() });
    assert.equal((await l.exit(TIMEOUT_MS - 5000)).code, 0, l.err());
    assert.equal(JSON.parse(l.out()).transport, 'udp');
    assert.match(l.err(), /\[b\] \{"event":"ready","host":"b","transport":"udp"/);
  });

  it('reports a host killed with SIGKILL, with its exit, and exits 1', { timeout: TIMEOUT_MS }, async () => {
    const { path } = await pingpongFile('ws', { count: 100_000_000 });
    const l = startLaunch(['--topology', path, '--json', '--grace-ms', '2000'], { [SECRET_ENV]: freshSecret() });
    try {
      await l.waitErr(/^\[a\] \{"event":"ready"/m, 20_000);
      await l.waitErr(/^\[b\] \{"event":"ready"/m, 20_000);
      const pids = l.pids();
      process.kill(pids.b!, 'SIGKILL');
      await l.waitErr(/host b CRASHED: killed by SIGKILL after [\d.]+ s \(pid \d+\)/, 10_000);
      assert.ok(alive(pids.a!), 'the other host went down with the killed one');
      l.proc.kill('SIGINT');
      const { code } = await l.exit(15_000);
      assert.equal(code, 1, l.err());
      const result = JSON.parse(l.out());
      assert.deepEqual(result.crashed, ['b']);
      assert.equal(result.hosts.b.signal, 'SIGKILL');
      assert.equal(result.hosts.a.outcome, 'stopped');
      await assertAllGone(pids);
    } finally {
      l.proc.kill('SIGKILL');
    }
  });

  it('reports a host that cannot start (its port taken) with its error, and stops the rest', { timeout: TIMEOUT_MS }, async () => {
    const { path, file } = await pingpongFile('ws', { count: 10 });
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(file.hosts.b!.port, '127.0.0.1', resolve));
    try {
      const l = startLaunch(['--topology', path, '--json'], { [SECRET_ENV]: freshSecret() });
      const { code } = await l.exit(TIMEOUT_MS - 10_000);
      assert.equal(code, 1, l.err());
      assert.match(l.err(), /host b CRASHED: exit code 2 .*Last stderr lines:\n\[launch\] {3}\| .*EADDRINUSE/s);
      assert.match(l.err(), /host b failed to start: stopping the others/);
      assert.deepEqual(JSON.parse(l.out()).crashed, ['b']);
      await assertAllGone(l.pids());
    } finally {
      squatter.close();
    }
  });

  it('stops every child on Ctrl-C (SIGINT) and leaves none behind', { timeout: TIMEOUT_MS }, async () => {
    const { path } = await pingpongFile('udp', { count: 100_000_000 });
    const l = startLaunch(['--topology', path, '--json'], { [SECRET_ENV]: freshSecret() });
    try {
      await l.waitErr(/^\[a\] \{"event":"ready"/m, 20_000);
      await l.waitErr(/^\[b\] \{"event":"ready"/m, 20_000);
      const pids = l.pids();
      assert.ok(Object.values(pids).every(alive));
      l.proc.kill('SIGINT');
      const { code } = await l.exit(15_000);
      assert.equal(code, 130, l.err());
      assert.match(l.err(), /stopping a, b \(SIGTERM; SIGKILL after/);
      const result = JSON.parse(l.out());
      assert.equal(result.hosts.a.outcome, 'stopped');
      assert.equal(result.hosts.b.outcome, 'stopped');
      await assertAllGone(pids);
    } finally {
      l.proc.kill('SIGKILL');
    }
  });

  it('refuses a file with problems, listing them, and a missing secret, naming where it looked', { timeout: TIMEOUT_MS }, async () => {
    const bad = await pingpongFile('ws', { count: 10 }, (f) => ({ ...f, hosts: { ...f.hosts, b: { ...f.hosts.b!, port: f.hosts.a!.port } } }));
    const l1 = startLaunch(['--topology', bad.path], { [SECRET_ENV]: freshSecret() });
    assert.equal((await l1.exit(20_000)).code, 2);
    assert.match(l1.err(), /hosts\.b\.port: 127\.0\.0\.1:\d+ is also the address of host 'a'/);
    const good = await pingpongFile('ws', { count: 10 });
    const l2 = startLaunch(['--topology', good.path], { [SECRET_ENV]: '' });
    assert.equal((await l2.exit(20_000)).code, 2);
    assert.match(l2.err(), /secret: no cluster secret in environment variable SWITCHBOARD_SECRET/);
    assert.doesNotMatch(l2.err(), /started, pid/);
  });
});

describe('switchboard launch over wss', { timeout: TIMEOUT_MS }, () => {
  let dir = '';
  let skipReason = '';

  before(async () => {
    try {
      execFileSync('which', ['openssl'], { stdio: 'ignore' });
    } catch {
      skipReason = 'openssl is not installed: cannot make a self-signed certificate';
    }
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs ping-pong over wss with the file\'s TLS files (paths relative to the file)', { timeout: TIMEOUT_MS }, async (t) => {
    if (skipReason) return t.skip(skipReason);
    const written = await pingpongFile('ws', { count: 500 }, (f) => ({ ...f, tls: { cert: 'cert.pem', key: 'key.pem', ca: 'cert.pem' } }));
    dir = written.dir;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const l = startLaunch(['--topology', written.path, '--json'], { [SECRET_ENV]: freshSecret() });
    assert.equal((await l.exit(TIMEOUT_MS - 5000)).code, 0, l.err());
    assert.match(l.err(), /\[a\] \{"event":"ready",.*"tls":true/);
    assert.equal(JSON.parse(l.out()).hosts.a.finished.answered, 500);
  });
});
