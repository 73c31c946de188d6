// `switchboard demo --dashboard`: NOPaxos and Pegasus simulated side by side, paced to the wall
// clock, with clients running until Ctrl-C, on a page served on loopback.
import { serveDashboard, untilSignal } from './run.ts';
import { SimSource } from './sim-source.ts';
import { nopaxosSystem } from './systems/nopaxos.ts';
import { pegasusSystem } from './systems/pegasus.ts';

export interface DemoDashboardOptions {
  readonly port: number;
  readonly seed: number;
  /** Virtual time per wall time. */
  readonly speed?: number;
}

export async function demoDashboard(o: DemoDashboardOptions): Promise<void> {
  const source = new SimSource([(g) => nopaxosSystem({ seed: o.seed + g }), (g) => pegasusSystem({ seed: o.seed + g })], o.speed);
  const running = await serveDashboard(source, o.port, () => source.stop());
  source.start();
  process.stdout.write(`Switchboard dashboard: ${running.url}\n`
    + `NOPaxos and Pegasus are running in the simulator (seed ${o.seed}), paced to the wall clock. Open the URL in a browser; Ctrl-C stops.\n`);
  const signal = await untilSignal();
  process.stdout.write(`\n${signal}: stopping the dashboard\n`);
  await running.close();
}
