// Every command of the CLI, registered in the order `--help` lists them.
import type { Command } from 'commander';
import { registerBench } from './bench.ts';
import { registerDemo } from './demo.ts';
import { registerFigures } from './figures.ts';
import { registerKv } from './kv.ts';
import { registerLaunch } from './launch.ts';
import { registerLincheck } from './lincheck.ts';
import { registerNode } from './node.ts';
import { registerSim } from './sim.ts';
import { registerSweep } from './sweep.ts';
import { registerTopology } from './topology.ts';

export function registerCommands(program: Command): void {
  registerDemo(program);
  registerSim(program);
  registerSweep(program);
  registerBench(program);
  registerFigures(program);
  registerLincheck(program);
  registerNode(program);
  registerLaunch(program);
  registerTopology(program);
  registerKv(program);
}
