// The dashboard's wire protocol: small JSON messages over one WebSocket. The page sends only
// control messages, which the server validates with a compiled typebox schema before anything
// acts on them; the server sends what the page draws (a description of the topology once, then
// samples and events). A malformed message gets an `error` reply and changes nothing.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Id = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Base = { type: Type.Literal('control'), id: Id, system: Name };

/** Every action a page may ask for. Which apply depends on the system (see SystemView.controls). */
export const ControlSchema = Type.Union([
  Type.Object({ ...Base, action: Type.Literal('crash'), host: Name }, { additionalProperties: false }),
  Type.Object({ ...Base, action: Type.Literal('restart'), host: Name }, { additionalProperties: false }),
  Type.Object({ ...Base, action: Type.Literal('cut'), a: Name, b: Name }, { additionalProperties: false }),
  Type.Object({ ...Base, action: Type.Literal('heal') }, { additionalProperties: false }),
  Type.Object({ ...Base, action: Type.Literal('fail-sequencer') }, { additionalProperties: false }),
]);

export type Control = Static<typeof ControlSchema>;
export type ControlAction = Control['action'];

const checkControl = TypeCompiler.Compile(ControlSchema);

/** Largest message the server accepts from a page (a control message is well under 200 bytes). */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

/** Parse and validate one message from a page: the control, or why it is not one. */
export function parseControl(text: string): { ok: true; control: Control } | { ok: false; error: string; id?: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const id = typeof value === 'object' && value !== null && Number.isSafeInteger((value as { id?: unknown }).id)
    ? (value as { id: number }).id : undefined;
  if (checkControl.Check(value)) return { ok: true, control: value };
  const first = checkControl.Errors(value).First();
  const where = first?.path ? ` at ${first.path}` : '';
  return {
    ok: false, ...(id !== undefined ? { id } : {}),
    error: `not a control message${where}: ${first?.message ?? 'invalid'} (expected {type:'control', id, system, action: crash|restart|cut|heal|fail-sequencer, ...})`,
  };
}

// ---- server to page -----------------------------------------------------------------------

export interface HostView {
  readonly name: string;
  readonly role: string;
}

export interface SwitchView {
  readonly host: string;
  readonly mode: string;
  /** Pipeline stages in packet order (staged mode: one actor each). */
  readonly stages: readonly string[];
  /** Port i's peer host. */
  readonly ports: readonly string[];
}

export interface SystemView {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly hosts: readonly HostView[];
  readonly switches: readonly SwitchView[];
  /** Actor paths by host. */
  readonly actors: Readonly<Record<string, readonly string[]>>;
  readonly controls: readonly ControlAction[];
}

export interface Hello {
  readonly type: 'hello';
  readonly title: string;
  /** How the systems run (sim paced to wall time, processes...), in a sentence. */
  readonly mode: string;
  readonly systems: readonly SystemView[];
}

export interface HostSample {
  readonly up: boolean;
  /** Messages processed by the host's actors per second (of the run's clock) since the last sample. */
  readonly msgsPerSec: number;
  /** Messages waiting in its actors' mailboxes now. */
  readonly queued: number;
  readonly failures: number;
}

export interface LinkSample {
  readonly a: string;
  readonly b: string;
  readonly cut: boolean;
  /** Messages per second both ways since the last sample. */
  readonly msgsPerSec: number;
  readonly dropped: number;
}

export interface ClientSample {
  readonly opsPerSec: number;
  readonly meanMs: number | null;
  readonly p99Ms: number | null;
  readonly completed: number;
}

export interface NopaxosProtocol {
  readonly kind: 'nopaxos';
  readonly replicas: readonly {
    readonly host: string; readonly up: boolean; readonly status: string; readonly leader: boolean;
    readonly view: number; readonly session: number; readonly log: number; readonly commit: number;
  }[];
  readonly sequencers: readonly { readonly host: string; readonly up: boolean; readonly active: boolean; readonly session: number; readonly stamped: number }[];
  readonly session: number;
  readonly view: number;
  readonly stats: Readonly<Record<string, number>>;
}

export interface PegasusProtocol {
  readonly kind: 'pegasus';
  readonly servers: readonly {
    readonly host: string; readonly up: boolean; readonly state: string; readonly opsPerSec: number; readonly requests: number; readonly replicated: number;
  }[];
  readonly directory: { readonly size: number; readonly capacity: number; readonly rkeys: readonly { readonly key: string; readonly rf: number }[] };
  readonly switch: {
    readonly host: string; readonly up: boolean;
    readonly stages: readonly { readonly name: string; readonly msgsPerSec: number; readonly queued: number }[];
    readonly ports: readonly { readonly peer: string; readonly queued: number; readonly txPerSec: number; readonly tailDrops: number }[];
    readonly drops: Readonly<Record<string, number>>;
  };
  readonly stats: Readonly<Record<string, number>>;
}

export interface LaunchProtocol {
  readonly kind: 'launch';
  readonly hosts: readonly {
    readonly host: string; readonly role: string; readonly state: string; readonly pid: number | null;
    readonly served: number; readonly completed: number; readonly errors: number; readonly restarts: number;
  }[];
}

export type ProtocolSample = NopaxosProtocol | PegasusProtocol | LaunchProtocol;

export interface Sample {
  readonly type: 'sample';
  readonly system: string;
  /** The run's clock (virtual ms in sim). */
  readonly atMs: number;
  /** Run time per wall time over the last sample (1: keeping pace). */
  readonly speed: number;
  readonly hosts: Readonly<Record<string, HostSample>>;
  readonly links: readonly LinkSample[];
  readonly deadLetters: number;
  readonly failures: number;
  readonly clients: ClientSample;
  readonly protocol: ProtocolSample;
}

export interface DashboardEvent {
  readonly type: 'event';
  readonly system: string;
  readonly atMs: number;
  readonly level: 'info' | 'warn' | 'error';
  readonly text: string;
}

export interface Reply {
  readonly type: 'reply';
  readonly id: number;
  readonly text: string;
}

export interface ErrorReply {
  readonly type: 'error';
  readonly id?: number;
  readonly error: string;
}

export type ServerMsg = Hello | Sample | DashboardEvent | Reply | ErrorReply;
