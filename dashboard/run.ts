// Start a dashboard for a source, print its URL, and serve it until Ctrl-C (or SIGTERM).
import { DashboardServer } from './server.ts';
import type { DashboardSource } from './source.ts';

export interface Running {
  readonly url: string;
  /** Stop serving (and the source, through `onStop`). */
  close(): Promise<void>;
}

/** Serve `source` on 127.0.0.1:`port`; returns once it listens. */
export async function serveDashboard(source: DashboardSource, port: number, onStop: () => Promise<void> | void): Promise<Running> {
  const server = new DashboardServer({ port, source });
  const url = await server.start();
  let closed: Promise<void> | undefined;
  return {
    url,
    close: () => (closed ??= (async () => {
      await server.close();
      await onStop();
    })()),
  };
}

/** Resolves on the first SIGINT or SIGTERM (and stops listening for them). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
