// The NOPaxos OUM sequencer in the switch (Ordered Unreliable Multicast, OSDI 2016, section 3),
// implementing the contract in apps/oum/messages.ts exactly as the host-based sequencer does:
// a message with an `oum` header for group g is stamped (sessionNum, msgNum), msgNum rising by
// exactly 1 per message of g within a session and starting at 1, and one copy goes to every
// member of g. Receivers cannot tell which sequencer stamped it.
//
// Stages (each register array in its own stage; each is touched once per packet):
//   classify  table `groups` (group -> counter index, multicast group); register `session` (read)
//   epoch     register `groupSession`: exchange in the current session; a change means the
//             group's first message of a new session
//   sequence  register `counters` (64-bit per group): 1 on a new session, else old + 1
// A new session is one register write (`session`), so it is atomic: every later packet carries
// the new session number and restarts its group's count at 1, with no window in which a packet
// could be stamped with the new session and an old count.
import { behavior, type ActorRef, type AnyRef, type Behavior, type Msg } from '../../actors/index.ts';
import type { OumHeader, OumMessage, OumSetGroup, OumStartSession } from '../../apps/oum/messages.ts';
import { stamp } from '../../apps/oum/messages.ts';
import type { ControlReply, ControlRequest } from '../messages.ts';
import { markDrop } from '../packet.ts';
import { defineProgram, register, stage, table, type SwitchProgram } from '../program.ts';

export interface OumHeaders {
  group: number;
  sessionNum: number;
  msgNum: number;
  /** Metadata: the group's counter index (from the groups table). */
  counter: number;
  /** Metadata: 1 when this is the group's first message in the current session. */
  newSession: number;
}

export interface OumSequencerOptions {
  /** Multicast groups the sequencer can serve (size of the table and the registers). Default 1024. */
  readonly groups?: number;
}

/** Group g uses multicast group id g + 1 (0 means none) and counter g. */
export function oumMulticastGroup(group: number): number {
  return group + 1;
}

function oumHeaderOf(msg: Msg): OumHeader | undefined {
  const h = (msg as { oum?: unknown }).oum as OumHeader | undefined;
  return h !== null && typeof h === 'object' && Number.isInteger(h.group) && h.group >= 0 ? h : undefined;
}

export function oumSequencer(opts: OumSequencerOptions = {}): SwitchProgram<OumHeaders> {
  const size = opts.groups ?? 1024;
  const groupBits = Math.max(1, Math.ceil(Math.log2(size)));
  const groups = table<OumHeaders>({
    name: 'groups',
    match: 'exact',
    keys: [{ name: 'group', bits: 16, get: (h) => h.group }],
    size,
    actions: {
      sequence: {
        params: { counter: groupBits, mgid: 16 },
        run: (pkt, p) => {
          pkt.headers.counter = p.counter!;
          pkt.meta.mcastGroup = p.mgid!;
        },
      },
      drop: { run: (pkt) => markDrop(pkt, 'unknown-group') },
    },
    defaultAction: { action: 'drop' },
  });
  const session = register('session', 32, 1);
  const groupSession = register('groupSession', 32, size);
  const counters = register('counters', 64, size);
  return defineProgram<OumHeaders>({
    name: 'oum-sequencer',
    parse: (msg) => {
      const h = oumHeaderOf(msg);
      return h ? { group: h.group, sessionNum: 0, msgNum: 0, counter: 0, newSession: 0 } : undefined;
    },
    deparse: (pkt) => stamp(pkt.msg as OumMessage, pkt.headers.sessionNum, pkt.headers.msgNum),
    ingress: [
      stage<OumHeaders>('classify', { tables: [groups], registers: [session] }, (pkt, env) => {
        const s = env.register(session).read(0);
        if (s === 0) {
          // No session installed yet (or the switch restarted): stamping now would be stamping
          // "unstamped". The controller must install a session first.
          markDrop(pkt, 'no-session');
          return;
        }
        pkt.headers.sessionNum = s;
        env.apply(groups, pkt);
      }),
      stage<OumHeaders>('epoch', { registers: [groupSession] }, (pkt, env) => {
        const h = pkt.headers;
        h.newSession = env.register(groupSession).exchange(h.counter, h.sessionNum) !== h.sessionNum ? 1 : 0;
      }),
      stage<OumHeaders>('sequence', { registers: [counters] }, (pkt, env) => {
        const h = pkt.headers;
        const n = env.register(counters).rmw(h.counter, (old) => (h.newSession ? 1n : old + 1n));
        h.msgNum = Number(n);
      }),
    ],
  });
}

// ---- the controller ------------------------------------------------------------------------

export interface OumControllerConfig {
  /** The sequencer switch's control plane. */
  readonly control: ActorRef<ControlRequest>;
  /** ports[i]: the actor attached to port i (to turn group members into ports). */
  readonly ports: readonly AnyRef[];
  /** Groups the program serves (its `groups` option). Default 1024. */
  readonly groups?: number;
  /** Install this session at start. */
  readonly initialSessionNum?: number;
}

interface OumControllerState {
  sessionNum: number;
  readonly installed: Set<number>;
}

export type OumControllerMsg = OumSetGroup | OumStartSession | ControlReply;

/**
 * Configures an in-switch sequencer with the same messages a host-based sequencer takes
 * (OumSetGroup, OumStartSession), through the switch's control plane.
 */
export function oumController(cfg: OumControllerConfig): Behavior<OumControllerState, OumControllerMsg> {
  const size = cfg.groups ?? 1024;
  const portOf = (r: AnyRef): number => cfg.ports.findIndex((p) => p.host === r.host && p.path === r.path);
  return behavior<OumControllerState, OumControllerMsg>({
    init: (ctx) => {
      if (cfg.initialSessionNum !== undefined) ctx.send(ctx.self, { type: 'OumStartSession', sessionNum: cfg.initialSessionNum });
      return { sessionNum: 0, installed: new Set() };
    },
    receive: (s, msg, ctx) => {
      const replyTo = ctx.self as ActorRef<ControlReply>;
      switch (msg.type) {
        case 'OumSetGroup': {
          const ports = msg.members.map(portOf);
          const missing = msg.members.filter((_, i) => ports[i]! < 0);
          if (missing.length > 0 || !(Number.isInteger(msg.group) && msg.group >= 0 && msg.group < size)) {
            ctx.log.error({ group: msg.group, missing }, `oum controller: group must be 0..${size - 1} and its members attached to the switch`);
            return s;
          }
          // The multicast group first, so that no packet is stamped before it has somewhere to go.
          ctx.send(cfg.control, { type: 'MulticastGroupSet', group: oumMulticastGroup(msg.group), ports, replyTo });
          if (!s.installed.has(msg.group)) {
            s.installed.add(msg.group);
            ctx.send(cfg.control, {
              type: 'TableInsert', table: 'groups', match: [msg.group], action: 'sequence',
              params: { counter: msg.group, mgid: oumMulticastGroup(msg.group) }, replyTo,
            });
          }
          return s;
        }
        case 'OumStartSession':
          if (!(Number.isInteger(msg.sessionNum) && msg.sessionNum > s.sessionNum && msg.sessionNum < 2 ** 32)) {
            ctx.log.warn({ sessionNum: msg.sessionNum, current: s.sessionNum }, 'oum controller: a new session must be higher (and fit 32 bits)');
            return s;
          }
          s.sessionNum = msg.sessionNum;
          ctx.send(cfg.control, { type: 'RegisterWrite', register: 'session', index: 0, value: msg.sessionNum, replyTo });
          return s;
        case 'ControlReply':
          if (!msg.ok) ctx.log.error({ error: msg.error }, 'oum controller: the switch refused');
          return s;
      }
    },
  });
}
