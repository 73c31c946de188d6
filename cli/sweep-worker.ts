// A sweep's worker thread: it runs the blocks of seeds it is given, one seed at a time exactly
// as a sweep in one thread does (sweepSeed), and reports each seed's outcome as it goes.
import { parentPort, workerData } from 'node:worker_threads';
import { sweepSeed, type SweepWorkerData, type SweepWorkerMessage } from './commands/sweep.ts';
import { resolveScenario } from './scenario-file.ts';
import type { Scenario } from './scenarios.ts';

const data = workerData as SweepWorkerData;
// The worker shares the command's working directory, so a scenario module's path resolves here as there.
const scenario = data.registry === undefined
  ? await resolveScenario(data.name)
  : (await import(data.registry) as { scenarios: Record<string, Scenario | undefined> }).scenarios[data.name];
if (!scenario) throw new Error(`no scenario '${data.name}' in ${data.registry}`);
const port = parentPort!;
const post = (m: SweepWorkerMessage): void => port.postMessage(m);

port.on('message', (seeds: [number, number] | null) => {
  if (seeds === null) {
    port.close();
    return;
  }
  for (let seed = seeds[0]; seed <= seeds[1]; seed++) {
    const failure = sweepSeed(data.name, scenario, seed, data.from, data);
    post(failure ? { kind: 'seed', seed, failure } : { kind: 'seed', seed });
  }
  post({ kind: 'ready' });
});
post({ kind: 'ready' });
