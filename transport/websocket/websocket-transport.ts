// The WebSocket transport: envelopes between processes over ws (or wss), reliable and FIFO
// while a connection lasts.
//
// Connection model. Each host dials every peer it sends to (lazily, on the first send) and
// sends only on that outbound socket; sockets a host accepts are only for receiving. So FIFO
// holds per (sender, receiver), and no two hosts ever race to agree on which socket to share.
//
// Handshake. Before any envelope is accepted both ends prove the cluster secret with a
// challenge-response over fresh nonces; see handshake.ts for the messages and why they are
// built as they are. A socket that fails or stalls the handshake is closed and counted
// (rejected 'bad-handshake' for a malformed or late handshake, 'unauthenticated' for a wrong
// MAC or data sent before the handshake). A host whose name is not in `peers` may connect if
// its MAC is right; it can send to us, but we cannot dial it.
//
// Frames. After the handshake each binary message is one FrameCodec payload holding one or
// more envelopes. `send` only appends to a per-peer queue; one flush per event-loop turn
// encodes everything queued for a peer into as few frames as fit under maxFrameBytes. This
// coalescing is what makes many small messages cheap: one syscall and one JSON pass per turn
// instead of per message. Incoming frames pass FrameCodec.decode (size, decoding, shape,
// schema) and a destination check; a refused frame is dropped, counted, emitted and logged
// (at most once per reason per peer per second), never thrown.
//
// Backpressure. At most sendBufferLimitBytes per peer wait in memory, whether in the socket's
// buffer (connected) or in our own queue of encoded frames (disconnected or handshaking);
// frames beyond that are dropped and counted as 'backpressure'. Held frames go out, in order,
// as soon as a reconnect completes its handshake.
//
// Liveness. Every authenticated socket is pinged each heartbeatMs; one that has been silent
// (no pong, no data) for two heartbeats is terminated. A host is "up" while at least one
// authenticated socket to or from it is open: peerUp on the first, peerDown on the last.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { Subject, type Observable } from 'rxjs';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { macEquals, MIN_SECRET_BYTES, nonce } from '../auth.ts';
import { DEFAULT_MAX_FRAME_BYTES, FrameCodec } from '../frame.ts';
import {
  countDrop, countReject, emptyStats,
  type DeliverFn, type DeliveryGuarantees, type Envelope, type RejectReason,
  type Transport, type TransportEvent, type TransportStats,
} from '../types.ts';
import { clientMac, encodeHandshake, NONCE_BYTES, parseHandshake, serverMac } from './handshake.ts';

export interface PeerAddress {
  readonly address: string;
  readonly port: number;
}

export interface ReconnectOptions {
  /** Delay before the first reconnect attempt. */
  readonly initialMs?: number;
  /** Ceiling of the delay between attempts. */
  readonly maxMs?: number;
  /** Growth of the delay per failed attempt. */
  readonly factor?: number;
  /** Fraction (0..1) of each delay taken off at random, so hosts do not reconnect in lockstep. */
  readonly jitter?: number;
}

export interface WebSocketTransportOptions {
  /** The host this endpoint speaks for. */
  readonly host: string;
  readonly listen: { readonly address?: string; readonly port: number };
  /** Where to dial other hosts. */
  readonly peers: Readonly<Record<string, PeerAddress>>;
  /** The cluster secret (see auth.ts loadSecret). */
  readonly secret: Buffer;
  readonly frames?: FrameCodec;
  /** Largest frame sent or accepted; also the ws maxPayload. Defaults to frames.maxFrameBytes (1 MiB). */
  readonly maxFrameBytes?: number;
  readonly heartbeatMs?: number;
  readonly reconnect?: ReconnectOptions;
  /** Bytes per peer that may wait to be sent; beyond it envelopes are dropped. */
  readonly sendBufferLimitBytes?: number;
  /** Time allowed from dial (or accept) to a completed handshake. */
  readonly handshakeTimeoutMs?: number;
  /** Serve and dial wss with this certificate; `ca` is what peers' certificates are checked against. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer; readonly ca?: string | Buffer };
  readonly logger?: Logger;
}

const DEFAULTS = {
  listenAddress: '127.0.0.1',
  heartbeatMs: 1000,
  sendBufferLimitBytes: 8 << 20,
  handshakeTimeoutMs: 2000,
  reconnect: { initialMs: 50, maxMs: 2000, factor: 2, jitter: 0.2 },
};

/** Heartbeats a socket may miss in a row before it is declared dead. */
const MISSED_HEARTBEATS_LIMIT = 2;
/** Refused frames in a row after which a peer is assumed broken or hostile and disconnected. */
const MAX_CONSECUTIVE_REJECTS = 64;
/**
 * Sockets accepted but not yet authenticated; more are refused at once. A cheap flood guard:
 * ws applies maxPayload before authentication too, so this also bounds what strangers can make
 * us buffer (64 x maxFrameBytes).
 */
const MAX_PENDING_HANDSHAKES = 64;
/** Split a too-large batch aiming this far below the limit, so that one split nearly always fits. */
const FRAME_FILL_RATIO = 0.8;
/** How long a closing socket may take to finish the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 500;
const LOG_INTERVAL_MS = 1000;
/** Bound on the log rate limiter's memory (keys include remote addresses). */
const MAX_LOG_KEYS = 4096;

/** Our close codes (4000-4999 are free for applications). */
const CLOSE_HANDSHAKE_FAILED = 4001;
const CLOSE_TOO_MANY_REJECTS = 4002;
const CLOSE_GOING_AWAY = 1001;

/** What liveness checking needs to know of any authenticated socket. */
interface Liveness {
  ws: WebSocket | null;
  /** Something (pong, ping or data) arrived since the last heartbeat. */
  heard: boolean;
  missedBeats: number;
  /** Why we are closing this socket, for the peerDown event. */
  closeReason: string | null;
}

interface EncodedFrame {
  readonly bytes: Buffer;
  readonly envelopes: number;
}

/** Our sending side towards one peer: its queue, its socket and its reconnection state. */
interface OutboundLink extends Liveness {
  readonly host: string;
  /** The handshake completed on `ws`; frames may be written to it. */
  ready: boolean;
  /** Nonces of the handshake in progress on `ws`. */
  handshake: { serverNonce: Buffer; clientNonce: Buffer } | null;
  handshakeTimer: NodeJS.Timeout | null;
  reconnectTimer: NodeJS.Timeout | null;
  /** Failed attempts since the last successful handshake (drives the backoff). */
  attempt: number;
  /** Envelopes sent this event-loop turn, not yet encoded. */
  pending: Envelope[];
  queuedForFlush: boolean;
  /** Encoded frames waiting for a connection, in send order. */
  held: EncodedFrame[];
  heldBytes: number;
}

/** A socket a peer opened to us; only for receiving. */
interface InboundConn extends Liveness {
  /** "ip:port", for logs about a peer that has not said who it is. */
  readonly remote: string;
  /** Remote IP: the rate-limit key before authentication (ports change on every connect). */
  readonly remoteIp: string;
  readonly serverNonce: Buffer;
  /** The authenticated host name; null until the handshake succeeds. */
  host: string | null;
  /** The handshake failed; ignore whatever else arrives before the socket closes. */
  refused: boolean;
  handshakeTimer: NodeJS.Timeout | null;
  consecutiveRejects: number;
}

export class WebSocketTransport implements Transport {
  readonly kind = 'websocket' as const;
  readonly host: string;
  readonly guarantees: DeliveryGuarantees = { reliable: true, fifo: true };
  readonly events: Observable<TransportEvent>;

  private readonly events$ = new Subject<TransportEvent>();
  private readonly st: TransportStats = emptyStats();
  private readonly log: Logger;
  private readonly logLimiter = new LogLimiter();
  private readonly frames: FrameCodec;
  private readonly secret: Buffer;
  private readonly peers = new Map<string, PeerAddress>();
  private readonly maxFrameBytes: number;
  private readonly heartbeatMs: number;
  private readonly sendBufferLimitBytes: number;
  private readonly handshakeTimeoutMs: number;
  private readonly reconnect: Required<ReconnectOptions>;
  private readonly listenAddress: string;
  private readonly listenPort: number;
  private readonly tls: WebSocketTransportOptions['tls'];

  private readonly links = new Map<string, OutboundLink>();
  private readonly inbound = new Set<InboundConn>();
  /** Authenticated open sockets per host, both directions: the host is up while this is > 0. */
  private readonly liveSockets = new Map<string, number>();
  private pendingHandshakes = 0;
  private linksToFlush: OutboundLink[] = [];
  private flushScheduled = false;

  private deliver: DeliverFn | null = null;
  private server: HttpServer | null = null;
  private wss: WebSocketServer | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(opts: WebSocketTransportOptions) {
    assertName(opts.host, 'host');
    if (opts.secret.length < MIN_SECRET_BYTES) {
      throw new Error(`the cluster secret is ${opts.secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed (see auth.ts loadSecret)`);
    }
    this.host = opts.host;
    this.secret = opts.secret;
    const maxFrameBytes = opts.maxFrameBytes ?? opts.frames?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.frames = opts.frames ?? new FrameCodec({ maxFrameBytes });
    // What we send must pass the receiver's check, which uses the same limit.
    this.maxFrameBytes = Math.min(maxFrameBytes, this.frames.maxFrameBytes);
    this.heartbeatMs = positive(opts.heartbeatMs ?? DEFAULTS.heartbeatMs, 'heartbeatMs');
    this.sendBufferLimitBytes = positive(opts.sendBufferLimitBytes ?? DEFAULTS.sendBufferLimitBytes, 'sendBufferLimitBytes');
    this.handshakeTimeoutMs = positive(opts.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs, 'handshakeTimeoutMs');
    this.reconnect = { ...DEFAULTS.reconnect, ...opts.reconnect };
    this.listenAddress = opts.listen.address ?? DEFAULTS.listenAddress;
    this.listenPort = opts.listen.port;
    this.tls = opts.tls;
    for (const [host, addr] of Object.entries(opts.peers)) this.setPeer(host, addr);
    this.log = (opts.logger ?? pino({ level: 'warn' })).child({ transport: 'websocket', host: this.host });
    this.events = this.events$.asObservable();
  }

  /** The port this endpoint listens on (the bound one when `listen.port` was 0). */
  get port(): number {
    const addr = this.server?.address();
    if (!addr || typeof addr === 'string') throw new Error('WebSocketTransport.port is known only after start()');
    return (addr as AddressInfo).port;
  }

  /** Set or change where `host` is dialled. A live connection to an old address is replaced. */
  setPeer(host: string, addr: PeerAddress): void {
    assertName(host, 'peer host');
    const old = this.peers.get(host);
    this.peers.set(host, { address: addr.address, port: addr.port });
    const link = this.links.get(host);
    if (!link || this.closed) return;
    if (old && old.address === addr.address && old.port === addr.port) return;
    if (link.ws) {
      link.closeReason = 'peer address changed';
      link.ws.terminate();
    } else {
      // Waiting out a backoff towards an address that was probably wrong: try the new one now.
      this.redialNow(link);
    }
  }

  /** Skip the rest of a backoff wait and dial at once (no-op unless waiting). */
  private redialNow(link: OutboundLink): void {
    if (!link.reconnectTimer || this.closed) return;
    clearTimeout(link.reconnectTimer);
    link.reconnectTimer = null;
    link.attempt = 0;
    this.dial(link);
  }

  async start(deliver: DeliverFn): Promise<void> {
    if (this.closed) throw new Error('WebSocketTransport.start after close');
    if (this.server) throw new Error('WebSocketTransport.start called twice');
    this.deliver = deliver;
    const server = this.tls
      ? createHttpsServer({ cert: this.tls.cert, key: this.tls.key })
      : createHttpServer();
    this.server = server;
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('this port speaks WebSocket only\n');
    });
    // Garbage that is not even HTTP (or TLS) must cost us a log line at most.
    server.on('clientError', (err: NodeJS.ErrnoException, duplex) => {
      const socket = duplex as Socket;
      // A client that simply went away is not a refusal.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        socket.destroy();
        return;
      }
      this.refuse('bad-handshake', remoteOf(socket), `not a WebSocket upgrade: ${err.message}`, socket.remoteAddress ?? '?');
      socket.destroy();
    });
    server.on('tlsClientError', (err: Error, socket: { remoteAddress?: string; remotePort?: number; destroy(): void }) => {
      this.refuse('bad-handshake', remoteOf(socket), `TLS handshake failed: ${err.message}`, socket.remoteAddress ?? '?');
      socket.destroy();
    });
    const wss = new WebSocketServer({ server, maxPayload: this.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.wss = wss;
    wss.on('connection', (ws, req) => this.onInboundConnection(ws, req));
    // The server's errors reach the WebSocketServer too; while listening starts, the one that
    // matters (a port in use) goes to our caller, who reports it once, in one line.
    const duringListen = (): void => {};
    wss.on('error', duringListen);
    try {
      await listen(server, this.listenPort, this.listenAddress);
      wss.off('error', duringListen);
      wss.on('error', (err) => this.log.error({ err }, 'WebSocket server error'));
    } catch (err) {
      // A port in use is a configuration error: report it, and leave this endpoint startable.
      wss.close();
      this.server = null;
      this.wss = null;
      this.deliver = null;
      throw err;
    }
    this.heartbeatTimer = setInterval(() => this.onHeartbeat(), this.heartbeatMs);
    this.heartbeatTimer.unref();
    this.log.info({ address: this.listenAddress, port: this.port, tls: Boolean(this.tls) }, 'listening');
  }

  send(env: Envelope): void {
    if (this.closed) {
      countDrop(this.st, 'closed');
      return;
    }
    const to = env.to.host;
    let link = this.links.get(to);
    if (!link) {
      if (!this.peers.has(to)) {
        this.drop('unknown-host', to, 1);
        return;
      }
      link = this.openLink(to);
    }
    link.pending.push(env);
    if (!link.queuedForFlush) {
      link.queuedForFlush = true;
      this.linksToFlush.push(link);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAll);
    }
  }

  stats(): TransportStats {
    return { ...this.st, dropped: { ...this.st.dropped }, rejected: { ...this.st.rejected } };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- sending -------------------------------------------------------------------------------

  private openLink(host: string): OutboundLink {
    const link: OutboundLink = {
      host, ws: null, ready: false, handshake: null, handshakeTimer: null, reconnectTimer: null, attempt: 0,
      pending: [], queuedForFlush: false, held: [], heldBytes: 0,
      heard: true, missedBeats: 0, closeReason: null,
    };
    this.links.set(host, link);
    this.dial(link);
    return link;
  }

  /** Once per event-loop turn: encode each peer's envelopes of this turn into frames and send them. */
  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    const links = this.linksToFlush;
    this.linksToFlush = [];
    for (const link of links) {
      link.queuedForFlush = false;
      const envelopes = link.pending;
      link.pending = [];
      if (envelopes.length > 0) this.encodeFrames(link, envelopes, 0, envelopes.length);
    }
  };

  /** Encode envelopes[start, end) into frames no larger than maxFrameBytes and queue them in order. */
  private encodeFrames(link: OutboundLink, envelopes: Envelope[], start: number, end: number): void {
    const batch = start === 0 && end === envelopes.length ? envelopes : envelopes.slice(start, end);
    let bytes: Buffer;
    try {
      bytes = this.frames.encode(batch);
    } catch (err) {
      // A message the codec cannot encode is a bug in its sender; isolate it and send the rest.
      if (batch.length === 1) {
        this.log.error({ err, to: link.host, type: batch[0]!.msg.type }, 'message cannot be encoded; dropped');
        this.drop('unencodable', link.host, 1);
        return;
      }
      this.splitFrames(link, envelopes, start, end, 2);
      return;
    }
    if (bytes.length <= this.maxFrameBytes) {
      this.queueFrame(link, { bytes, envelopes: batch.length });
    } else if (batch.length === 1) {
      this.logLimited('warn', `oversized-send|${link.host}`, { to: link.host, sizeBytes: bytes.length, type: batch[0]!.msg.type },
        `envelope of ${bytes.length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}; dropped`);
      this.drop('oversized', link.host, 1);
    } else {
      this.splitFrames(link, envelopes, start, end, Math.ceil(bytes.length / (this.maxFrameBytes * FRAME_FILL_RATIO)));
    }
  }

  private splitFrames(link: OutboundLink, envelopes: Envelope[], start: number, end: number, parts: number): void {
    const per = Math.max(1, Math.ceil((end - start) / Math.max(2, parts)));
    for (let i = start; i < end; i += per) this.encodeFrames(link, envelopes, i, Math.min(end, i + per));
  }

  private queueFrame(link: OutboundLink, frame: EncodedFrame): void {
    const size = frame.bytes.length;
    const ws = link.ws;
    if (link.ready && ws && ws.readyState === WebSocket.OPEN) {
      if (ws.bufferedAmount + size > this.sendBufferLimitBytes) {
        this.drop('backpressure', link.host, frame.envelopes);
        return;
      }
      this.writeFrame(ws, frame);
      return;
    }
    if (link.heldBytes + size > this.sendBufferLimitBytes) {
      this.drop('backpressure', link.host, frame.envelopes);
      return;
    }
    link.held.push(frame);
    link.heldBytes += size;
  }

  private writeFrame(ws: WebSocket, frame: EncodedFrame): void {
    ws.send(frame.bytes);
    this.st.sentFrames++;
    this.st.sentEnvelopes += frame.envelopes;
    this.st.sentBytes += frame.bytes.length;
  }

  private drop(reason: string, to: string, count: number): void {
    countDrop(this.st, reason, count);
    this.emit({ type: 'dropped', reason, to, count });
  }

  // ---- dialling and the client side of the handshake -----------------------------------------

  private dial(link: OutboundLink): void {
    const addr = this.peers.get(link.host)!;
    const scheme = this.tls ? 'wss' : 'ws';
    const hostPart = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
    const ws = new WebSocket(`${scheme}://${hostPart}:${addr.port}/`, {
      perMessageDeflate: false,
      maxPayload: this.maxFrameBytes,
      handshakeTimeout: this.handshakeTimeoutMs,
      ca: this.tls?.ca,
      // Masking (RFC 6455 section 5.3) protects proxies from scripts in browsers; between our
      // own authenticated nodes it only costs a pass over every byte, and ws skips it for a
      // zero mask.
      generateMask: zeroMask,
    });
    link.ws = ws;
    link.ready = false;
    link.handshake = null;
    link.closeReason = null;
    link.handshakeTimer = setTimeout(() => this.onOutboundHandshakeTimeout(link, ws), this.handshakeTimeoutMs);
    link.handshakeTimer.unref();
    ws.on('message', (data, isBinary) => this.onOutboundMessage(link, ws, data, isBinary));
    ws.on('pong', () => { link.heard = true; });
    ws.on('ping', () => { link.heard = true; });
    ws.on('error', (err) => this.onSocketError(link.host, err));
    ws.on('close', (code, reason) => this.onOutboundClose(link, ws, code, reason.toString()));
  }

  private onOutboundMessage(link: OutboundLink, ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (link.ws !== ws) return;
    if (link.ready) {
      // Peers never send on a socket they accepted; something is confused, but it costs nothing.
      this.refuse('misrouted', link.host, 'data on a send-only connection');
      return;
    }
    if (!isBinary) return this.failOutbound(link, ws, 'bad-handshake', 'text frame during the handshake');
    const parsed = parseHandshake(toBuffer(data));
    if (parsed.kind !== 'ok') {
      return this.failOutbound(link, ws, 'bad-handshake', parsed.kind === 'malformed' ? parsed.detail : 'data before the handshake');
    }
    const msg = parsed.msg;
    if (link.handshake === null) {
      if (msg.t !== 'challenge') return this.failOutbound(link, ws, 'bad-handshake', `expected a challenge, got ${msg.t}`);
      const clientNonce = nonce(NONCE_BYTES);
      link.handshake = { serverNonce: msg.serverNonce, clientNonce };
      const mac = clientMac(this.secret, msg.serverNonce, clientNonce, this.host, link.host);
      ws.send(encodeHandshake({ t: 'hello', host: this.host, clientNonce, mac }));
      return;
    }
    if (msg.t !== 'welcome') return this.failOutbound(link, ws, 'bad-handshake', `expected a welcome, got ${msg.t}`);
    const expected = serverMac(this.secret, link.handshake.clientNonce, link.handshake.serverNonce, link.host);
    if (!macEquals(expected, msg.mac)) {
      return this.failOutbound(link, ws, 'unauthenticated', 'the server did not prove the cluster secret');
    }
    this.onOutboundReady(link, ws);
  }

  private onOutboundReady(link: OutboundLink, ws: WebSocket): void {
    clearTimer(link.handshakeTimer);
    link.handshakeTimer = null;
    link.handshake = null;
    link.ready = true;
    link.attempt = 0;
    link.heard = true;
    link.missedBeats = 0;
    this.socketUp(link.host);
    // What waited for this connection goes first, so order is kept across the reconnect.
    const held = link.held;
    link.held = [];
    link.heldBytes = 0;
    for (const frame of held) this.writeFrame(ws, frame);
  }

  private onOutboundHandshakeTimeout(link: OutboundLink, ws: WebSocket): void {
    if (ws.readyState === WebSocket.OPEN) {
      this.failOutbound(link, ws, 'bad-handshake', 'handshake timed out');
      return;
    }
    // Not even connected yet: the peer is unreachable, which is the network's doing, not a
    // refusal of anything the peer sent. Give up on this attempt and let backoff retry.
    link.closeReason = 'connect timed out';
    ws.terminate();
  }

  private failOutbound(link: OutboundLink, ws: WebSocket, reason: RejectReason, detail: string): void {
    if (link.ws !== ws) return;
    this.refuse(reason, link.host, detail);
    link.closeReason = `${reason}: ${detail}`;
    ws.terminate();
  }

  private onOutboundClose(link: OutboundLink, ws: WebSocket, code: number, reason: string): void {
    if (link.ws !== ws) return;
    clearTimer(link.handshakeTimer);
    link.handshakeTimer = null;
    link.ws = null;
    link.handshake = null;
    const why = link.closeReason ?? describeClose(code, reason);
    if (link.ready) {
      link.ready = false;
      this.socketDown(link.host, why);
    } else if (code === CLOSE_HANDSHAKE_FAILED) {
      this.logLimited('warn', `refused-by|${link.host}`, { peer: link.host },
        'peer refused our handshake (is the cluster secret the same on both hosts?)');
    }
    if (!this.closed) this.scheduleReconnect(link);
  }

  private scheduleReconnect(link: OutboundLink): void {
    const delayMs = backoffMs(link.attempt++, this.reconnect, Math.random);
    link.reconnectTimer = setTimeout(() => {
      link.reconnectTimer = null;
      if (!this.closed) this.dial(link);
    }, delayMs);
    link.reconnectTimer.unref();
  }

  // ---- accepting and the server side of the handshake ----------------------------------------

  private onInboundConnection(ws: WebSocket, req: IncomingMessage): void {
    const remoteIp = req.socket.remoteAddress ?? '?';
    const remote = `${remoteIp}:${req.socket.remotePort ?? '?'}`;
    if (this.closed || this.pendingHandshakes >= MAX_PENDING_HANDSHAKES) {
      ws.on('error', (err) => this.onSocketError(remote, err));
      this.refuse('bad-handshake', remote, this.closed ? 'transport closing' : 'too many pending handshakes', remoteIp);
      ws.terminate();
      return;
    }
    const conn: InboundConn = {
      ws, remote, remoteIp, serverNonce: nonce(NONCE_BYTES), host: null, refused: false,
      handshakeTimer: null, consecutiveRejects: 0, heard: true, missedBeats: 0, closeReason: null,
    };
    this.inbound.add(conn);
    this.pendingHandshakes++;
    ws.on('error', (err) => this.onInboundError(conn, err));
    conn.handshakeTimer = setTimeout(() => this.refuseInbound(conn, 'bad-handshake', 'handshake timed out'), this.handshakeTimeoutMs);
    conn.handshakeTimer.unref();
    ws.on('message', (data, isBinary) => {
      if (conn.host !== null) this.onFrame(conn, data, isBinary);
      else if (!conn.refused) this.onInboundHandshake(conn, data, isBinary);
    });
    ws.on('pong', () => { conn.heard = true; });
    ws.on('ping', () => { conn.heard = true; });
    ws.on('close', (code, reason) => this.onInboundClose(conn, code, reason.toString()));
    ws.send(encodeHandshake({ t: 'challenge', serverNonce: conn.serverNonce }));
  }

  private onInboundHandshake(conn: InboundConn, data: RawData, isBinary: boolean): void {
    if (!isBinary) return this.refuseInbound(conn, 'bad-handshake', 'text frame during the handshake');
    const parsed = parseHandshake(toBuffer(data));
    if (parsed.kind === 'not-handshake') return this.refuseInbound(conn, 'unauthenticated', 'data before the handshake');
    if (parsed.kind === 'malformed') return this.refuseInbound(conn, 'bad-handshake', parsed.detail);
    const hello = parsed.msg;
    if (hello.t !== 'hello') return this.refuseInbound(conn, 'bad-handshake', `expected a hello, got ${hello.t}`);
    const expected = clientMac(this.secret, conn.serverNonce, hello.clientNonce, hello.host, this.host);
    if (!macEquals(expected, hello.mac)) {
      return this.refuseInbound(conn, 'unauthenticated',
        `hello from '${hello.host}' does not prove the cluster secret for this challenge (wrong secret, replayed, or meant for another host)`);
    }
    clearTimer(conn.handshakeTimer);
    conn.handshakeTimer = null;
    this.pendingHandshakes--;
    conn.host = hello.host;
    conn.heard = true;
    conn.ws!.send(encodeHandshake({ t: 'welcome', mac: serverMac(this.secret, hello.clientNonce, conn.serverNonce, this.host) }));
    if (!this.peers.has(hello.host)) {
      this.log.info({ peer: hello.host, remote: conn.remote }, 'authenticated host not in peers connected; it can send to us, we cannot dial it');
    }
    this.socketUp(hello.host);
  }

  /** A frame on an authenticated inbound socket: check it whole, then deliver its envelopes. */
  private onFrame(conn: InboundConn, data: RawData, isBinary: boolean): void {
    conn.heard = true;
    const peer = conn.host!;
    if (!isBinary) return this.refuseFrame(conn, 'undecodable', 'text frame; only binary frames are accepted');
    const bytes = toBuffer(data);
    const result = this.frames.decode(bytes);
    if (!result.ok) return this.refuseFrame(conn, result.reason, result.detail);
    const envelopes = result.envelopes;
    for (let i = 0; i < envelopes.length; i++) {
      const to = envelopes[i]!.to.host;
      if (to !== this.host) return this.refuseFrame(conn, 'misrouted', `envelope ${i} is for host '${to}'`);
    }
    conn.consecutiveRejects = 0;
    this.st.receivedFrames++;
    this.st.receivedBytes += bytes.length;
    this.st.receivedEnvelopes += envelopes.length;
    const deliver = this.deliver!;
    for (const env of envelopes) {
      try {
        deliver(env, peer);
      } catch (err) {
        // The receiver's bug must not take the connection (or the process) down with it.
        this.logLimited('error', `deliver-threw|${peer}`, { err, peer, type: env.msg.type }, 'deliver threw; envelope lost');
      }
    }
  }

  private refuseFrame(conn: InboundConn, reason: RejectReason, detail: string): void {
    this.refuse(reason, conn.host!, detail);
    if (++conn.consecutiveRejects === MAX_CONSECUTIVE_REJECTS && conn.ws) {
      this.log.warn({ peer: conn.host, remote: conn.remote }, `${MAX_CONSECUTIVE_REJECTS} refused frames in a row; disconnecting`);
      conn.closeReason = 'too many refused frames';
      closeGracefully(conn.ws, CLOSE_TOO_MANY_REJECTS, 'too many refused frames');
    }
  }

  private refuseInbound(conn: InboundConn, reason: RejectReason, detail: string): void {
    if (conn.refused || conn.host !== null || !conn.ws) return;
    conn.refused = true;
    this.refuse(reason, conn.remote, detail, conn.remoteIp);
    closeGracefully(conn.ws, CLOSE_HANDSHAKE_FAILED, 'handshake failed');
  }

  private onInboundError(conn: InboundConn, err: Error): void {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const peer = conn.host ?? conn.remote;
    const logKey = conn.host ?? conn.remoteIp;
    // ws reports protocol violations as errors and closes the socket itself.
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.refuse('oversized', peer, err.message, logKey);
    else if (code.startsWith('WS_ERR_')) this.refuse('undecodable', peer, err.message, logKey);
    else this.onSocketError(peer, err);
  }

  private onInboundClose(conn: InboundConn, code: number, reason: string): void {
    this.inbound.delete(conn);
    clearTimer(conn.handshakeTimer);
    conn.handshakeTimer = null;
    conn.ws = null;
    if (conn.host !== null) this.socketDown(conn.host, conn.closeReason ?? describeClose(code, reason));
    else this.pendingHandshakes--;
  }

  // ---- liveness ------------------------------------------------------------------------------

  private onHeartbeat(): void {
    for (const link of this.links.values()) if (link.ready) this.beat(link);
    for (const conn of this.inbound) if (conn.host !== null) this.beat(conn);
  }

  private beat(s: Liveness): void {
    const ws = s.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (s.heard) {
      s.heard = false;
      s.missedBeats = 0;
    } else if (++s.missedBeats >= MISSED_HEARTBEATS_LIMIT) {
      s.closeReason = `silent for ${MISSED_HEARTBEATS_LIMIT} heartbeats of ${this.heartbeatMs} ms`;
      ws.terminate();
      return;
    }
    ws.ping();
  }

  private socketUp(host: string): void {
    const n = (this.liveSockets.get(host) ?? 0) + 1;
    this.liveSockets.set(host, n);
    // The peer just proved it is up (it dialled us, e.g. after a restart): our own link to it
    // need not sit out the rest of its backoff.
    const link = this.links.get(host);
    if (link) this.redialNow(link);
    if (n === 1) {
      this.log.info({ peer: host }, 'peer up');
      this.emit({ type: 'peerUp', host });
    }
  }

  private socketDown(host: string, reason: string): void {
    const n = (this.liveSockets.get(host) ?? 0) - 1;
    if (n > 0) {
      this.liveSockets.set(host, n);
      return;
    }
    this.liveSockets.delete(host);
    this.log.info({ peer: host, reason }, 'peer down');
    this.emit({ type: 'peerDown', host, reason });
  }

  // ---- refusals, errors, logs ------------------------------------------------------------------

  /** Count, emit and (rate-limited) log one refusal. `logKey` names the peer for rate limiting. */
  private refuse(reason: RejectReason, peer: string, detail: string, logKey = peer): void {
    countReject(this.st, reason);
    this.emit({ type: 'rejected', reason, peer, detail });
    this.logLimited('warn', `${reason}|${logKey}`, { peer, reason, detail }, `refused from ${peer}: ${reason}`);
  }

  private onSocketError(peer: string, err: Error): void {
    // Refused connections and resets are the normal life of a network: the close handler
    // reconnects or reports the peer down; the error itself is only worth a rate-limited line.
    const code = (err as NodeJS.ErrnoException).code ?? err.message;
    this.logLimited('debug', `socket-error|${peer}|${code}`, { peer, err: err.message, code }, 'socket error');
  }

  private logLimited(level: 'debug' | 'warn' | 'error', key: string, fields: Record<string, unknown>, text: string): void {
    const suppressed = this.logLimiter.allow(key, Date.now());
    if (suppressed === null) return;
    this.log[level](suppressed > 0 ? { ...fields, suppressed } : fields, text);
  }

  private emit(event: TransportEvent): void {
    if (!this.events$.closed) this.events$.next(event);
  }

  // ---- shutdown --------------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    // Envelopes sent before close() still go out on the connections that are up.
    this.flushAll();
    this.closed = true;
    clearTimer(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const sockets: WebSocket[] = [];
    for (const link of this.links.values()) {
      clearTimer(link.reconnectTimer);
      clearTimer(link.handshakeTimer);
      link.reconnectTimer = link.handshakeTimer = null;
      const unsent = link.held.reduce((n, f) => n + f.envelopes, 0);
      if (unsent > 0) this.drop('closed', link.host, unsent);
      link.held = [];
      link.heldBytes = 0;
      if (link.ws) sockets.push(link.ws);
    }
    for (const conn of this.inbound) {
      clearTimer(conn.handshakeTimer);
      if (conn.ws) sockets.push(conn.ws);
    }
    await Promise.all(sockets.map((ws) => closeAndWait(ws)));
    await this.closeServer();
    this.events$.complete();
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.wss?.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with jitter taken off. */
export function backoffMs(attempt: number, opts: Required<ReconnectOptions>, random: () => number): number {
  const baseMs = Math.min(opts.maxMs, opts.initialMs * opts.factor ** attempt);
  return Math.max(0, Math.round(baseMs * (1 - opts.jitter * random())));
}

/** Remembers when each key was last logged, so that a flood of refusals costs one line a second. */
class LogLimiter {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  /** null when `key` was logged less than a second ago; else how many were suppressed since. */
  allow(key: string, nowMs: number): number | null {
    const entry = this.last.get(key);
    if (entry && nowMs - entry.atMs < LOG_INTERVAL_MS) {
      entry.suppressed++;
      return null;
    }
    if (!entry && this.last.size >= MAX_LOG_KEYS) this.last.clear();
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function closeGracefully(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.CLOSED) return;
  if (ws.readyState === WebSocket.CONNECTING) {
    ws.terminate();
    return;
  }
  ws.close(code, reason);
  // A peer that never answers the close must not hold the socket open for ws's 30 s default.
  const killTimer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  killTimer.unref();
  ws.once('close', () => clearTimeout(killTimer));
}

function closeAndWait(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    // Resolve even if 'close' never comes, so close() is bounded in time.
    const doneTimer = setTimeout(resolve, CLOSE_GRACE_MS * 2);
    doneTimer.unref();
    ws.once('close', () => {
      clearTimeout(doneTimer);
      resolve();
    });
    closeGracefully(ws, CLOSE_GOING_AWAY, 'shutting down');
  });
}

function listen(server: HttpServer, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, address, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function describeClose(code: number, reason: string): string {
  return reason ? `closed (${code}: ${reason})` : `closed (${code})`;
}

function remoteOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

function clearTimer(timer: NodeJS.Timeout | null): void {
  if (timer) clearTimeout(timer);
}

function assertName(name: string, what: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) throw new Error(`invalid ${what} name '${name}'`);
}

function positive(value: number, what: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${what} must be a positive number, got ${value}`);
  return value;
}
