// The `switchboard` command as a user meets it: help, exit codes, one-line errors, and
// deterministic simulations whose trace hash depends only on the seed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../../bench/children.ts';
import { pingpongFile } from '../distributed/files.ts';

function run(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('switchboard command line', () => {
  it('prints help and exits 0', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0);
    for (const cmd of ['demo', 'sim', 'bench', 'node', 'launch', 'topology']) assert.match(r.out, new RegExp(`\\b${cmd}\\b`));
  });

  it('rejects an unknown command with exit code 2 and one line', () => {
    const r = run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /unknown command 'frobnicate'/);
  });

  it('rejects a bad flag and a bad flag value with exit code 2', () => {
    const bad = run(['sim', 'pingpong', '--no-such-flag']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown option/);
    const value = run(['sim', 'pingpong', '--seed', 'seven']);
    assert.equal(value.code, 2);
    assert.match(value.err, /not an integer/);
    const faults = run(['sim', 'pingpong', '--faults', 'drop=2']);
    assert.equal(faults.code, 2);
    assert.match(faults.err, /probability/);
    // A flag that would be ignored (the dashboard's port without --dashboard) is refused.
    const stray = run(['demo', '--port', '5']);
    assert.equal(stray.code, 2);
    assert.match(stray.err, /--port applies only with --dashboard/);
    for (const [args, why] of [
      [['sim', 'nopaxos', '--seed', '3', '--events', '99'], /no plan event 99: seed 3's plan has \d+/],
      [['sim', 'nopaxos', '--events', '1,x'], /not a list of event indices/],
      [['sim', 'nopaxos', '--events', '1', '--no-plan'], /does not go with --no-plan/],
      [['sim', 'kv-hash', '--events', '1'], /kv-hash does not list its plan's events \(planEvents\); --events is for nopaxos, paxos, unreplicated, pegasus, netcache and scenarios that do/],
      [['sim', 'nopaxos', '--shrink', '--trace-out', 'x.jsonl'], /trace the smaller run/],
    ] as const) {
      const r = run([...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, why);
    }
    const jobs = run(['sweep', 'pingpong', '--seeds', '1..2', '--jobs', '0']);
    assert.equal(jobs.code, 2);
    assert.match(jobs.err, /--jobs/);
  });

  it('rejects an unknown scenario and an unknown benchmark with exit code 2', () => {
    const sim = run(['sim', 'nosuch']);
    assert.equal(sim.code, 2);
    assert.match(sim.err, /unknown scenario 'nosuch'.*pingpong/);
    const bench = run(['bench', 'nosuch']);
    assert.equal(bench.code, 2);
    assert.match(bench.err, /unknown benchmark 'nosuch'/);
  });

  it('prints its version', () => {
    const r = run(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
  });

  it('reports a file it cannot write in one line (no stack trace), exit 2', () => {
    const r = run(['topology', 'export', 'pingpong', '--out', join(tmpdir(), 'no-such-dir-for-switchboard', 'x.json')]);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^error: ENOENT: no such file or directory/);
  });

  it('stops quietly when its reader closes the pipe early (| head)', () => {
    // `true` reads nothing and exits at once: every write of the command meets a closed pipe.
    // With pipefail the pipeline's status is the command's own.
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" topology builders | true`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  });

  it('gives the same trace hash for the same seed, and another for another seed', () => {
    const a = JSON.parse(run(['sim', 'pingpong', '--seed', '7', '--json']).out);
    const b = JSON.parse(run(['sim', 'pingpong', '--seed', '7', '--json']).out);
    const c = JSON.parse(run(['sim', 'pingpong', '--seed', '8', '--json']).out);
    for (const key of ['scenario', 'seed', 'ops', 'completed', 'linearizable', 'violations', 'traceHash', 'virtualMs', 'wallMs']) {
      assert.ok(key in a, `JSON lacks ${key}`);
    }
    assert.equal(a.traceHash, b.traceHash);
    assert.notEqual(a.traceHash, c.traceHash);
    assert.equal(a.completed, a.ops);
    assert.deepEqual(a.violations, []);
  });

  it('writes a run\'s trace with --trace-out, one JSON line per message handled, without changing the run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-trace-'));
    const file = join(dir, 'trace.jsonl');
    const plain = JSON.parse(run(['sim', 'pingpong', '--seed', '7', '--ops', '20', '--json']).out);
    const r = run(['sim', 'pingpong', '--seed', '7', '--ops', '20', '--json', '--trace-out', file]);
    assert.equal(r.code, 0, r.err);
    const traced = JSON.parse(r.out);
    assert.equal(traced.traceHash, plain.traceHash, 'the trace hash is the same with the file written');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number; from: string; to: string; msg: { type: string } });
    assert.equal(lines.length, traced.details.messages);
    assert.match(r.err, new RegExp(`trace: ${lines.length} messages and 0 notes written to `));
    assert.equal(lines.filter((l) => l.msg.type === 'Pong' && l.to === 'a/pinger').length, 20 + traced.details.duplicatePongs);
    for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.t >= lines[i - 1]!.t, 'in the order handled');
    const bad = run(['sim', 'pingpong', '--trace-out', join(dir, 'no', 'such', 'dir', 't.jsonl')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /cannot write the trace to/);
  });

  it('lists the seed\'s plan events by index, runs a chosen few, and has nothing to shrink in a passing run', () => {
    const whole = JSON.parse(run(['sim', 'nopaxos', '--seed', '3', '--json']).out);
    assert.match(whole.details.planEvents[0], /^0: [\d.]+ ms /);
    const shrunk = run(['sim', 'nopaxos', '--seed', '3', '--shrink']);
    assert.equal(shrunk.code, 0);
    assert.match(shrunk.err, /the run passed: nothing to shrink/);
    const some = JSON.parse(run(['sim', 'nopaxos', '--seed', '3', '--events', '1', '--json']).out);
    assert.ok(some.details.planEvents.filter((e: string) => e.endsWith('(left out)')).length >= whole.details.planEvents.length - 2);
  });

  it('finishes a lossy simulation by retrying, and says how', () => {
    const r = JSON.parse(run(['sim', 'pingpong', '--seed', '3', '--ops', '300', '--faults', 'drop=0.2,dup=0.05,jitter=0.5', '--json']).out);
    assert.equal(r.completed, 300);
    assert.ok(r.details.resent > 0, 'a 20% lossy run resent nothing');
  });

  it('refuses to run a node without a cluster secret, naming where it looked', async () => {
    const { path } = await pingpongFile('ws', { count: 10 });
    const r = run(['node', '--topology', path, '--host', 'a'], { SWITCHBOARD_SECRET: '' });
    assert.equal(r.code, 2);
    assert.match(r.err, /SWITCHBOARD_SECRET/);
  });

  it('refuses a node for a host the file lacks, and a file with problems, listing them', async () => {
    const env = { SWITCHBOARD_SECRET: 'a-secret-of-enough-length' };
    const { path, dir } = await pingpongFile('ws', { count: 10 });
    const host = run(['node', '--topology', path, '--host', 'zz'], env);
    assert.equal(host.code, 2);
    assert.match(host.err, /no host 'zz' \(hosts: a, b\)/);
    const badPath = join(dir, 'bad.json');
    writeFileSync(badPath, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), transport: 'tcp', secret: 'literally-the-secret' }));
    const bad = run(['node', '--topology', badPath, '--host', 'a'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /2 problems\n {2}transport: must be one of "ws", "udp"\n {2}secret: a literal secret is not allowed/);
  });

  it('exports a topology file that validates, and validates a bad one with exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-topology-'));
    const file = join(dir, 'pp.json');
    const exp = run(['topology', 'export', 'pingpong', '--params', '{"count":5}', '--transport', 'udp', '--base-port', '4500', '--out', file]);
    assert.equal(exp.code, 0, exp.err);
    const f = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(Object.values(f.hosts).map((h: any) => h.port), [4500, 4501]);
    const ok = run(['topology', 'validate', file]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /ok: 2 hosts, 2 actors, builder pingpong, transport udp/);
    writeFileSync(file, JSON.stringify({ ...f, hosts: { a: f.hosts.a } }));
    const bad = run(['topology', 'validate', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /hosts: lacks host 'b' of builder 'pingpong', so actor 'ponger' would be on no host/);
    const params = run(['topology', 'export', 'pingpong', '--params', '{"count":0}']);
    assert.equal(params.code, 2);
    assert.match(params.err, /--params\.count: expected integer to be greater or equal to 1/);
    const unknown = run(['topology', 'export', 'nosuch']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown builder 'nosuch' \(known: pingpong, /);
  });
});
