// The unreplicated client: the kv direct client, talking to the one server.
export { directClient as unreplicatedClient, REQUEST_TIMEOUT_MS, type DirectClientConfig as ClientConfig, type DirectClientState as ClientState } from '../kv/direct-client.ts';
