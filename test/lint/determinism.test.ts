// The linter enforces DESIGN.md principle 2: protocol code in apps/ and switch-model/ may not read the wall clock, draw unseeded randomness, set its own timers or import I/O modules, while the runtime (actors/) and the CLI (cli/) may.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));

const forbidden: [string, string][] = [
  ['Date.now()', 'export const t = Date.now();'],
  ['Math.random()', 'export const r = Math.random();'],
  ['setTimeout', 'setTimeout(() => {}, 10);'],
  ['performance.now()', 'export const t = performance.now();'],
  ['new Date()', 'export const d = new Date();'],
  ['an import of nact', "import { start } from 'nact';\nexport const s = start;"],
  ['an import of ws', "import { WebSocket } from 'ws';\nexport const W = WebSocket;"],
  ['an import of node:dgram', "import dgram from 'node:dgram';\nexport const d = dgram;"],
  ['an import of fs', "import { readFileSync } from 'fs';\nexport const r = readFileSync;"],
];

describe('determinism lint rules', () => {
  let eslint: ESLint;
  const problems = async (code: string, filePath: string): Promise<string[]> => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };

  before(() => {
    eslint = new ESLint({ cwd: root });
  });

  for (const dir of ['apps/x', 'switch-model']) {
    for (const [what, code] of forbidden) {
      it(`reports ${what} in ${dir}/`, async () => {
        const found = await problems(code, `${dir}/y.ts`);
        assert.ok(found.length > 0, `nothing reported for ${what} in ${dir}/`);
        assert.ok(found.every((p) => /^no-restricted-(imports|globals|properties|syntax):/.test(p)), found.join('\n'));
      });
    }
  }

  for (const dir of ['actors', 'cli']) {
    for (const [what, code] of forbidden) {
      it(`allows ${what} in ${dir}/`, async () => {
        assert.deepEqual(await problems(code, `${dir}/y.ts`), []);
      });
    }
  }

  it('allows the deterministic equivalents in apps/: ctx.now(), ctx.random(), ctx timers, new Date(t)', async () => {
    const code = [
      'interface C { now(): number; random(): number; startTimer(n: string, ms: number, m: { type: string }): void }',
      'export function f(ctx: C): Date {',
      "  ctx.startTimer('t', 10, { type: 'T' });",
      '  return new Date(ctx.now() + ctx.random());',
      '}',
    ].join('\n');
    assert.deepEqual(await problems(code, 'apps/x/y.ts'), []);
  });

  it('the message names the way out', async () => {
    const [first] = await problems('export const t = Date.now();', 'apps/x/y.ts');
    assert.match(first!, /ctx\.now\(\)/);
  });
});

describe('determinism rules: the ways around them are closed too', () => {
  for (const [what, code] of [
    ['Date() without new', 'export const t = Date();'],
    ['globalThis.setTimeout', 'globalThis.setTimeout(() => {}, 1);'],
    ['globalThis.Math', 'export const r = globalThis.Math.random();'],
    ['a dynamic import', "export const m = import('node:fs');"],
  ] as const) {
    it(`reports ${what} in apps/`, async () => {
      const [result] = await new ESLint({ cwd: root }).lintText(code, { filePath: 'apps/x/y.ts' });
      assert.ok(result!.messages.length > 0, `${what} passed the lint`);
    });
  }
});
