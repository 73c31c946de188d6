// The NetCache client: the load core with requests sent to each key's home server by
// consistent hashing, through the top-of-rack switch (which may answer a read itself).
import type { ActorRef, Behavior } from '../../actors/index.ts';
import { keyHash, Ring } from '../kv-hash/ring.ts';
import { loadClient, type LoadConfig, type LoadState } from '../workload/client.ts';
import { HEADER_BYTES, type ClientMsg, type NetCache } from './messages.ts';

export interface NetCacheClientConfig extends LoadConfig {
  readonly servers: number;
  readonly uplink: ActorRef<NetCache>;
}

export function netcacheClient(cfg: NetCacheClientConfig): Behavior<LoadState, ClientMsg> {
  const ring = new Ring(cfg.servers);
  return loadClient<NetCache>(cfg, {
    send: (op, ctx) => {
      const keyhash = keyHash(op.key);
      ctx.send(cfg.uplink, {
        type: 'NetCache', op: op.read ? 'GET' : 'PUT', keyhash, clientId: cfg.clientId, serverId: ring.home(keyhash), ver: 0, cached: 0,
        key: op.key, value: op.value, valueBytes: op.valueBytes, session: op.session, reqId: op.reqId,
        sizeBytes: HEADER_BYTES + op.key.length + op.valueBytes,
      });
    },
    // Only replies answer an operation; a request bounced back to a client is ignored.
    reply: (msg) => (msg.op === 'REP_R' || msg.op === 'REP_W'
      ? { session: msg.session, reqId: msg.reqId, value: msg.op === 'REP_R' ? msg.value : undefined }
      : undefined),
  });
}
