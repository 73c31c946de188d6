// The public face of the actor runtime.
export { ref, sameRef, refKey, formatRef, type ActorRef, type AnyRef, type Address, type Msg } from './ref.ts';
export {
  behavior, assertNever, DEFAULT_SUPERVISION,
  type Behavior, type Ctx, type AskResult, type Supervision, type SupervisionStrategy,
  type MailboxOptions, type OverflowPolicy, type SendOptions, type TimerOptions,
} from './behavior.ts';
export { Topology, type HostOptions, type HostSpec, type ActorSpec, type LinkSpec } from './topology.ts';
export { Runtime, AskTimeoutError } from './runtime.ts';
export { runSim, SimRuntime, seedFrom, type SimOptions, type RunLimits } from './sim.ts';
export { runLocal, runNode, LocalRuntime, NodeRuntime, type LocalOptions, type NodeOptions } from './local.ts';
export type { ActorMetrics, MetricsSnapshot } from './metrics.ts';
export type { DeadLetter, DeadLetterReason, Failure, Mode } from './system.ts';
export { Trace, traceLine, type TraceEntry, type TraceEvent, type TraceSink } from './trace.ts';
export { seededRandom, type Random } from './random.ts';
export { probe, Probe, ProbeTimeoutError, dropMatching, delayMatching, type EnvelopeMatch, type Match } from './testkit.ts';
