// Building the real transport of one host from a checked topology file: its own address to
// listen on, every other host as a peer, the cluster secret from where the file says, and TLS
// files for wss.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { TRANSPORT_NAMES, type LoadedTopology, type TlsFiles, type TransportName } from '../actors/topology-file.ts';
import { loadSecret } from '../transport/auth.ts';
import { FrameCodec } from '../transport/frame.ts';
import type { SchemaRegistry } from '../transport/schemas.ts';
import type { Transport } from '../transport/types.ts';
import { MAX_UDP_PAYLOAD_BYTES } from '../transport/udp/datagram.ts';
import { UdpTransport } from '../transport/udp/udp-transport.ts';
import { WebSocketTransport } from '../transport/websocket/websocket-transport.ts';
import { UsageError } from './main.ts';

export type { TransportName };
export const TRANSPORTS: readonly TransportName[] = TRANSPORT_NAMES;

export interface PeerAddr {
  readonly address: string;
  readonly port: number;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

export interface TransportSettings {
  readonly kind: TransportName;
  readonly host: string;
  /** Where every host listens, this one included. */
  readonly peers: Record<string, PeerAddr>;
  readonly secret: Buffer;
  readonly schemas: SchemaRegistry;
  readonly tls?: TlsMaterial;
  readonly logger?: Logger;
  /** UDP: the largest datagram (default the transport's: 1472, an Ethernet MTU's worth). */
  readonly maxDatagramBytes?: number;
}

/**
 * UDP datagrams on loopback may be as large as UDP allows: the loopback interface's MTU (64 KiB)
 * means they are never fragmented, and large protocol messages (a NOPaxos state transfer) fit.
 */
export const LOOPBACK_MAX_DATAGRAM_BYTES = MAX_UDP_PAYLOAD_BYTES;

export function isLoopbackAddress(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || address.toLowerCase() === 'localhost';
}

export function makeTransport(s: TransportSettings): Transport {
  const self = s.peers[s.host];
  if (!self) throw new UsageError(`no address for this host '${s.host}'`);
  const peers = Object.fromEntries(Object.entries(s.peers).filter(([h]) => h !== s.host));
  const common = {
    host: s.host, listen: { address: self.address, port: self.port }, peers, secret: s.secret,
    frames: new FrameCodec({ schemas: s.schemas }), ...(s.logger ? { logger: s.logger } : {}),
  };
  if (s.kind === 'udp') {
    if (s.tls) throw new UsageError('TLS is for the ws transport only');
    return new UdpTransport({ ...common, ...(s.maxDatagramBytes ? { maxDatagramBytes: s.maxDatagramBytes } : {}) });
  }
  return new WebSocketTransport({ ...common, ...(s.tls ? { tls: s.tls } : {}) });
}

/** The cluster secret the file points at; a missing or short one is a usage error naming where it looked. */
export function secretOf(loaded: LoadedTopology): Buffer {
  try {
    return loadSecret(loaded.file.secret);
  } catch (err) {
    throw new UsageError(`secret: ${(err as Error).message}`);
  }
}

/** The TLS files the file names, read; an unreadable one is a usage error naming its field. */
export function tlsOf(files: TlsFiles | undefined): TlsMaterial | undefined {
  if (!files) return undefined;
  const read = (field: keyof TlsFiles): Buffer | undefined => {
    const path = files[field];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`tls.${field}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const ca = read('ca');
  return { cert: read('cert')!, key: read('key')!, ...(ca ? { ca } : {}) };
}

/** The transport of `host` as the topology file describes it (not yet started). */
export function transportForHost(loaded: LoadedTopology, host: string, logger?: Logger): Transport {
  const { file } = loaded;
  const peers = Object.fromEntries(Object.entries(file.hosts).map(([h, e]) => [h, { address: e.address, port: e.port }]));
  const tls = tlsOf(file.tls);
  // Every host computes the same from the same file, as they must (a larger datagram than the
  // receiver's limit is refused).
  const loopback = Object.values(file.hosts).every((h) => isLoopbackAddress(h.address));
  const maxDatagramBytes = file.udp?.maxDatagramBytes ?? (loopback ? LOOPBACK_MAX_DATAGRAM_BYTES : undefined);
  return makeTransport({
    kind: file.transport, host, peers, secret: secretOf(loaded), schemas: loaded.built.topology.schemas,
    ...(tls ? { tls } : {}), ...(logger ? { logger } : {}), ...(maxDatagramBytes ? { maxDatagramBytes } : {}),
  });
}
