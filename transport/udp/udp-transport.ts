// The UDP transport (node:dgram): at most once, loss visible, no order promised, as a real
// network is. Nothing here retransmits, acknowledges or reorders: protocols that need more
// (NOPaxos gap agreement, client retries) see the loss and deal with it themselves.
//
// Datagram (version 1; all integers big-endian):
//
//   offset       size      field
//   0            1         version = 1
//   1            1         F = byte length of the sender host name (1..255)
//   2            F         sender host name, UTF-8
//   2+F          1         T = byte length of the receiver host name (1..255)
//   3+F          T         receiver host name, UTF-8
//   3+F+T        6         incarnation (u48): the sender's creation time in ms, strictly rising
//                          across its restarts (and across transports of one process)
//   9+F+T        6         sequence (u48): datagram number from this sender to this receiver
//                          within the incarnation, from 1
//   15+F+T       ...       one or more frames, each: u16 length, then a FrameCodec payload of
//                          one envelope
//   end-16       16        tag: HMAC-SHA256(secret, "switchboard/udp/1", everything before),
//                          first 16 bytes (auth.ts `hmac` length-prefixes both parts)
//
// Why frames of one envelope each rather than one FrameCodec payload for the batch: the sender
// must know, before it packs a datagram, how many bytes every envelope takes. Encoding each
// envelope once gives exact sizes and needs no second encoding of the batch; the cost is 5 bytes
// per envelope (tag byte, brackets, length). A datagram is refused whole if any frame fails.
//
// Receipt, cheapest check first; a datagram that fails is dropped, counted in stats.rejected
// under its reason, emitted as a 'rejected' event and logged at most once per reason and source
// address per second:
//   longer than maxDatagramBytes -> 'oversized'; shorter than the smallest header and tag ->
//   'truncated'; other version -> 'undecodable'; tag wrong (constant-time compare, before any
//   parsing) -> 'unauthenticated'; receiver name not ours -> 'misrouted'; (incarnation, sequence)
//   already seen, older than the replay window or from an earlier incarnation -> 'replayed';
//   then FrameCodec.decode of every frame (size, decoding, envelope shape, message schema) ->
//   its reason; an envelope addressed to another host -> 'misrouted'.
//
// Replay defence (replay-guard.ts): a 1024-datagram sliding window per sender, as IPsec does; it
// costs a map lookup and a bit per datagram. Limits: a receiver that restarts forgets the
// windows, so datagrams recorded from a sender's current incarnation can each be replayed once
// to it; and a sender whose clock stepped back further than its restart took comes back with a
// lower incarnation and is refused ('replayed', logged) by receivers that remember it, until
// they restart. Any host that knows the cluster secret can claim any host name: the secret
// authenticates the cluster, not a host.
//
// Sending: send() encodes the envelope and appends it to its peer's queue; one flush per event
// loop turn (setImmediate) packs each queue into as few datagrams as fit maxDatagramBytes
// (default 1472: an Ethernet MTU of 1500 less the IPv4 and UDP headers, so nothing fragments).
// An envelope that does not fit one datagram on its own is dropped as 'too-large': there is no
// fragmentation, because losing one fragment would lose the whole and hide why. Other drops, all
// counted in stats.dropped and emitted as 'dropped' events, never thrown: 'unknown-host' (no
// address for it), 'closed', 'not-started', 'address-family' (IPv6 peer on an IPv4 socket or the
// reverse), 'queue-full' (over maxQueuedEnvelopes in one turn), 'backpressure' (the socket's own
// send queue is over maxSendQueueBytes), 'unencodable', and socket errors by code ('ENOBUFS',
// 'EHOSTUNREACH', ...). stats.sent* count what the socket reports as sent.
//
// Events: 'rejected' and 'dropped' as above; 'peerUp' on the first authenticated datagram from a
// host and again when it restarts (new incarnation). No 'peerDown': UDP has no connection whose
// end could be seen, so a silent peer is for the protocol's own timeouts to find.
import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { Subject, type Observable } from 'rxjs';
import { MIN_SECRET_BYTES } from '../auth.ts';
import { FrameCodec } from '../frame.ts';
import {
  countDrop, countReject, emptyStats,
  type DeliverFn, type DeliveryGuarantees, type Envelope, type RejectReason, type Transport,
  type TransportEvent, type TransportStats,
} from '../types.ts';
import {
  MAX_UDP_PAYLOAD_BYTES, MIN_MAX_DATAGRAM_BYTES, frameBudgetBytes, framedBytes, headerPrefix, hostBytes, openDatagram, sealDatagram,
} from './datagram.ts';
import { LogLimiter } from './log-limiter.ts';
import { DEFAULT_REPLAY_WINDOW, ReplayGuard } from './replay-guard.ts';

export const DEFAULT_LISTEN_ADDRESS = '127.0.0.1';
export const DEFAULT_MAX_DATAGRAM_BYTES = 1472;
/** SO_RCVBUF / SO_SNDBUF asked for: loopback drops when the receive buffer overflows. */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_ENVELOPES = 65_536;
export const DEFAULT_MAX_SEND_QUEUE_BYTES = 16 * 1024 * 1024;

export interface UdpPeerAddress {
  readonly address: string;
  readonly port: number;
}

export interface UdpTransportOptions {
  /** The host this endpoint speaks for. */
  readonly host: string;
  /** Where to bind; port 0 takes any free port (read it from `port` after start()). */
  readonly listen: { readonly address?: string; readonly port: number };
  /** Where the other hosts are; more can be given with setPeer(). */
  readonly peers?: Readonly<Record<string, UdpPeerAddress>>;
  /** The cluster secret (see auth.ts loadSecret). */
  readonly secret: Buffer;
  readonly frames?: FrameCodec;
  /** Largest datagram sent or accepted; every host of a cluster must use the same. */
  readonly maxDatagramBytes?: number;
  readonly socketBufferBytes?: number;
  /** Envelopes queued for one peer within one event-loop turn, at most. */
  readonly maxQueuedEnvelopes?: number;
  /** Bytes waiting in the socket's own send queue beyond which datagrams are dropped. */
  readonly maxSendQueueBytes?: number;
  /** Datagrams per sender remembered by the replay defence. */
  readonly replayWindow?: number;
  readonly logger?: Logger;
}

/** Everything this end keeps about one peer it sends to. */
interface PeerLink {
  readonly host: string;
  address: string;
  port: number;
  familyOk: boolean;
  /** Version, both names and the incarnation: the same for every datagram to this peer. */
  readonly prefix: Buffer;
  readonly budgetBytes: number;
  /** Frames waiting for this turn's flush. */
  queue: Buffer[];
  nextSequence: number;
}

type State = 'new' | 'starting' | 'open' | 'closed';

let lastIncarnation = 0;

/** A number above every earlier incarnation of this process and, by the clock, of earlier processes. */
function nextIncarnation(): number {
  lastIncarnation = Math.max(Date.now(), lastIncarnation + 1);
  return lastIncarnation;
}

export class UdpTransport implements Transport {
  readonly kind = 'udp' as const;
  readonly guarantees: DeliveryGuarantees = { reliable: false, fifo: false };
  readonly host: string;
  readonly events: Observable<TransportEvent>;
  readonly incarnation = nextIncarnation();

  private readonly secret: Buffer;
  private readonly frames: FrameCodec;
  private readonly listenAddress: string;
  private readonly listenPort: number;
  private readonly socketType: SocketType;
  /** Largest datagram sent or accepted. */
  readonly maxDatagramBytes: number;
  private readonly socketBufferBytes: number;
  private readonly maxQueuedEnvelopes: number;
  private readonly maxSendQueueBytes: number;
  private readonly logger: Logger | undefined;
  private readonly subject = new Subject<TransportEvent>();
  private readonly counters: TransportStats = emptyStats();
  private readonly links = new Map<string, PeerLink>();
  private readonly replay: ReplayGuard;
  private readonly logLimiter = new LogLimiter();

  private state: State = 'new';
  private socket: Socket | undefined;
  private boundPort: number | undefined;
  private deliver: DeliverFn = () => {};
  private dirty: PeerLink[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: UdpTransportOptions) {
    hostBytes(opts.host);
    if (opts.secret.length < MIN_SECRET_BYTES) {
      throw new RangeError(`the cluster secret is ${opts.secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
    }
    this.host = opts.host;
    this.secret = opts.secret;
    this.frames = opts.frames ?? new FrameCodec();
    this.listenAddress = opts.listen.address ?? DEFAULT_LISTEN_ADDRESS;
    this.listenPort = checkPort(opts.listen.port, 'listen port', 0);
    this.socketType = familyOf(this.listenAddress) === 6 ? 'udp6' : 'udp4';
    this.maxDatagramBytes = checkRange(opts.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES,
      'maxDatagramBytes', MIN_MAX_DATAGRAM_BYTES, MAX_UDP_PAYLOAD_BYTES);
    this.socketBufferBytes = checkRange(opts.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES,
      'socketBufferBytes', 1, 2 ** 31 - 1);
    this.maxQueuedEnvelopes = checkRange(opts.maxQueuedEnvelopes ?? DEFAULT_MAX_QUEUED_ENVELOPES,
      'maxQueuedEnvelopes', 1, 2 ** 31 - 1);
    this.maxSendQueueBytes = checkRange(opts.maxSendQueueBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES,
      'maxSendQueueBytes', 0, Number.MAX_SAFE_INTEGER);
    this.replay = new ReplayGuard(opts.replayWindow ?? DEFAULT_REPLAY_WINDOW);
    this.logger = opts.logger?.child({ transport: 'udp', host: opts.host });
    this.events = this.subject.asObservable();
    for (const [host, addr] of Object.entries(opts.peers ?? {})) this.setPeer(host, addr);
  }

  /** The port bound by start() (useful with listen port 0). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error(`udp transport '${this.host}' is not bound: call start() first`);
    return this.boundPort;
  }

  /** Add a peer or move it to a new address; its queue and datagram numbering carry on. */
  setPeer(host: string, addr: UdpPeerAddress): void {
    const port = checkPort(addr.port, `port of peer '${host}'`, 1);
    if (addr.address.length === 0) throw new RangeError(`peer '${host}' has an empty address`);
    const family = familyOf(addr.address);
    const familyOk = family === 0 || (family === 6) === (this.socketType === 'udp6');
    const link = this.links.get(host);
    if (link) {
      link.address = addr.address;
      link.port = port;
      link.familyOk = familyOk;
      return;
    }
    const prefix = headerPrefix(this.host, host, this.incarnation);
    this.links.set(host, {
      host, address: addr.address, port, familyOk, prefix,
      budgetBytes: frameBudgetBytes(prefix, this.maxDatagramBytes), queue: [], nextSequence: 1,
    });
  }

  start(deliver: DeliverFn): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error(`udp transport '${this.host}' cannot start: it is ${this.state}`));
    this.state = 'starting';
    this.deliver = deliver;
    this.starting = this.open();
    return this.starting;
  }

  send(env: Envelope): void {
    const to = env.to.host;
    if (this.state === 'closed') return this.drop('closed', to, 1);
    if (this.state !== 'open') return this.drop('not-started', to, 1);
    const link = this.links.get(to);
    if (link === undefined) return this.drop('unknown-host', to, 1);
    if (!link.familyOk) return this.drop('address-family', to, 1, `${link.address} is not reachable from a ${this.socketType} socket`);
    if (link.queue.length >= this.maxQueuedEnvelopes) return this.drop('queue-full', to, 1);
    const frame = this.encode(env);
    if (frame === undefined) return;
    if (framedBytes(frame) > link.budgetBytes) {
      return this.drop('too-large', to, 1, `${frame.length} bytes encoded; ${link.budgetBytes - 2} fit in one datagram`);
    }
    link.queue.push(frame);
    if (link.queue.length === 1) this.dirty.push(link);
    this.flushTimer ??= setImmediate(this.flush);
  }

  stats(): TransportStats {
    return { ...this.counters, dropped: { ...this.counters.dropped }, rejected: { ...this.counters.rejected } };
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  // ---- opening and closing ----

  private async open(): Promise<void> {
    const socket = createSocket({ type: this.socketType });
    socket.on('message', this.onMessage);
    await bindSocket(socket, this.listenPort, this.listenAddress);
    socket.on('error', this.onSocketError);
    this.tuneBuffers(socket);
    this.socket = socket;
    this.boundPort = socket.address().port;
    if (this.state === 'starting') this.state = 'open';
    this.logger?.debug({ address: this.listenAddress, port: this.boundPort }, 'udp transport listening');
  }

  private tuneBuffers(socket: Socket): void {
    try {
      socket.setRecvBufferSize(this.socketBufferBytes);
      socket.setSendBufferSize(this.socketBufferBytes);
    } catch (err) {
      // The kernel caps the sizes (net.core.rmem_max); a smaller buffer only means more loss.
      this.logger?.warn({ err, askedBytes: this.socketBufferBytes }, 'could not enlarge the socket buffers');
    }
  }

  private async shutDown(): Promise<void> {
    this.state = 'closed';
    await this.starting?.catch(() => undefined);
    const socket = this.socket;
    if (socket !== undefined) {
      // What was sent before close() leaves; dgram resolves the address on a later tick before
      // it hands a datagram to the kernel, hence one turn before the socket goes.
      this.flushNow();
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.socket = undefined;
      await closeSocket(socket);
    }
    this.subject.complete();
  }

  // ---- sending ----

  private encode(env: Envelope): Buffer | undefined {
    try {
      return this.frames.encode([env]);
    } catch (err) {
      this.drop('unencodable', env.to.host, 1, (err as Error).message);
      return undefined;
    }
  }

  private readonly flush = (): void => {
    this.flushTimer = undefined;
    const dirty = this.dirty;
    this.dirty = [];
    for (const link of dirty) this.flushLink(link);
  };

  private flushNow(): void {
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer);
    this.flush();
  }

  /** Pack the link's queue, in order, into as few datagrams as fit. */
  private flushLink(link: PeerLink): void {
    const frames = link.queue;
    link.queue = [];
    let start = 0;
    while (start < frames.length) {
      let end = start;
      let bytes = 0;
      while (end < frames.length) {
        const next = framedBytes(frames[end]!);
        if (bytes + next > link.budgetBytes) break;
        bytes += next;
        end++;
      }
      if (end === start) throw new Error(`udp flush: a queued frame exceeds the budget of '${link.host}'`);
      this.sendDatagram(link, frames, start, end, bytes);
      start = end;
    }
  }

  private sendDatagram(link: PeerLink, frames: Buffer[], start: number, end: number, framesBytes: number): void {
    const count = end - start;
    const socket = this.socket;
    if (socket === undefined) return this.drop('closed', link.host, count);
    if (socket.getSendQueueSize() > this.maxSendQueueBytes) return this.drop('backpressure', link.host, count);
    const datagram = sealDatagram(this.secret, link.prefix, link.nextSequence++, frames, start, end, framesBytes);
    try {
      socket.send(datagram, link.port, link.address, (err) => this.onSent(link.host, count, datagram.length, err));
    } catch (err) {
      this.drop(sendErrorReason(err), link.host, count, (err as Error).message);
    }
  }

  private onSent(host: string, count: number, bytes: number, err: Error | null): void {
    if (err) return this.drop(sendErrorReason(err), host, count, err.message);
    this.counters.sentFrames++;
    this.counters.sentEnvelopes += count;
    this.counters.sentBytes += bytes;
  }

  private drop(reason: string, to: string, count: number, detail?: string): void {
    countDrop(this.counters, reason, count);
    this.subject.next({ type: 'dropped', reason, to, count });
    this.logLimited(`drop|${reason}|${to}`, { reason, to, count, detail }, 'udp envelopes dropped');
  }

  // ---- receiving ----

  private readonly onMessage = (bytes: Buffer, from: RemoteInfo): void => {
    try {
      this.receive(bytes, from);
    } catch (err) {
      // Every check above returns a verdict; reaching this is a bug, and still no crash.
      this.reject('undecodable', from, undefined, `internal error: ${(err as Error).message}`);
    }
  };

  private receive(bytes: Buffer, from: RemoteInfo): void {
    const opened = openDatagram(this.secret, bytes, this.maxDatagramBytes);
    if (!opened.ok) return this.reject(opened.reason, from, undefined, opened.detail);
    const { fromHost, toHost, incarnation, sequence } = opened.header;
    if (toHost !== this.host) return this.reject('misrouted', from, fromHost, `datagram for host '${toHost}'`);
    const verdict = this.replay.accept(fromHost, incarnation, sequence);
    if (verdict !== 'fresh' && verdict !== 'first') {
      return this.reject('replayed', from, fromHost, `${verdict}: incarnation ${incarnation} sequence ${sequence}`);
    }
    if (verdict === 'first') this.onPeerUp(fromHost, incarnation);
    const envelopes = this.decodeFrames(opened.frames, from, fromHost);
    if (envelopes === undefined) return;
    this.counters.receivedFrames++;
    this.counters.receivedBytes += bytes.length;
    this.counters.receivedEnvelopes += envelopes.length;
    for (const env of envelopes) this.deliverOne(env, fromHost);
  }

  /** All envelopes of the datagram, or none if any frame fails its checks. */
  private decodeFrames(frames: readonly Buffer[], from: RemoteInfo, fromHost: string): Envelope[] | undefined {
    const envelopes: Envelope[] = [];
    for (const frame of frames) {
      const result = this.frames.decode(frame);
      if (!result.ok) {
        this.reject(result.reason, from, fromHost, result.detail);
        return undefined;
      }
      for (const env of result.envelopes) {
        if (env.to.host !== this.host) {
          this.reject('misrouted', from, fromHost, `envelope for host '${env.to.host}'`);
          return undefined;
        }
        envelopes.push(env);
      }
    }
    return envelopes;
  }

  private deliverOne(env: Envelope, fromHost: string): void {
    try {
      this.deliver(env, fromHost);
    } catch (err) {
      // The receiver's fault, not the datagram's: log it and carry on with the rest.
      this.logLimited(`deliver|${fromHost}`, { err, fromHost, type: env.msg.type }, 'deliver threw');
    }
  }

  private onPeerUp(host: string, incarnation: number): void {
    this.logger?.info({ peer: host, incarnation }, 'udp peer up');
    this.subject.next({ type: 'peerUp', host });
  }

  private reject(reason: RejectReason, from: RemoteInfo, fromHost: string | undefined, detail: string): void {
    countReject(this.counters, reason);
    const source = `${from.address}:${from.port}`;
    const peer = fromHost ?? source;
    this.subject.next({ type: 'rejected', reason, peer, detail });
    this.logLimited(`reject|${reason}|${source}`, { reason, peer, source, detail }, 'udp datagram rejected');
  }

  private readonly onSocketError = (err: Error): void => {
    this.logLimited(`socket|${(err as NodeJS.ErrnoException).code ?? 'error'}`, { err }, 'udp socket error');
  };

  private logLimited(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.logger === undefined) return;
    const suppressed = this.logLimiter.admit(key, Date.now());
    if (suppressed === null) return;
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}

function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      closeSocket(socket).finally(() => reject(err));
    };
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** A send error as a drop reason: the errno code, with the ways of 'socket gone' folded into one. */
function sendErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_SOCKET_DGRAM_NOT_RUNNING' || code === 'ECANCELED' || code === 'EBADF') return 'closed';
  return typeof code === 'string' ? code : 'send-error';
}

function familyOf(address: string): 0 | 4 | 6 {
  if (address.includes(':')) return 6;
  return isIP(address) === 4 ? 4 : 0;
}

function checkPort(port: number, what: string, min: number): number {
  return checkRange(port, what, min, 65_535);
}

function checkRange(value: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} is ${value}; an integer from ${min} to ${max} is needed`);
  }
  return value;
}
