// The fixed-function parts of the pipeline, as plain classes that both execution modes share:
// the parser front end (ports, ids, rejection), the traffic manager (queues, multicast,
// recirculation, clones, timing) and the deparser back end (counting what leaves). The staged
// mode wraps each in its own actor; the fused mode holds them all in one.
import type { Msg } from '../actors/index.ts';
import type { Rx, SwitchStats } from './messages.ts';
import { emptyStats } from './messages.ts';
import type { Packet } from './packet.ts';
import { cloneHeaders, copyPacket, newMeta, payloadBytesOf, PORT_CPU, PORT_NONE, PORT_RECIRC } from './packet.ts';
import type { TargetProfile } from './profile.ts';
import { wireMs } from './profile.ts';
import type { SwitchProgram } from './program.ts';

function countDrop(stats: SwitchStats, reason: string): void {
  stats.drops[reason] = (stats.drops[reason] ?? 0) + 1;
}

// ---- parser front end -------------------------------------------------------------------------

export class ParserUnit<H> {
  private nextId = 0;
  rejected: string | undefined;
  readonly stats: SwitchStats;
  private readonly sizeOf: (msg: Msg) => number;

  constructor(readonly program: SwitchProgram<H>, readonly ports: number) {
    this.stats = emptyStats(ports);
    this.sizeOf = program.payloadBytes ?? payloadBytesOf;
  }

  /** A message from a port (or the CPU) becomes a packet, or is dropped and counted. */
  parse(rx: Rx): Packet<H> | undefined {
    return this.parseMsg(rx.msg, rx.port, rx.atMs);
  }

  /** `msg`, arrived on `port` at `atMs`, becomes a packet, or is dropped and counted. */
  parseMsg(msg: Msg, port: number, atMs: number): Packet<H> | undefined {
    if (port >= 0) this.stats.rxPackets[port]!++;
    else this.stats.fromCpu++;
    if (this.rejected !== undefined) {
      countDrop(this.stats, 'program-rejected');
      return undefined;
    }
    let headers: H | undefined;
    try {
      headers = this.program.parse(msg, port);
    } catch {
      headers = undefined;
    }
    if (headers === undefined) {
      countDrop(this.stats, 'parse-error');
      return undefined;
    }
    return { type: 'Packet', id: this.nextId++, headers, payloadBytes: this.sizeOf(msg), msg, meta: newMeta(port, atMs) };
  }

  /** A message from a sender that is attached to no port: dropped and counted. */
  unknownPort(): void {
    countDrop(this.stats, 'unknown-port');
  }

  /** A packet back from the recirculation port starts a new pass (its headers are kept). */
  reenter(pkt: Packet<H>, atMs: number): Packet<H> | undefined {
    this.stats.recirculated++;
    if (this.rejected !== undefined) {
      countDrop(this.stats, 'program-rejected');
      return undefined;
    }
    const m = pkt.meta;
    m.ingressPort = PORT_RECIRC;
    m.ingressTimestampMs = atMs;
    m.recirculations++;
    m.recirculate = false;
    m.cloneToCpu = false;
    m.mcastGroup = 0;
    m.egressPort = PORT_NONE;
    m.egressRid = 0;
    return pkt;
  }

  reject(reason: string): void {
    this.rejected ??= reason;
    this.stats.rejected ??= reason;
  }
}

// ---- traffic manager --------------------------------------------------------------------------

/**
 * One egress queue: a ring of parallel arrays (no object per packet). Entry i (a running count;
 * its slot is i & mask) is pkts, its size, when it leaves the buffer (dequeued into egress) and
 * when its last bit is on the wire (it is handed on then). Entries [head, tail) are not yet
 * handed on; entries [counted, tail) may still be in the buffer. Handed on when due (real time),
 * a packet has left the buffer, so counted >= head; handed on at admission (sim, `releaseAll`),
 * it stays counted until its time, so head >= counted. A queue under steady load may never be
 * empty (packets in the pipeline's latency overlap the next arrivals), so the ring reuses its
 * slots rather than growing.
 */
class PortQueue<H> {
  pkts: (Packet<H> | undefined)[];
  sizes: Float64Array;
  dqMs: Float64Array;
  emitMs: Float64Array;
  mask: number;
  head = 0;
  counted = 0;
  tail = 0;
  bytes = 0;
  maxBytes = 0;
  /** When the port finishes serialising the last dequeued packet. */
  freeAtMs = 0;

  constructor(readonly gbps: number, readonly limitBytes: number, readonly egressLatencyMs: number) {
    const cap = 16;
    this.mask = cap - 1;
    this.pkts = new Array<Packet<H> | undefined>(cap).fill(undefined);
    this.sizes = new Float64Array(cap);
    this.dqMs = new Float64Array(cap);
    this.emitMs = new Float64Array(cap);
  }

  /** The first entry still in use: not yet handed on, or still in the buffer. */
  low(): number {
    return this.head < this.counted ? this.head : this.counted;
  }

  /** Twice the slots, the entries in use kept at their running counts. */
  grow(): void {
    const cap = (this.mask + 1) * 2;
    const mask = cap - 1;
    const pkts = new Array<Packet<H> | undefined>(cap).fill(undefined);
    const sizes = new Float64Array(cap);
    const dqMs = new Float64Array(cap);
    const emitMs = new Float64Array(cap);
    for (let i = this.low(); i < this.tail; i++) {
      const from = i & this.mask;
      const to = i & mask;
      pkts[to] = this.pkts[from];
      sizes[to] = this.sizes[from]!;
      dqMs[to] = this.dqMs[from]!;
      emitMs[to] = this.emitMs[from]!;
    }
    this.pkts = pkts;
    this.sizes = sizes;
    this.dqMs = dqMs;
    this.emitMs = emitMs;
    this.mask = mask;
  }
}

/** Slack: the scheduler adds delays to the current time, which may round by an ulp. */
const EPS_MS = 1e-9;

/**
 * Per-port queues with a byte limit (tail drop), multicast replication, recirculation, clones to
 * the CPU, and the timing model. All times are computed from the packet's ingress time stamp, so
 * a packet's fate does not depend on how events at one instant are interleaved:
 *   reaches the TM   t = ingress time + parser + ingress stages + TM latency
 *   leaves the buffer dq = max(t, port free)   (the port then serialises it: free again at dq + wire)
 *   is handed on      dq + egress stages + deparser + wire time   (its last bit is on the wire)
 * Queues 0..ports-1 are the front-panel ports, then the CPU port, then the recirculation port.
 */
export class TrafficManager<H> {
  readonly queues: PortQueue<H>[] = [];
  readonly groups = new Map<number, readonly number[]>();
  readonly stats: SwitchStats;
  readonly cpuQueue: number;
  readonly recircQueue: number;
  readonly ingressLatencyMs: number;
  /** Queues holding packets not yet handed on, in the order their busy periods began. */
  private readonly busy: number[] = [];
  /** How many queues the last `admit` made busy (their heads may be due before anything else). */
  busyCount = 0;
  /**
   * Packets handed on by the last `releaseDue` or `releaseAll` call, their queues and when each
   * is due (its last bit on the wire): the first `outCount` of each.
   */
  readonly out: Packet<H>[] = [];
  readonly outQueue: number[] = [];
  readonly outAtMs: number[] = [];
  outCount = 0;
  private readonly clone: (h: H) => H;

  constructor(readonly program: SwitchProgram<H>, readonly ports: number, readonly profile: TargetProfile) {
    this.stats = emptyStats(ports);
    const ns = 1e-6;
    this.ingressLatencyMs = (profile.parserLatencyNs + program.ingress.length * profile.stageLatencyNs + profile.tmLatencyNs) * ns;
    const egressLatencyMs = (program.egress.length * profile.stageLatencyNs + profile.deparserLatencyNs) * ns;
    for (let p = 0; p < ports; p++) this.queues.push(new PortQueue(profile.portGbps, profile.queueBytesPerPort, egressLatencyMs));
    this.cpuQueue = ports;
    this.queues.push(new PortQueue(profile.cpuPortGbps, profile.queueBytesPerPort, profile.deparserLatencyNs * ns));
    this.recircQueue = ports + 1;
    this.queues.push(new PortQueue(profile.recirculationPortGbps, profile.queueBytesPerPort, 0));
    this.clone = program.cloneHeaders ?? cloneHeaders;
  }

  /** Take a packet from the end of the ingress pipeline. Sets `busyCount`. */
  admit(pkt: Packet<H>): void {
    this.busyCount = 0;
    const m = pkt.meta;
    if (m.drop) return countDrop(this.stats, m.dropReason || 'dropped');
    const t = m.ingressTimestampMs + this.ingressLatencyMs;
    if (m.cloneToCpu) {
      const c = copyPacket(pkt, this.clone);
      c.meta.egressPort = PORT_CPU;
      this.enqueue(this.cpuQueue, c, t);
    }
    if (m.recirculate) {
      if (m.recirculations >= this.profile.maxRecirculations) return countDrop(this.stats, 'recirculation-limit');
      return this.enqueue(this.recircQueue, pkt, t);
    }
    if (m.mcastGroup !== 0) {
      const members = this.groups.get(m.mcastGroup);
      if (!members || members.length === 0) return countDrop(this.stats, 'empty-multicast-group');
      // Copies first, from the packet as ingress left it; the original is the first copy.
      const copies: Packet<H>[] = [pkt];
      for (let i = 1; i < members.length; i++) copies.push(copyPacket(pkt, this.clone));
      for (let i = 0; i < members.length; i++) {
        const c = copies[i]!;
        c.meta.egressPort = members[i]!;
        c.meta.egressRid = i;
        this.enqueue(members[i]!, c, t);
      }
      return;
    }
    const port = m.egressPort;
    if (port >= 0 && port < this.ports) return this.enqueue(port, pkt, t);
    if (port === PORT_CPU) return this.enqueue(this.cpuQueue, pkt, t);
    countDrop(this.stats, port === PORT_NONE ? 'no-egress-port' : 'bad-egress-port');
  }

  private enqueue(qi: number, pkt: Packet<H>, t: number): void {
    const q = this.queues[qi]!;
    // Packets dequeued by time t have left the buffer.
    while (q.counted < q.tail && q.dqMs[q.counted & q.mask]! <= t) q.bytes -= q.sizes[q.counted++ & q.mask]!;
    const bytes = pkt.payloadBytes;
    if (q.bytes + bytes > q.limitBytes) {
      countDrop(this.stats, 'tail-drop');
      if (qi < this.ports) this.stats.tailDrops[qi]!++;
      return;
    }
    const wire = wireMs(bytes, q.gbps);
    const dqMs = t > q.freeAtMs ? t : q.freeAtMs;
    q.freeAtMs = dqMs + wire;
    if (q.head === q.tail) {
      this.busy.push(qi);
      this.busyCount++;
    }
    if (q.tail - q.low() > q.mask) q.grow();
    const j = q.tail++ & q.mask;
    q.pkts[j] = pkt;
    q.sizes[j] = bytes;
    q.dqMs[j] = dqMs;
    q.emitMs[j] = dqMs + q.egressLatencyMs + wire;
    q.bytes += bytes;
    if (q.bytes > q.maxBytes) {
      q.maxBytes = q.bytes;
      if (qi < this.ports) this.stats.maxQueueBytes[qi] = q.bytes;
    }
  }

  /** When the first packet of any queue is due, or undefined if every queue is empty. */
  nextDueMs(): number | undefined {
    const busy = this.busy;
    let min = Infinity;
    for (let k = 0; k < busy.length; k++) {
      const q = this.queues[busy[k]!]!;
      const e = q.emitMs[q.head & q.mask]!;
      if (e < min) min = e;
    }
    return min === Infinity ? undefined : min;
  }

  /**
   * Hand on every packet that is due at `nowMs`, from every queue: the first `outCount` of `out`
   * (and of `outQueue`, their queues), queue after queue in the order their busy periods began,
   * each queue's in order. Returns that count.
   */
  releaseDue(nowMs: number): number {
    return this.release(nowMs + EPS_MS, true);
  }

  /**
   * Hand on every packet not yet handed on, however far ahead it is due (its time in
   * `outAtMs`), in the order `releaseDue` would, for a caller that delivers each at its time
   * (sim). The packets stay counted in their queue's buffer until they leave it. Returns the count.
   */
  releaseAll(): number {
    return this.release(Infinity, false);
  }

  /** Hand on the packets due by `dueMs`; `leftBuffer`: they have left the buffer by now. */
  private release(dueMs: number, leftBuffer: boolean): number {
    const out = this.out;
    const outQueue = this.outQueue;
    const outAtMs = this.outAtMs;
    const busy = this.busy;
    let n = 0;
    let emptied = 0;
    for (let k = 0; k < busy.length; k++) {
      const qi = busy[k]!;
      const q = this.queues[qi]!;
      const mask = q.mask;
      while (q.head < q.tail) {
        const i = q.head;
        const j = i & mask;
        const at = q.emitMs[j]!;
        if (at > dueMs) break;
        if (leftBuffer && q.counted <= i) {
          q.bytes -= q.sizes[j]!;
          q.counted = i + 1;
        }
        const pkt = q.pkts[j]!;
        q.pkts[j] = undefined;
        pkt.meta.egressTimestampMs = q.dqMs[j]!;
        out[n] = pkt;
        outAtMs[n] = at;
        outQueue[n++] = qi;
        q.head = i + 1;
      }
      if (q.head === q.tail) {
        // Running counts start again from 0 once nothing is left in the buffer either.
        if (q.counted === q.tail) {
          q.head = 0;
          q.counted = 0;
          q.tail = 0;
        }
        emptied++;
      }
    }
    if (emptied > 0) {
      let w = 0;
      for (let k = 0; k < busy.length; k++) {
        const q = this.queues[busy[k]!]!;
        if (q.head < q.tail) busy[w++] = busy[k]!;
      }
      busy.length = w;
    }
    // Keep no references to packets that have left.
    for (let i = n; i < this.outCount; i++) out[i] = undefined as unknown as Packet<H>;
    this.outCount = n;
    return n;
  }

  /** Control plane: set a multicast group's ports. Returns an error or null. */
  setGroup(group: number, ports: readonly number[]): string | null {
    if (!Number.isInteger(group) || group < 1 || group > this.profile.maxMulticastGroup) {
      return `multicast group ids are 1..${this.profile.maxMulticastGroup}; got ${group}`;
    }
    for (const p of ports) {
      if (!Number.isInteger(p) || p < 0 || p >= this.ports) return `multicast group ${group}: no port ${p} (ports are 0..${this.ports - 1})`;
    }
    if (new Set(ports).size !== ports.length) return `multicast group ${group}: a port is listed twice`;
    if (ports.length === 0) this.groups.delete(group);
    else this.groups.set(group, [...ports]);
    return null;
  }
}

// ---- deparser back end ------------------------------------------------------------------------

export class DeparserUnit<H> {
  readonly stats: SwitchStats;

  constructor(readonly program: SwitchProgram<H>, readonly ports: number) {
    this.stats = emptyStats(ports);
  }

  /** The message to send for a packet leaving the pipeline, or undefined if it is dropped. */
  emit(pkt: Packet<H>): Msg | undefined {
    const m = pkt.meta;
    if (m.drop) {
      countDrop(this.stats, m.dropReason || 'dropped');
      return undefined;
    }
    let msg: Msg;
    try {
      msg = this.program.deparse(pkt);
    } catch (err) {
      countDrop(this.stats, 'deparse-error');
      if (this.stats.errors.length < 10) this.stats.errors.push(`deparser: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    if (m.egressPort >= 0) {
      this.stats.txPackets[m.egressPort]!++;
      this.stats.txBytes[m.egressPort]! += pkt.payloadBytes;
    } else {
      this.stats.toCpu++;
    }
    return msg;
  }
}
