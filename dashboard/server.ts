// The dashboard's server: one HTTP server on loopback that serves the static page (public/) and
// the browser builds of vega and vega-lite, and a WebSocket endpoint (/ws) that streams a
// source's samples and events to every page and takes its controls.
//
// Only this machine may connect: the server listens on 127.0.0.1, and both the Host header
// (against DNS rebinding: a page of another site resolving its name to 127.0.0.1) and, on the
// WebSocket, the Origin header must name this server. Anything else is refused with 403.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Subscription } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_CLIENT_MESSAGE_BYTES, parseControl, type DashboardEvent, type Sample, type ServerMsg } from './protocol.ts';
import { ControlError, type DashboardSource } from './source.ts';

const root = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

/** What the server serves, and nothing else: URL path -> file and content type. */
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: root('./public/index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: root('./public/app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: root('./public/style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/vega.min.js': { file: root('../node_modules/vega/build/vega.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/vega-lite.min.js': { file: root('../node_modules/vega-lite/build/vega-lite.min.js'), type: 'text/javascript; charset=utf-8' },
};

/** Pages connected at once, at most. */
export const MAX_PAGES = 16;
/** A page that has this much unsent data is skipped for samples until it catches up. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** Events replayed to a page that connects late. */
const EVENTS_KEPT = 100;

/** The port asked for is taken: the user's to fix, with --port. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

export interface DashboardServerOptions {
  /** Port on 127.0.0.1; 0 for any free one. */
  readonly port: number;
  readonly source: DashboardSource;
}

export class DashboardServer {
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES });
  private readonly latest = new Map<string, Sample>();
  private readonly events: DashboardEvent[] = [];
  private subscription: Subscription | undefined;
  private port = 0;

  constructor(private readonly opts: DashboardServerOptions) {
    this.http = createServer((req, res) => void this.serve(req, res));
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.wss.on('connection', (ws) => this.connected(ws));
  }

  /** Listen on 127.0.0.1; resolves with the page's URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(err.code === 'EADDRINUSE'
          ? new PortInUseError(`port ${this.opts.port} on 127.0.0.1 is in use: choose another with --port (0 for any free port)`)
          : err);
      };
      this.http.once('error', onError);
      this.http.listen(this.opts.port, '127.0.0.1', () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.port = (this.http.address() as { port: number }).port;
    this.subscription = this.opts.source.updates.subscribe((m) => this.publish(m));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Whether a Host or Origin header names this server. */
  private ours(value: string | undefined, withScheme: boolean): boolean {
    if (value === undefined) return false;
    const prefix = withScheme ? 'http://' : '';
    return value === `${prefix}127.0.0.1:${this.port}` || value === `${prefix}localhost:${this.port}`;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.ours(req.headers.host, false)) return refuse(res, 403, 'this server answers only to 127.0.0.1 or localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'only GET');
    const path = (req.url ?? '/').split('?')[0]!;
    const entry = FILES[path];
    if (!entry) return refuse(res, 404, `no ${path} here`);
    try {
      const body = await readFile(entry.file);
      res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      refuse(res, 500, `cannot read ${path}: ${(err as Error).message}`);
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const reject = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    };
    if ((req.url ?? '').split('?')[0] !== '/ws') return reject('404 Not Found');
    if (!this.ours(req.headers.host, false) || !this.ours(req.headers.origin, true)) return reject('403 Forbidden');
    if (this.wss.clients.size >= MAX_PAGES) return reject('503 Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private connected(ws: WebSocket): void {
    send(ws, this.opts.source.hello());
    for (const s of this.latest.values()) send(ws, s);
    for (const e of this.events) send(ws, e);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return send(ws, { type: 'error', error: 'binary messages are not understood: send JSON text' });
      const parsed = parseControl(data.toString());
      if (!parsed.ok) return send(ws, { type: 'error', ...(parsed.id !== undefined ? { id: parsed.id } : {}), error: parsed.error });
      const c = parsed.control;
      try {
        send(ws, { type: 'reply', id: c.id, text: this.opts.source.control(c) });
      } catch (err) {
        // A refusal is the page's business; anything else is a bug here, but must not stop the server.
        if (!(err instanceof ControlError)) process.stderr.write(`dashboard: control ${JSON.stringify(c)} failed: ${(err as Error).stack ?? String(err)}\n`);
        send(ws, { type: 'error', id: c.id, error: err instanceof ControlError ? err.message : `internal error: ${(err as Error).message}` });
      }
    });
    // A message over maxPayload closes the socket (1009) in ws; nothing else to do here.
    ws.on('error', () => ws.terminate());
  }

  private publish(m: Sample | DashboardEvent): void {
    if (m.type === 'sample') {
      this.latest.set(m.system, m);
    } else {
      this.events.push(m);
      if (this.events.length > EVENTS_KEPT) this.events.shift();
    }
    const text = JSON.stringify(m);
    for (const ws of this.wss.clients) {
      // Samples supersede each other: a slow page loses some rather than buffering without bound.
      if (m.type === 'sample' && ws.bufferedAmount > MAX_BUFFERED_BYTES) continue;
      if (ws.readyState === ws.OPEN) ws.send(text);
    }
  }
}

function send(ws: WebSocket, m: ServerMsg): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
}

function refuse(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
