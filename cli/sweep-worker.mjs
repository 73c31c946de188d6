// The entry of a sweep's worker thread (cli/commands/sweep.ts, runSweepParallel): sources are
// TypeScript, so the worker registers tsx's loader first, as bin/switchboard.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./sweep-worker.ts');
