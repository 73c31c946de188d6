// `switchboard figures` as a user meets it: bad flags and bad saved results give one clear line
// and exit code 2; --from re-plots saved results (synthetic here) without running a benchmark.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchChild, type BenchName } from '../../bench/figures/index.ts';
import { main } from '../../cli/main.ts';
import { syntheticNopaxos } from './fixtures.ts';

/** Run the command in this process, capturing what it prints. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = 0;
  }
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'figures-test-'));

describe('switchboard figures', () => {
  it('rejects an unknown --only with exit code 2', async () => {
    const r = await run(['figures', '--only', 'raft']);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim(), "error: --only 'raft': choose one of nopaxos, pegasus");
  });

  it('rejects an --out that is a file with exit code 2', async () => {
    const file = join(tmp(), 'a-file');
    writeFileSync(file, 'x');
    const r = await run(['figures', '--out', file]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--out .*a-file is a file, not a directory/);
  });

  it('rejects a missing --from directory, --from with --quick, and saved results that are not JSON', async () => {
    const missing = await run(['figures', '--from', join(tmp(), 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--from .*nope: no such directory/);
    const dir = tmp();
    const both = await run(['figures', '--from', dir, '--quick']);
    assert.equal(both.code, 2);
    assert.match(both.err, /give one/);
    writeFileSync(join(dir, 'nopaxos.bench.json'), '{ not json');
    const bad = await run(['figures', '--from', dir, '--only', 'nopaxos']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /nopaxos\.bench\.json is not valid JSON/);
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
  });

  it('re-plots saved results with --from: an SVG, a PNG and the JSON per figure, and the report', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'nopaxos.bench.json'), JSON.stringify(syntheticNopaxos({ worse: true })));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({
      date: '2026-11-25T00:00:00.000Z', commit: 'abc123', dirty: true, quick: true, wallSeconds: { nopaxos: 1 }, command: 'switchboard figures --quick',
      machine: { cores: 2, cpu: 'Test CPU', node: 'v20.0.0', os: 'Linux', loadAverage1m: 0.5 },
    }));
    const out = join(dir, 'out');
    mkdirSync(out);
    const reportPath = join(dir, 'docs', 'results.md');
    const r = await run(['figures', '--from', dir, '--only', 'nopaxos', '--out', out, '--report', reportPath]);
    assert.equal(r.code, 0, r.err);
    for (const name of ['nopaxos-latency-throughput', 'nopaxos-drop-rate', 'nopaxos-replicas', 'nopaxos-failover']) {
      for (const ext of ['svg', 'png', 'json']) assert.ok(existsSync(join(out, `${name}.${ext}`)), `${name}.${ext}`);
    }
    const data = JSON.parse(readFileSync(join(out, 'nopaxos-drop-rate.json'), 'utf8'));
    assert.equal(data.claim.verdict, 'does not hold');
    assert.ok(data.rows.length > 0);
    const report = readFileSync(reportPath, 'utf8');
    // Links are relative to the report's directory.
    assert.match(report, /\(\.\.\/out\/nopaxos-failover\.png\)/);
    assert.match(report, /uncommitted changes/);
    assert.match(r.out, /nopaxos-drop-rate\s+does not hold/);
  });

  it('reports a benchmark child that fails with its exit code and last lines', async () => {
    const lines: string[] = [];
    await assert.rejects(runBenchChild('raft' as BenchName, true, (l) => lines.push(l)), /bench raft exited with 2:\n.*unknown benchmark 'raft'/);
    assert.match(lines.join('\n'), /unknown benchmark 'raft'/);
  });
});
