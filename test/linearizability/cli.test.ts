// `switchboard lincheck`: verdicts, exit codes, JSON output, the HTML file and usage errors, first
// through the command's functions and then end to end through bin/switchboard.mjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exitCodeFor, formatReports, lincheckFiles } from '../../cli/commands/lincheck.ts';
import { UsageError } from '../../cli/main.ts';
import { linDir, repoRoot } from './helpers.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lincheck-'));
const etcd = (n: string): string => path.join(linDir, 'jepsen-etcd', `etcd_${n}.log`);
const goodJson = path.join(tmp, 'good.json');
writeFileSync(goodJson, JSON.stringify({
  model: 'register',
  operations: [
    { client: 0, input: { op: 'write', value: 1 }, output: {}, invokeTime: 0, returnTime: 2 },
    { client: 1, input: { op: 'read' }, output: { value: 1 }, invokeTime: 3, returnTime: 4 },
  ],
}));
const badJson = path.join(tmp, 'bad.json');
writeFileSync(badJson, '{"operations": [\n  {"client": 0, "input": {"op": "read"}, "output": {"value": 1}, "invokeTime": 0 "returnTime": 1}\n]}\n');

describe('lincheck command functions', () => {
  it('gives a verdict per file and exit 1 when one is not linearizable', async () => {
    const reports = await lincheckFiles([etcd('000'), etcd('002')], { model: 'etcd', format: 'jepsen' });
    assert.deepEqual(reports.map((r) => r.verdict), ['not-linearizable', 'linearizable']);
    assert.equal(exitCodeFor(reports), 1);
    const text = formatReports(reports);
    assert.match(text, /etcd_000\.log: NOT linearizable \([\d.]+ ms, 85 operations\)\n  not linearizable: 85 operations; a longest linearizable prefix has \d+ operations/);
    assert.match(text, /etcd_002\.log: linearizable/);
  });

  it('reads the JSON format by default; exit 0 when all are linearizable', async () => {
    const reports = await lincheckFiles([goodJson], { model: 'register' });
    assert.equal(reports[0]!.verdict, 'linearizable');
    assert.equal(exitCodeFor(reports), 0);
  });

  it('reports an unreadable or malformed file as an error with its line; exit 2', async () => {
    const reports = await lincheckFiles([badJson, path.join(tmp, 'missing.json'), goodJson], { model: 'register' });
    assert.deepEqual(reports.map((r) => r.verdict), ['error', 'error', 'linearizable']);
    assert.match(reports[0]!.reason!, /^line 2:\d+: invalid JSON/);
    assert.match(reports[1]!.reason!, /ENOENT/);
    assert.equal(exitCodeFor(reports), 2);
    // A JSON history made for another model is refused.
    const wrong = await lincheckFiles([goodJson], { model: 'kv' });
    assert.match(wrong[0]!.reason!, /for model 'register', not 'kv'/);
    // A JSON file read as a Jepsen log (whose parser skips lines that are not events) has no
    // events: an error, not an empty history that is trivially linearizable.
    const asJepsen = await lincheckFiles([goodJson], { model: 'etcd', format: 'jepsen' });
    assert.equal(asJepsen[0]!.verdict, 'error');
    assert.match(asJepsen[0]!.reason!, /no operations found as --format jepsen/);
  });

  it('gives up with unknown (exit 2) past the time limit', async () => {
    const reports = await lincheckFiles([path.join(linDir, 'kv', 'kv-large-1.txt')], { model: 'kv', format: 'edn', timeoutMs: 1 });
    assert.equal(reports[0]!.verdict, 'unknown');
    assert.equal(reports[0]!.reason, 'timeout');
    assert.equal(exitCodeFor(reports), 2);
  });

  it('refuses unknown models and formats', async () => {
    await assert.rejects(lincheckFiles([goodJson], { model: 'queue' }), (err) => err instanceof UsageError && /unknown model 'queue'/.test(err.message));
    await assert.rejects(lincheckFiles([goodJson], { model: 'etcd', format: 'xml' }), (err) => err instanceof UsageError && /unknown format 'xml'/.test(err.message));
  });
});

describe('switchboard lincheck end to end', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/switchboard.mjs'), 'lincheck', ...args], { encoding: 'utf8', cwd: repoRoot });

  it('exits 1 on a violation, prints JSON with --json and writes --html', () => {
    const html = path.join(tmp, 'view.html');
    const r = run('--model', 'kv', '--format', 'edn', '--json', '--html', html, path.join(linDir, 'kv', 'c10-ok.txt'), path.join(linDir, 'kv', 'c10-bad.txt'));
    assert.equal(r.status, 1, r.stderr);
    const reports = JSON.parse(r.stdout) as { file: string; verdict: string; details?: { partition: string } }[];
    assert.deepEqual(reports.map((x) => x.verdict), ['linearizable', 'not-linearizable']);
    assert.equal(typeof reports[1]!.details!.partition, 'string');
    assert.match(readFileSync(html, 'utf8'), /c10-bad\.txt: <span class="bad">not-linearizable/);
  });

  it('exits 0 when linearizable and 2 on bad arguments', () => {
    assert.equal(run('--model', 'register', goodJson).status, 0);
    const bad = run('--model', 'nope', goodJson);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown model 'nope'/);
    assert.equal(run('--model', 'etcd', '--timeout-ms', 'soon', goodJson).status, 2);
    assert.equal(run(goodJson).status, 2); // --model is required
  });
});
