// The cluster secret and the HMACs built on it. Every frame from another process proves that
// its sender knows the secret: a challenge-response handshake on WebSocket, a tag on every UDP
// datagram. The secret never appears in a topology; it comes from the environment or a file.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const MIN_SECRET_BYTES = 16;

export type SecretSource =
  | { readonly env: string }
  | { readonly file: string }
  | { readonly value: string | Buffer };

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

/** Load the cluster secret, refusing one that is missing or too short to be a secret. */
export function loadSecret(source: SecretSource): Buffer {
  let raw: string | Buffer | undefined;
  let where: string;
  if ('env' in source) {
    raw = process.env[source.env];
    where = `environment variable ${source.env}`;
  } else if ('file' in source) {
    where = `file ${source.file}`;
    try {
      raw = readFileSync(source.file, 'utf8').trim();
    } catch (err) {
      throw new SecretError(`cannot read the cluster secret from ${where}: ${(err as Error).message}`);
    }
  } else {
    raw = source.value;
    where = 'the given value';
  }
  if (raw === undefined || raw.length === 0) throw new SecretError(`no cluster secret in ${where}`);
  const secret = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new SecretError(`the cluster secret in ${where} is ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
  }
  return secret;
}

/** HMAC-SHA256 over the parts, each length-prefixed so that part boundaries cannot shift. */
export function hmac(secret: Buffer, ...parts: (string | Uint8Array)[]): Buffer {
  const mac = createHmac('sha256', secret);
  const len = Buffer.allocUnsafe(4);
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    len.writeUInt32BE(bytes.length, 0);
    mac.update(len);
    mac.update(bytes);
  }
  return mac.digest();
}

/** Constant-time comparison that also refuses different lengths. */
export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function nonce(bytes = 16): Buffer {
  return randomBytes(bytes);
}
