// The far end of the runtime benchmark's cross-process measurements, run as a child process:
//   peer.ts raw-ws PORT TOTAL ACK_EVERY    a bare ws server that counts and acknowledges
//   peer.ts raw-udp PORT                   a bare dgram socket that counts
//   peer.ts node ws|udp PORTA PORTB TOTAL ACK_EVERY   host b of the flow topology, counting
// It prints {"event":"ready"} when listening and, for counting peers, {"event":"stats",...}
// once traffic has stopped for IDLE_MS.
import { createSocket } from 'node:dgram';
import { WebSocketServer } from 'ws';
import { runNode } from '../actors/index.ts';
import { FrameCodec } from '../transport/frame.ts';
import { UdpTransport } from '../transport/udp/udp-transport.ts';
import { WebSocketTransport } from '../transport/websocket/websocket-transport.ts';
import { counter, flowTopology } from './workloads.ts';

const IDLE_MS = 400;
const [mode, ...args] = process.argv.slice(2);
const emit = (o: Record<string, unknown>): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };

/** Reports count and arrival times once nothing has arrived for IDLE_MS. */
function idleReporter(): (n?: number) => void {
  let count = 0;
  let firstMs = 0;
  let lastMs = 0;
  let timer: NodeJS.Timeout | undefined;
  return (n = 1) => {
    const now = performance.now();
    if (count === 0) firstMs = now;
    count += n;
    lastMs = now;
    clearTimeout(timer);
    timer = setTimeout(() => emit({ event: 'stats', count, firstMs, lastMs, spanMs: lastMs - firstMs }), IDLE_MS);
  };
}

if (mode === 'raw-ws') {
  const [port, total, ackEvery] = args.map(Number) as [number, number, number];
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 1 << 20 });
  wss.on('listening', () => emit({ event: 'ready' }));
  wss.on('connection', (ws) => {
    let count = 0;
    const ack = Buffer.alloc(4);
    ws.on('message', () => {
      count++;
      if (count % ackEvery === 0 || count === total) {
        ack.writeUInt32BE(count, 0);
        ws.send(ack);
      }
    });
  });
} else if (mode === 'raw-udp') {
  const [port] = args.map(Number) as [number];
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const seen = idleReporter();
  sock.on('message', () => seen());
  sock.bind(port, '127.0.0.1', () => emit({ event: 'ready' }));
} else if (mode === 'node') {
  const [kind, portA, portB, total, ackEvery] = [args[0], ...args.slice(1).map(Number)] as [string, number, number, number, number];
  const f = flowTopology(false);
  const seen = idleReporter();
  const cfg = { total, window: 0, ackEvery, burst: 0 };
  f.topology.actor(f.b, f.counterPath, counter(cfg, () => performance.now(), ackEvery === 0 ? () => seen() : undefined));
  const secret = Buffer.from(process.env.SWITCHBOARD_SECRET ?? '', 'utf8');
  const opts = {
    host: 'b', listen: { address: '127.0.0.1', port: portB }, peers: { a: { address: '127.0.0.1', port: portA } },
    secret, frames: new FrameCodec({ schemas: f.topology.schemas }),
  };
  const transport = kind === 'ws' ? new WebSocketTransport(opts) : new UdpTransport(opts);
  await runNode(f.topology, 'b', { transport });
  emit({ event: 'ready' });
} else {
  process.stderr.write(`peer.ts: unknown mode '${mode}'\n`);
  process.exit(2);
}
