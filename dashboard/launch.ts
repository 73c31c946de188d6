// `switchboard launch --dashboard`: the launcher's processes on a page served on loopback.
import type { Topology } from '../actors/index.ts';
import type { Launcher } from '../cli/launcher.ts';
import { LaunchSource } from './launch-source.ts';
import { serveDashboard, type Running } from './run.ts';

/** Serve the dashboard of `launcher` (call before it starts); prints the URL on stderr. */
export async function launchDashboard(launcher: Launcher, topology: Topology, transport: string, hosts: readonly string[], port: number): Promise<Running> {
  const source = new LaunchSource(launcher, topology, transport, hosts);
  const running = await serveDashboard(source, port, () => source.stop());
  source.start();
  process.stderr.write(`[launch] dashboard: ${running.url}\n`);
  return running;
}
