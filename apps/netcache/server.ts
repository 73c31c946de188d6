// The NetCache storage server: it owns the keys consistent hashing gives it, applies writes in
// the order of the versions the switch stamps (so a cached copy can be checked against them),
// answers writes with the value written (the switch refreshes its cache from the reply), and
// fills the cache for the controller (CACHE_FILL through the switch). It also keeps the highest
// epoch of the switch's versions it knows (EpochReserve: see the controller).
import { assertNever, behavior, type ActorRef, type Behavior } from '../../actors/index.ts';
import { keyHash as keyhashOf } from '../kv-hash/ring.ts';
import { ClientTable, sessionKey, StorageMeter, VersionedStore, type StorageCosts } from '../kv-hash/store.ts';
import { EPOCH_SPAN, HEADER_BYTES, type ControllerMsg, type NetCache, type ServerMsg } from './messages.ts';

export interface NetCacheServerConfig {
  readonly serverId: number;
  readonly uplink: ActorRef<NetCache>;
  readonly controller: ActorRef<ControllerMsg>;
  readonly costs?: StorageCosts;
  /** What the store holds at start: (key, value bytes). */
  readonly items?: readonly (readonly [string, number])[];
}

export interface NetCacheServerState {
  readonly store: VersionedStore;
  /** The highest epoch the controller reserved here, or of a version written here (EpochReserve). */
  epoch: number;
  readonly table: ClientTable;
  requests: number;
}

export function netcacheServer(cfg: NetCacheServerConfig): Behavior<NetCacheServerState, ServerMsg> {
  const meter = new StorageMeter(cfg.costs);
  const send = (m: NetCache, op: 'REP_R' | 'REP_W' | 'CACHE_FILL', ver: number, value: string, valueBytes: number, ctx: { send: (to: ActorRef<NetCache>, m: NetCache) => void }): void => {
    meter.send(valueBytes);
    ctx.send(cfg.uplink, { ...m, op, serverId: cfg.serverId, ver, cached: 0, value, valueBytes, sizeBytes: HEADER_BYTES + m.key.length + valueBytes });
  };
  return behavior<NetCacheServerState, ServerMsg>({
    init: () => ({ store: new VersionedStore(cfg.items), table: new ClientTable(), requests: 0, epoch: 0 }),
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'NetCache': {
          meter.recv(msg.valueBytes);
          s.requests++;
          if (msg.op === 'GET') {
            meter.execute();
            const it = s.store.get(msg.key);
            send(msg, 'REP_R', it?.ver ?? 0, it?.value ?? '', it?.valueBytes ?? 0, ctx);
          } else if (msg.op === 'PUT') {
            const sk = sessionKey(msg.clientId, msg.session);
            const check = s.table.check(sk, msg.reqId);
            if (check === 'stale') return s;
            if (check === 'new') {
              meter.execute();
              s.store.apply(msg.key, msg.ver, msg.value, msg.valueBytes);
              s.epoch = Math.max(s.epoch, Math.floor(msg.ver / EPOCH_SPAN));
              s.table.record(sk, { reqId: msg.reqId, key: msg.key, ver: msg.ver, value: msg.value, valueBytes: msg.valueBytes });
            }
            const e = s.table.get(sk)!;
            send(msg, 'REP_W', e.ver, e.value, e.valueBytes, ctx);
          }
          return s;
        }
        case 'FillPrepare':
          ctx.send(cfg.controller, { type: 'FillVersion', key: msg.key, ver: s.store.version(msg.key), valueBytes: s.store.get(msg.key)?.valueBytes ?? 0 });
          return s;
        case 'FillRequest': {
          const it = s.store.get(msg.key);
          const base: NetCache = {
            type: 'NetCache', op: 'CACHE_FILL', keyhash: 0, clientId: 0, serverId: cfg.serverId, ver: 0, cached: 0, key: msg.key, value: '',
            valueBytes: 0, session: 0, reqId: 0, sizeBytes: 0, fillGen: msg.fillGen,
          };
          send({ ...base, keyhash: keyhashOf(msg.key) }, 'CACHE_FILL', it?.ver ?? 0, it?.value ?? '', it?.valueBytes ?? 0, ctx);
          return s;
        }
        case 'EpochReserve':
          s.epoch = Math.max(s.epoch, msg.epoch);
          ctx.send(msg.replyTo, { type: 'EpochReserved', asked: msg.epoch, server: msg.server, highest: s.epoch });
          return s;
        default:
          return assertNever(msg);
      }
    },
    serviceTimeMs: () => meter.take(),
  });
}
