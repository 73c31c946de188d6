// The Pegasus client (reference: emulation/apps/memcachekv/client.cc): the load core of
// apps/workload with each request addressed to its key's home server by consistent hashing
// (16 virtual nodes per server); the switch may send it elsewhere. Writes enter the chain's
// head rack, reads go to its tail rack; a ChainConfig from the controller moves them (and
// resends what is outstanding).
import { assertNever, behavior, type ActorRef, type Behavior } from '../../actors/index.ts';
import { keyHash, Ring } from '../kv-hash/ring.ts';
import { createLoad, isLoadMsg, onLoadMsg, onReply, resendAll, scheduleStart, type LoadConfig, type LoadState, type PendingOp } from '../workload/client.ts';
import type { PegasusInvariants } from './invariants.ts';
import { CLIENT_ACK, HEADER_BYTES, type Ack, type ClientMsg, type ControllerMsg, type Pegasus } from './messages.ts';

export interface PegasusClientConfig extends LoadConfig {
  /** Servers per rack. */
  readonly servers: number;
  /** uplinks[r]: this client's port on rack r's switch. */
  readonly uplinks: readonly ActorRef<Pegasus>[];
  readonly chain: readonly number[];
  readonly controller?: ActorRef<ControllerMsg>;
  readonly invariants?: PegasusInvariants;
}

export interface PegasusClientState {
  readonly load: LoadState;
  chain: readonly number[];
  chainRound: number;
}

export function pegasusClient(cfg: PegasusClientConfig): Behavior<PegasusClientState, ClientMsg> {
  const ring = new Ring(cfg.servers);
  return behavior<PegasusClientState, ClientMsg>({
    init: (ctx) => {
      const load = createLoad(cfg, ctx.incarnation);
      scheduleStart(load, ctx);
      // The chain may have changed since the configuration was written (a restart, a late start).
      if (cfg.controller) ctx.send(cfg.controller, { type: 'ChainQuery', clientId: cfg.clientId });
      return { load, chain: [...cfg.chain], chainRound: -1 };
    },
    receive: (s, msg, ctx) => {
      const send = (op: PendingOp): void => {
        const keyhash = keyHash(op.key);
        const rack = op.read ? s.chain[s.chain.length - 1]! : s.chain[0]!;
        ctx.send(cfg.uplinks[rack]!, {
          type: 'Pegasus', op: op.read ? 'GET' : 'PUT', keyhash, clientId: cfg.clientId, serverId: ring.home(keyhash), load: 0, ver: 0,
          bitmap: 0, replicated: 0, rf: 1, rack, from: ctx.host, key: op.key, value: op.value, valueBytes: op.valueBytes,
          session: op.session, reqId: op.reqId, sizeBytes: HEADER_BYTES + op.key.length + op.valueBytes,
        });
      };
      if (isLoadMsg(msg)) {
        onLoadMsg(s.load, msg, ctx, send);
        return s;
      }
      switch (msg.type) {
        case 'Pegasus': {
          if (msg.op !== 'REP_R' && msg.op !== 'REP_W') return s;
          const done = onReply(s.load, msg.session, msg.reqId, msg.op === 'REP_R' ? msg.value : undefined, ctx, send);
          if (done && cfg.invariants) cfg.invariants.completed(msg.key, msg.ver, done.read, done.startMs, ctx.now());
          return s;
        }
        case 'ChainConfig': {
          if (cfg.controller) {
            const ack: Ack = { type: 'Ack', round: msg.round, of: 'ChainConfig', rack: CLIENT_ACK, serverId: cfg.clientId, host: ctx.host };
            ctx.send(cfg.controller, ack);
          }
          if (msg.round > s.chainRound && msg.racks.length > 0) {
            s.chain = [...msg.racks];
            s.chainRound = msg.round;
            resendAll(s.load, ctx, send);
          }
          return s;
        }
        default:
          return assertNever(msg);
      }
    },
  });
}
