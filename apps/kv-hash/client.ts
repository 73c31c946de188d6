// The consistent-hashing client: the load core (apps/workload/client.ts) with requests sent to
// each key's home server by the ring, through the top-of-rack switch.
import type { ActorRef, Behavior } from '../../actors/index.ts';
import { loadClient, type LoadConfig, type LoadState } from '../workload/client.ts';
import type { KvHashClientMsg, KvHashReply, KvHashRequest } from './messages.ts';
import { HEADER_BYTES } from './messages.ts';
import { keyHash, Ring } from './ring.ts';

export interface KvHashClientConfig extends LoadConfig {
  readonly servers: number;
  /** This client's port on the switch. */
  readonly uplink: ActorRef<KvHashRequest>;
}

export function kvHashClient(cfg: KvHashClientConfig): Behavior<LoadState, KvHashClientMsg> {
  const ring = new Ring(cfg.servers);
  return loadClient<KvHashReply>(cfg, {
    send: (op, ctx) => {
      const keyhash = keyHash(op.key);
      ctx.send(cfg.uplink, {
        type: 'KvHashRequest', op: op.read ? 'GET' : 'PUT', key: op.key, keyhash, clientId: cfg.clientId, session: op.session,
        reqId: op.reqId, serverId: ring.home(keyhash), value: op.value, valueBytes: op.valueBytes,
        sizeBytes: HEADER_BYTES + op.key.length + op.valueBytes,
      });
    },
    reply: (msg) => ({ session: msg.session, reqId: msg.reqId, value: msg.op === 'GET' ? msg.value : undefined }),
  });
}
