// Messages of the unreplicated baseline: a client request and the server's reply (the kv
// direct-client protocol, apps/kv/direct-client.ts).
export { directSchemas as unreplicatedSchemas, type DirectClientMsg as ClientMsg, type Reply, type Request } from '../kv/direct-client.ts';
import type { Request } from '../kv/direct-client.ts';

export type ServerMsg = Request;
