// The consistent-hashing baseline's storage server: it owns the keys the ring gives it and
// answers every request for them itself. Writes are at most once per client request (the
// client table) and numbered by a local counter (one server owns a key, so its order is the
// key's order).
import { behavior, type ActorRef, type Behavior } from '../../actors/index.ts';
import type { KvHashReply, KvHashRequest } from './messages.ts';
import { HEADER_BYTES } from './messages.ts';
import { ClientTable, sessionKey, StorageMeter, VersionedStore, type StorageCosts } from './store.ts';

export interface KvHashServerConfig {
  readonly serverId: number;
  /** Where replies go: this server's port on the switch. */
  readonly uplink: ActorRef<KvHashReply>;
  readonly costs?: StorageCosts;
  /** What the store holds at start: (key, value bytes). */
  readonly items?: readonly (readonly [string, number])[];
}

export interface KvHashServerState {
  readonly store: VersionedStore;
  readonly table: ClientTable;
  nextVer: number;
  requests: number;
}

export function kvHashServer(cfg: KvHashServerConfig): Behavior<KvHashServerState, KvHashRequest> {
  const meter = new StorageMeter(cfg.costs);
  return behavior<KvHashServerState, KvHashRequest>({
    init: () => ({ store: new VersionedStore(cfg.items), table: new ClientTable(), nextVer: 1, requests: 0 }),
    receive: (s, msg, ctx) => {
      meter.recv(msg.valueBytes);
      s.requests++;
      let value = '';
      let bytes = 0;
      if (msg.op === 'GET') {
        meter.execute();
        const it = s.store.get(msg.key);
        value = it?.value ?? '';
        bytes = it?.valueBytes ?? 0;
      } else {
        const sk = sessionKey(msg.clientId, msg.session);
        const check = s.table.check(sk, msg.reqId);
        if (check === 'stale') return s;
        if (check === 'new') {
          meter.execute();
          const ver = s.nextVer++;
          s.store.apply(msg.key, ver, msg.value, msg.valueBytes);
          s.table.record(sk, { reqId: msg.reqId, key: msg.key, ver, value: msg.value, valueBytes: msg.valueBytes });
        }
      }
      meter.send(bytes);
      ctx.send(cfg.uplink, {
        type: 'KvHashReply', op: msg.op, key: msg.key, clientId: msg.clientId, session: msg.session, reqId: msg.reqId,
        serverId: cfg.serverId, value, sizeBytes: HEADER_BYTES + msg.key.length + bytes,
      });
      return s;
    },
    serviceTimeMs: () => meter.take(),
  });
}
