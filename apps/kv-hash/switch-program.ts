// The consistent-hashing baseline's top-of-rack program: plain forwarding, requests by server
// id to that server's port, replies by client id to that client's port. It keeps no state.
import type { Msg } from '../../actors/index.ts';
import { defineProgram, markDrop, stage, table, type SwitchProgram } from '../../switch-model/index.ts';
import type { KvHashReply, KvHashRequest } from './messages.ts';

export interface ForwardHeaders {
  /** 0: a request (to a server), 1: a reply (to a client). */
  dir: number;
  id: number;
}

const forwardAction = {
  params: { port: 16 },
  run: (pkt: { meta: { egressPort: number } }, p: Readonly<Record<string, number>>) => { pkt.meta.egressPort = p.port!; },
};

export function kvForwarding(maxHosts = 1024): SwitchProgram<ForwardHeaders> {
  const servers = table<ForwardHeaders>({
    name: 'servers', match: 'exact', keys: [{ name: 'serverId', bits: 16, get: (h) => h.id }], size: maxHosts,
    actions: { forward: forwardAction, drop: { run: (pkt) => markDrop(pkt, 'unknown-server') } }, defaultAction: { action: 'drop' },
  });
  const clients = table<ForwardHeaders>({
    name: 'clients', match: 'exact', keys: [{ name: 'clientId', bits: 16, get: (h) => h.id }], size: maxHosts,
    actions: { forward: forwardAction, drop: { run: (pkt) => markDrop(pkt, 'unknown-client') } }, defaultAction: { action: 'drop' },
  });
  return defineProgram<ForwardHeaders>({
    name: 'kv-forwarding',
    parse: (msg: Msg) => {
      if (msg.type === 'KvHashRequest') return { dir: 0, id: (msg as KvHashRequest).serverId };
      if (msg.type === 'KvHashReply') return { dir: 1, id: (msg as KvHashReply).clientId };
      return undefined;
    },
    deparse: (pkt) => pkt.msg,
    ingress: [
      stage<ForwardHeaders>('forward', { tables: [servers, clients] }, (pkt, env) => {
        env.apply(pkt.headers.dir === 0 ? servers : clients, pkt);
      }),
    ],
  });
}
