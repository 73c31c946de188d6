// The sim cost model of the kv servers (DESIGN.md "Performance"): virtual CPU time a server
// spends per message it receives, per message it sends, per operation it executes and per log
// entry it copies in bulk (state transfer, view change). The figures are those of a tuned
// kernel-bypass server (a few microseconds per small message), so that in sim a server's
// throughput is bounded by the messages it handles per request, as in the papers: a NOPaxos
// replica handles 2 per request (the request in, the reply out), a Multi-Paxos leader about
// 2n, an unreplicated server 2.
//
// A behaviour meters what it does while it handles a message and its serviceTimeMs returns the
// total (the simulator asks for it right after the handler ran).

export interface ServiceCosts {
  /** Per message received (parsing, dispatch). */
  readonly recvMs: number;
  /** Per message sent (serialisation, the send call). */
  readonly sendMs: number;
  /** Per operation executed on the key-value store. */
  readonly executeMs: number;
  /** Per log entry copied in a bulk message (state transfer, start view). */
  readonly entryMs: number;
}

export const DEFAULT_SERVICE_COSTS: ServiceCosts = { recvMs: 0.002, sendMs: 0.001, executeMs: 0.001, entryMs: 0.0002 };

export class ServiceMeter {
  private totalMs = 0;

  constructor(readonly costs: ServiceCosts = DEFAULT_SERVICE_COSTS) {}

  recv(): void {
    this.totalMs += this.costs.recvMs;
  }

  send(count = 1): void {
    this.totalMs += count * this.costs.sendMs;
  }

  execute(count = 1): void {
    this.totalMs += count * this.costs.executeMs;
  }

  entries(count: number): void {
    this.totalMs += count * this.costs.entryMs;
  }

  /** The time metered since the last call; resets. */
  take(): number {
    const t = this.totalMs;
    this.totalMs = 0;
    return t;
  }
}
