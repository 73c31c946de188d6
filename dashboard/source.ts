// What the dashboard server shows: a source describes its systems once, then streams samples
// and events, and carries out the page's controls. Two sources exist: the demo's simulated
// NOPaxos and Pegasus (sim-source.ts) and the processes of `switchboard launch` (launch-source.ts).
import type { Observable } from 'rxjs';
import type { Control, DashboardEvent, Hello, Sample } from './protocol.ts';

export interface DashboardSource {
  hello(): Hello;
  /** Samples and events, as they come. */
  readonly updates: Observable<Sample | DashboardEvent>;
  /** Carry out a control; returns what was done, or throws ControlError saying why not. */
  control(c: Control): string;
}

/** A well-formed control that cannot be carried out (an unknown host, a host already down...). */
export class ControlError extends Error {
  override readonly name = 'ControlError';
}
