// The WebSocket handshake: how two hosts prove to each other that they hold the cluster secret
// before a single envelope is accepted. It runs inside the WebSocket, after the HTTP upgrade:
//
//   server -> client  challenge { serverNonce }                       fresh 16 random bytes
//   client -> server  hello     { host, clientNonce, mac }
//                     mac = HMAC(secret, 'client', serverNonce, clientNonce, clientHost, serverHost)
//   server -> client  welcome   { mac }
//                     mac = HMAC(secret, 'server', clientNonce, serverNonce, serverHost)
//
// The server's fresh nonce makes a recorded hello useless on a new connection (replay); the
// client's nonce does the same for a recorded welcome. Naming the server host in the client's
// MAC binds the hello to the host the client meant to reach, and the 'client'/'server' labels
// stop one side's MAC from being reflected back as the other's. Each handshake message is one
// binary WebSocket message: the 4-byte magic 'SBH1' followed by a small JSON object whose byte
// fields are base64. A first message without the magic is data sent before authentication.
import { hmac } from '../auth.ts';

export const NONCE_BYTES = 16;
const MAC_BYTES = 32;
const MAGIC = Buffer.from('SBH1', 'latin1');
/** Handshake messages are tiny; anything bigger is not one. */
const MAX_HANDSHAKE_BYTES = 1024;
const MAX_HOST_LENGTH = 256;

export type HandshakeMsg =
  | { readonly t: 'challenge'; readonly serverNonce: Buffer }
  | { readonly t: 'hello'; readonly host: string; readonly clientNonce: Buffer; readonly mac: Buffer }
  | { readonly t: 'welcome'; readonly mac: Buffer };

export type HandshakeParse =
  | { readonly kind: 'ok'; readonly msg: HandshakeMsg }
  /** Not a handshake message at all (no magic): data sent before authentication. */
  | { readonly kind: 'not-handshake' }
  | { readonly kind: 'malformed'; readonly detail: string };

export function clientMac(secret: Buffer, serverNonce: Buffer, clientNonce: Buffer, clientHost: string, serverHost: string): Buffer {
  return hmac(secret, 'client', serverNonce, clientNonce, clientHost, serverHost);
}

export function serverMac(secret: Buffer, clientNonce: Buffer, serverNonce: Buffer, serverHost: string): Buffer {
  return hmac(secret, 'server', clientNonce, serverNonce, serverHost);
}

export function encodeHandshake(msg: HandshakeMsg): Buffer {
  let body: Record<string, string>;
  switch (msg.t) {
    case 'challenge': body = { t: msg.t, serverNonce: msg.serverNonce.toString('base64') }; break;
    case 'hello': body = { t: msg.t, host: msg.host, clientNonce: msg.clientNonce.toString('base64'), mac: msg.mac.toString('base64') }; break;
    case 'welcome': body = { t: msg.t, mac: msg.mac.toString('base64') }; break;
  }
  return Buffer.concat([MAGIC, Buffer.from(JSON.stringify(body), 'utf8')]);
}

/** Parse one handshake message from outside. Never throws. */
export function parseHandshake(bytes: Buffer): HandshakeParse {
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return { kind: 'not-handshake' };
  if (bytes.length > MAX_HANDSHAKE_BYTES) return malformed(`${bytes.length} bytes is too long for a handshake message`);
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8', MAGIC.length));
  } catch {
    return malformed('handshake body is not JSON');
  }
  if (typeof body !== 'object' || body === null) return malformed('handshake body is not an object');
  const o = body as Record<string, unknown>;
  switch (o['t']) {
    case 'challenge': {
      const serverNonce = bytesField(o['serverNonce'], NONCE_BYTES);
      return serverNonce ? ok({ t: 'challenge', serverNonce }) : malformed('challenge without a valid nonce');
    }
    case 'hello': {
      const clientNonce = bytesField(o['clientNonce'], NONCE_BYTES);
      const mac = bytesField(o['mac'], MAC_BYTES);
      const host = o['host'];
      if (typeof host !== 'string' || host.length === 0 || host.length > MAX_HOST_LENGTH) return malformed('hello without a valid host name');
      return clientNonce && mac ? ok({ t: 'hello', host, clientNonce, mac }) : malformed('hello without a valid nonce or MAC');
    }
    case 'welcome': {
      const mac = bytesField(o['mac'], MAC_BYTES);
      return mac ? ok({ t: 'welcome', mac }) : malformed('welcome without a valid MAC');
    }
    default:
      return malformed('unknown handshake message type');
  }
}

/** A base64 field that decodes to exactly `sizeBytes` bytes, or null. */
function bytesField(v: unknown, sizeBytes: number): Buffer | null {
  if (typeof v !== 'string' || v.length > 4 * Math.ceil(sizeBytes / 3)) return null;
  const b = Buffer.from(v, 'base64');
  return b.length === sizeBytes ? b : null;
}

function ok(msg: HandshakeMsg): HandshakeParse {
  return { kind: 'ok', msg };
}

function malformed(detail: string): HandshakeParse {
  return { kind: 'malformed', detail };
}
