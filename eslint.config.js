// Lint rules. The important ones are the determinism rules (DESIGN.md principle 2): protocol
// code in apps/ and switch-model/ must reach the outside world only through the actor ctx, so
// that a simulation with one seed always gives one trace.
import tseslint from 'typescript-eslint';

const ioModules = ['nact', 'ws', 'dgram', 'net', 'tls', 'http', 'https', 'http2', 'fs', 'fs/promises',
  'child_process', 'worker_threads', 'cluster', 'timers', 'timers/promises', 'perf_hooks', 'readline'];

export const determinismRules = {
  'no-restricted-imports': ['error', {
    paths: ioModules.flatMap((name) => [name, `node:${name}`]).map((name) => ({
      name, message: 'Protocol code does no I/O: use the actor ctx (DESIGN.md principle 2).',
    })),
    patterns: [{ group: ['**/transport/websocket/*', '**/transport/udp/*', '**/cli/*', '**/bench/*', '**/test/*'],
      message: 'apps/ and switch-model/ may not depend on concrete transports, the CLI, benchmarks or tests.' }],
  }],
  'no-restricted-globals': ['error',
    ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate',
      'queueMicrotask', 'performance', 'process', 'fetch'].map((name) => ({
      name, message: `${name} is outside the actor's control: use ctx timers, ctx.now() or ctx.random().`,
    }))],
  'no-restricted-properties': ['error',
    { object: 'Date', property: 'now', message: 'Use ctx.now(): time is virtual in sim mode.' },
    { object: 'Math', property: 'random', message: 'Use ctx.random(): randomness is seeded.' },
    { object: 'performance', property: 'now', message: 'Use ctx.now(): time is virtual in sim mode.' },
    { object: 'crypto', property: 'randomUUID', message: 'Use ctx.random(): randomness is seeded.' },
    { object: 'crypto', property: 'getRandomValues', message: 'Use ctx.random(): randomness is seeded.' },
    ...['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'Date', 'Math', 'performance', 'process', 'fetch'].map((property) => ({
      object: 'globalThis', property, message: `globalThis.${property} is outside the actor's control: use ctx.`,
    }))],
  'no-restricted-syntax': ['error',
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'new Date() reads the wall clock: use ctx.now().' },
    { selector: "CallExpression[callee.name='Date']", message: 'Date() reads the wall clock: use ctx.now().' },
    { selector: 'ImportExpression', message: 'No dynamic imports in protocol code: what it needs comes through ctx.' }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'test-artifacts/**', 'scratch/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // The actor ctx is an object of closures over its cell; naming the cell is clearer than binds.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
  {
    files: ['apps/**/*.ts', 'switch-model/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: determinismRules,
  },
);
