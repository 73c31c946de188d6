// The NetCache client: the load core with requests sent to each key's home server by
// consistent hashing, through the top-of-rack switch (which may answer a read itself).
import { behavior, type ActorRef, type Behavior } from '../../actors/index.ts';
import { keyHash, Ring } from '../kv-hash/ring.ts';
import { createLoad, onLoadMsg, onReply, scheduleStart, type LoadConfig, type LoadState, type PendingOp } from '../workload/client.ts';
import { HEADER_BYTES, type ClientMsg, type NetCache } from './messages.ts';

export interface NetCacheClientConfig extends LoadConfig {
  readonly servers: number;
  readonly uplink: ActorRef<NetCache>;
}

export function netcacheClient(cfg: NetCacheClientConfig): Behavior<LoadState, ClientMsg> {
  const ring = new Ring(cfg.servers);
  return behavior<LoadState, ClientMsg>({
    init: (ctx) => {
      const s = createLoad(cfg);
      scheduleStart(s, ctx);
      return s;
    },
    receive: (s, msg, ctx) => {
      const send = (op: PendingOp): void => {
        const keyhash = keyHash(op.key);
        ctx.send(cfg.uplink, {
          type: 'NetCache', op: op.read ? 'GET' : 'PUT', keyhash, clientId: cfg.clientId, serverId: ring.home(keyhash), ver: 0, cached: 0,
          key: op.key, value: op.value, valueBytes: op.valueBytes, session: op.session, reqId: op.reqId,
          sizeBytes: HEADER_BYTES + op.key.length + op.valueBytes,
        });
      };
      if (msg.type === 'NetCache') {
        if (msg.op === 'REP_R' || msg.op === 'REP_W') onReply(s, msg.session, msg.reqId, msg.op === 'REP_R' ? msg.value : undefined, ctx, send);
      } else {
        onLoadMsg(s, msg, ctx, send);
      }
      return s;
    },
  });
}
