// Shared pieces of the WebSocket transport tests: quiet transports on loopback with fast
// timers, and a late-bound `deliver` so that endpoints can listen (and learn their ports)
// before the conformance suite calls start().
import { pino } from 'pino';
import type { Observable } from 'rxjs';
import type { DeliverFn, Envelope, Transport, TransportEvent, TransportStats } from '../../transport/types.ts';
import { WebSocketTransport, type WebSocketTransportOptions } from '../../transport/websocket/websocket-transport.ts';

export const SECRET = Buffer.from('conformance-test-cluster-secret!', 'utf8');
export const LOOPBACK = '127.0.0.1';

export const silentLogger = pino({ level: 'silent' });

export function makeTransport(host: string, extra: Partial<WebSocketTransportOptions> = {}): WebSocketTransport {
  return new WebSocketTransport({
    host,
    listen: { address: LOOPBACK, port: 0 },
    peers: {},
    secret: SECRET,
    logger: silentLogger,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...extra,
  });
}

/** A started transport whose deliver function can be set later, by `start` as the suite expects. */
export class LateBound implements Transport {
  private target: DeliverFn = () => {};
  constructor(readonly inner: WebSocketTransport) {}

  static async started(inner: WebSocketTransport): Promise<LateBound> {
    const t = new LateBound(inner);
    await inner.start((env, from) => t.target(env, from));
    return t;
  }

  get kind() { return this.inner.kind; }
  get host() { return this.inner.host; }
  get guarantees() { return this.inner.guarantees; }
  get events(): Observable<TransportEvent> { return this.inner.events; }
  async start(deliver: DeliverFn): Promise<void> { this.target = deliver; }
  send(env: Envelope): void { this.inner.send(env); }
  stats(): TransportStats { return this.inner.stats(); }
  close(): Promise<void> { return this.inner.close(); }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `cond` every 10 ms for up to `maxMs`. */
export async function eventually(cond: () => boolean, maxMs = 3000): Promise<boolean> {
  for (let waitedMs = 0; waitedMs < maxMs; waitedMs += 10) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}
