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
//
// The control messages of a sequencer (OumPing, OumSetGroup, OumStartSession) sent to the switch
// are recognised by the parser and sent to the CPU port, as a P4 program traps control traffic,
// with the value of the `session` register as the packet passed `classify`; the switch's
// controller (oumController, a PacketIn subscriber) carries them out and answers OumPing with
// OumPong carrying that session (-1 for none). So a NOPaxos controller can watch, reconfigure and
// fail over an in-switch sequencer exactly as a host-based one, at one address, the switch's: a
// pong proves the data plane alive and says what it stamps with now; a switch that restarted
// (its registers lost) answers -1, and the controller installs a new session.
import { behavior, type ActorRef, type AnyRef, type Behavior, type Msg } from '../../actors/index.ts';
import type { OumHeader, OumMessage, OumPing, OumPong, OumSetGroup, OumStartSession } from '../../apps/oum/messages.ts';
import { stamp } from '../../apps/oum/messages.ts';
import { versioned, type ControlReply, type ControlRequest, type PacketIn, type PacketInSubscribe, type PacketOut } from '../messages.ts';
import { markDrop, PORT_CPU } from '../packet.ts';
import { defineProgram, register, stage, table, type SwitchProgram } from '../program.ts';

export interface OumHeaders {
  group: number;
  sessionNum: number;
  msgNum: number;
  /** Metadata: the group's counter index (from the groups table). */
  counter: number;
  /** Metadata: 1 when this is the group's first message in the current session. */
  newSession: number;
  /** 1 for a sequencer control message (OumPing, OumSetGroup, OumStartSession): it goes to the CPU. */
  control: number;
}

/** What a sequencer control message becomes on its way to the CPU: the message and the session register as it passed. */
export interface OumToCpu {
  readonly type: 'OumToCpu';
  readonly msg: OumPing | OumSetGroup | OumStartSession;
  /** The `session` register (0: none). */
  readonly sessionNum: number;
}

const increment = (n: bigint): bigint => n + 1n;

/**
 * The multicast copies of one message are stamped alike, and messages are never mutated: the
 * deparser gives every copy the same stamped message, as the host-based sequencer sends one
 * stamped message to every member, instead of building one per copy. (A cache of a pure
 * function: the deparser's result is the same either way.)
 */
class LastStamp {
  private msg: OumMessage | undefined;
  private sessionNum = 0;
  private msgNum = 0;
  private out: OumMessage | undefined;

  of(msg: OumMessage, sessionNum: number, msgNum: number): OumMessage {
    if (msg === this.msg && sessionNum === this.sessionNum && msgNum === this.msgNum) return this.out!;
    this.msg = msg;
    this.sessionNum = sessionNum;
    this.msgNum = msgNum;
    return (this.out = stamp(msg, sessionNum, msgNum));
  }
}

function isControl(type: string): boolean {
  return type === 'OumPing' || type === 'OumSetGroup' || type === 'OumStartSession';
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
  const stamped = new LastStamp();
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
      if (isControl(msg.type)) return { group: 0, sessionNum: 0, msgNum: 0, counter: 0, newSession: 0, control: 1 };
      const h = oumHeaderOf(msg);
      return h ? { group: h.group, sessionNum: 0, msgNum: 0, counter: 0, newSession: 0, control: 0 } : undefined;
    },
    deparse: (pkt) => {
      const h = pkt.headers;
      if (h.control) return { type: 'OumToCpu', msg: pkt.msg as OumToCpu['msg'], sessionNum: h.sessionNum } satisfies OumToCpu;
      return stamped.of(pkt.msg as OumMessage, h.sessionNum, h.msgNum);
    },
    ingress: [
      stage<OumHeaders>('classify', { tables: [groups], registers: [session] }, (pkt, env) => {
        const s = env.register(session).read(0);
        if (pkt.headers.control) {
          // To the controller, with the session this sequencer stamps with now.
          pkt.headers.sessionNum = s;
          pkt.meta.egressPort = PORT_CPU;
          return;
        }
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
        if (h.control) return;
        h.newSession = env.register(groupSession).exchange(h.counter, h.sessionNum) !== h.sessionNum ? 1 : 0;
      }),
      stage<OumHeaders>('sequence', { registers: [counters] }, (pkt, env) => {
        const h = pkt.headers;
        if (h.control) return;
        // One stateful-ALU operation either way: restart the count, or add one.
        const cells = env.register(counters);
        if (h.newSession) {
          cells.write(h.counter, 1n);
          h.msgNum = 1;
        } else {
          h.msgNum = Number(cells.rmw(h.counter, increment));
        }
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
  /** Install this session when the controller first starts (not after its host restarts). */
  readonly initialSessionNum?: number;
}

export interface OumControllerState {
  /** The last session installed (0: none yet). */
  sessionNum: number;
  /** OumPong answers sent. */
  pongs: number;
}

export type OumControllerMsg = OumSetGroup | OumStartSession | OumPing | PacketIn | ControlReply;

/**
 * The in-switch sequencer's controller: the switch's CPU side of the OUM contract. It takes the
 * messages a host-based sequencer takes (apps/oum/host-sequencer.ts) and carries them out
 * through the switch's control plane:
 *   - OumSetGroup: the group's multicast group (members -> ports), then its `groups` entry;
 *   - OumStartSession: the `session` register (one write: atomic);
 *   - OumPing: answered with OumPong carrying the session the data plane stamps with (-1 for
 *     none), read from the `session` register by the ping itself on its way through the pipeline.
 * They may be sent to the switch (its address, as to a host-based sequencer: the program sends
 * them to the CPU and the switch hands them to this controller as PacketIn) or to this actor
 * (a ping is then injected into the pipeline with PacketOut, so that its answer still says what
 * the data plane does). It subscribes to PacketIn when it starts; give it as the switch's
 * `packetIn` too, so that it still hears them after the switch restarts.
 */
export function oumController(cfg: OumControllerConfig): Behavior<OumControllerState, OumControllerMsg> {
  const size = cfg.groups ?? 1024;
  const portOf = (r: AnyRef): number => cfg.ports.findIndex((p) => p.host === r.host && p.path === r.path);
  return behavior<OumControllerState, OumControllerMsg>({
    init: (ctx) => {
      ctx.send(cfg.control, { type: 'PacketInSubscribe', subscriber: ctx.self as ActorRef<PacketIn> } satisfies PacketInSubscribe);
      // Only at first start: after a restart (of this controller's host) the switch may be
      // stamping a later session, and installing the first one again would number it anew.
      if (cfg.initialSessionNum !== undefined && ctx.incarnation === 0) ctx.send(ctx.self, { type: 'OumStartSession', sessionNum: cfg.initialSessionNum });
      return { sessionNum: 0, pongs: 0 };
    },
    receive: (s, msg, ctx) => {
      const replyTo = ctx.self as ActorRef<ControlReply>;
      const setGroup = (m: OumSetGroup): void => {
        const ports = m.members.map(portOf);
        const missing = m.members.filter((_, i) => ports[i]! < 0);
        if (missing.length > 0 || !(Number.isInteger(m.group) && m.group >= 0 && m.group < size)) {
          ctx.log.error({ group: m.group, missing }, `oum controller: group must be 0..${size - 1} and its members attached to the switch`);
          return;
        }
        // The multicast group first, so that no packet is stamped before it has somewhere to go.
        ctx.send(cfg.control, { type: 'MulticastGroupSet', group: oumMulticastGroup(m.group), ports, replyTo });
        // Always: a switch that restarted has lost the entry (one that has it refuses the
        // duplicate, which is fine).
        ctx.send(cfg.control, {
          type: 'TableInsert', id: GROUP_INSERT, table: 'groups', match: [m.group], action: 'sequence',
          params: { counter: m.group, mgid: oumMulticastGroup(m.group) }, replyTo,
        });
      };
      const startSession = (m: OumStartSession): void => {
        // Meant for this switch before a restart: the session may be one it stamped in already.
        // A start that names no life is meant for the first (its sender had heard no pong yet).
        if ((m.incarnation ?? 0) !== ctx.incarnation) {
          ctx.log.warn({ sessionNum: m.sessionNum, for: m.incarnation, incarnation: ctx.incarnation }, 'oum controller: a session start meant for this switch before its restart');
          return;
        }
        if (!(Number.isInteger(m.sessionNum) && m.sessionNum > s.sessionNum && m.sessionNum < 2 ** 32)) {
          ctx.log.warn({ sessionNum: m.sessionNum, current: s.sessionNum }, 'oum controller: a new session must be higher (and fit 32 bits)');
          return;
        }
        s.sessionNum = m.sessionNum;
        // Versioned by the session: a late or duplicated write of an older session, on its way to
        // a control plane on another host, is refused as stale instead of setting the session back.
        ctx.send(cfg.control, versioned({ type: 'RegisterWrite', register: 'session', index: 0, value: m.sessionNum, replyTo }, m.sessionNum));
      };
      switch (msg.type) {
        case 'OumSetGroup':
          setGroup(msg);
          return s;
        case 'OumStartSession':
          startSession(msg);
          return s;
        case 'OumPing':
          // Through the data plane, like a ping sent to the switch.
          ctx.send(cfg.control, { type: 'PacketOut', msg } satisfies PacketOut);
          return s;
        case 'PacketIn': {
          const m = msg.msg as OumToCpu;
          if (m.type !== 'OumToCpu') return s;
          switch (m.msg.type) {
            case 'OumPing': {
              const pong: OumPong = { type: 'OumPong', seq: m.msg.seq, sessionNum: m.sessionNum === 0 ? -1 : m.sessionNum, incarnation: ctx.incarnation };
              ctx.send(m.msg.replyTo, pong);
              s.pongs++;
              break;
            }
            case 'OumSetGroup':
              setGroup(m.msg);
              break;
            case 'OumStartSession':
              startSession(m.msg);
              break;
          }
          return s;
        }
        case 'ControlReply':
          if (!msg.ok && !(msg.id === GROUP_INSERT && msg.error.includes('already has an entry'))) {
            ctx.log.error({ error: msg.error }, 'oum controller: the switch refused');
          }
          return s;
      }
    },
  });
}

/** The id of the controller's `groups` inserts (a refusal as a duplicate is expected). */
const GROUP_INSERT = 1;
