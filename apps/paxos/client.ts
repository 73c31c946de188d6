// The Multi-Paxos client: the kv direct client, talking to the leader.
export { directClient as paxosClient, REQUEST_TIMEOUT_MS, type DirectClientConfig as ClientConfig, type DirectClientState as ClientState } from '../kv/direct-client.ts';
