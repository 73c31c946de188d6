// Building a real transport for one host from command-line settings.
import type { Logger } from 'pino';
import { FrameCodec } from '../transport/frame.ts';
import type { SchemaRegistry } from '../transport/schemas.ts';
import type { Transport } from '../transport/types.ts';
import { UdpTransport } from '../transport/udp/udp-transport.ts';
import { WebSocketTransport } from '../transport/websocket/websocket-transport.ts';
import { UsageError } from './main.ts';

export type TransportName = 'ws' | 'udp';
export const TRANSPORTS: readonly TransportName[] = ['ws', 'udp'];

export interface PeerAddr {
  readonly address: string;
  readonly port: number;
}

export interface TransportSettings {
  readonly kind: TransportName;
  readonly host: string;
  readonly peers: Record<string, PeerAddr>;
  readonly secret: Buffer;
  readonly schemas: SchemaRegistry;
  readonly logger?: Logger;
}

export function makeTransport(s: TransportSettings): Transport {
  const self = s.peers[s.host];
  if (!self) throw new UsageError(`--peers gives no address for this host '${s.host}'`);
  const peers = Object.fromEntries(Object.entries(s.peers).filter(([h]) => h !== s.host));
  const common = {
    host: s.host, listen: { address: self.address, port: self.port }, peers, secret: s.secret,
    frames: new FrameCodec({ schemas: s.schemas }), ...(s.logger ? { logger: s.logger } : {}),
  };
  return s.kind === 'ws' ? new WebSocketTransport(common) : new UdpTransport(common);
}

/** `a=127.0.0.1:4001,b=[::1]:4002` */
export function parsePeers(value: string): Record<string, PeerAddr> {
  const peers: Record<string, PeerAddr> = {};
  for (const part of value.split(',').filter(Boolean)) {
    const m = /^([A-Za-z0-9_.@$-]+)=(\[[^\]]+\]|[^:]+):(\d+)$/.exec(part);
    if (!m) throw new UsageError(`'${part}' is not host=address:port`);
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new UsageError(`'${part}': port ${port} is out of range`);
    peers[m[1]!] = { address: m[2]!.replace(/^\[|\]$/g, ''), port };
  }
  if (Object.keys(peers).length === 0) throw new UsageError('--peers lists no host');
  return peers;
}
