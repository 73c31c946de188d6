// Scenarios from a user's own module: `switchboard sim ./my-scenario.ts` and `sweep` take a path
// where they take a built-in scenario's name, so that a protocol written outside this repo's
// apps gets the same seeds, fault plans, replay commands, --shrink, --events and --trace-out.
// The module's default export (or its export named `scenario`) is a Scenario (cli/scenarios.ts);
// docs/scenarios.md shows one.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './main.ts';
import { scenarios, type Scenario } from './scenarios.ts';

/** A scenario argument names a file when it has a path separator or a module's extension. */
export function isScenarioPath(arg: string): boolean {
  return /[\\/]/.test(arg) || /\.[cm]?[jt]s$/.test(arg);
}

/** What `sim` and `sweep` say a scenario argument may be. */
export const SCENARIO_ARGUMENT = `one of: ${Object.keys(scenarios).join(', ')}; or the path of a module that exports a scenario (docs/scenarios.md)`;

/** The built-in scenario of that name, or the one the module at that path exports. */
export async function resolveScenario(arg: string): Promise<Scenario> {
  const builtin = Object.hasOwn(scenarios, arg) ? scenarios[arg] : undefined;
  if (builtin) return builtin;
  if (!isScenarioPath(arg)) throw new UsageError(`unknown scenario '${arg}'; choose one of: ${Object.keys(scenarios).join(', ')}, or give the path of a scenario module (./my-scenario.ts)`);
  return loadScenarioFile(arg);
}

async function loadScenarioFile(path: string): Promise<Scenario> {
  const full = resolve(path);
  if (!existsSync(full)) throw new UsageError(`${path}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(full);
  } catch (err) {
    throw new UsageError(`${path}: cannot load it: ${firstLine((err as Error).message)}`);
  }
  const exported = mod['default'] ?? mod['scenario'];
  if (exported === undefined) throw new UsageError(`${path}: exports no scenario (a default export, or one named 'scenario')`);
  const problem = scenarioProblem(exported);
  if (problem) throw new UsageError(`${path}: its scenario ${problem}`);
  return checkedReports(path, exported as Scenario);
}

/**
 * The module's exports. A .ts file outside a package of `"type": "module"` is CommonJS to
 * Node, which cannot load this repo's modules from it (ESM): say so, and how to fix it.
 */
async function importModule(full: string): Promise<Record<string, unknown>> {
  try {
    return await import(pathToFileURL(full).href) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_REQUIRE_CYCLE_MODULE') throw err;
    throw new Error('it is a CommonJS module to Node (a .ts file outside a package whose package.json says "type": "module"): name it .mts, or add that package.json', { cause: err });
  }
}

/** What is wrong with a value taken for a Scenario, or undefined. */
export function scenarioProblem(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null) return `is ${x === null ? 'null' : typeof x}, not an object`;
  const s = x as Record<string, unknown>;
  if (typeof s['description'] !== 'string') return 'has no description (a string)';
  if (!(Number.isSafeInteger(s['defaultOps']) && (s['defaultOps'] as number) > 0)) return 'has no defaultOps (a positive integer)';
  if (typeof s['run'] !== 'function') return 'has no run function';
  for (const f of ['randomFaults', 'planEvents']) {
    if (s[f] !== undefined && typeof s[f] !== 'function') return `has a ${f} that is not a function`;
  }
  return undefined;
}

/** The scenario, with each report its run returns checked: a malformed one is an error that says what is missing. */
function checkedReports(path: string, scenario: Scenario): Scenario {
  return {
    ...scenario,
    run(run) {
      const report = scenario.run(run);
      const problem = reportProblem(report);
      if (problem) throw new Error(`${path}: run returned a report that ${problem}`);
      return report;
    },
  };
}

export function reportProblem(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null) return 'is not an object';
  const r = x as Record<string, unknown>;
  const need: [string, (v: unknown) => boolean, string][] = [
    ['scenario', (v) => typeof v === 'string', 'a string'],
    ['seed', Number.isSafeInteger, 'an integer'],
    ['ops', Number.isFinite, 'a number'],
    ['completed', Number.isFinite, 'a number'],
    ['linearizable', (v) => v === true || v === false || v === null, 'true, false or null'],
    ['violations', (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'), 'an array of strings'],
    ['traceHash', (v) => typeof v === 'string', 'a string'],
    ['virtualMs', Number.isFinite, 'a number'],
    ['wallMs', Number.isFinite, 'a number'],
    ['details', (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object'],
  ];
  for (const [field, ok, what] of need) if (!ok(r[field])) return `has no ${field} (${what})`;
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!;
}
