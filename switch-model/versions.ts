// Versioned control-plane writes. A controller talks to the switch's control plane over the same
// network as everything else, so its requests can be lost, resent, reordered and late: a resend
// of "delete entry x" can arrive after the "insert entry x" that was meant to follow it, and
// undo it. On hardware the control channel is an ordered stream (P4Runtime over gRPC); here a
// write may carry a `version` (the controller's own counter, growing with every request) and the
// control plane keeps, beside each table and register array, the version of the last write to
// each entry or cell (deleted entries too) and of the last clear or reset. A write not newer than
// those is refused as stale: it was overtaken by a later one, or it is a copy (a resend, or the
// network's duplicate) of one carried out already. So each write is carried out at most once,
// and never after a later one: a register write is not idempotent once the data plane counts on
// from the value it set. This is control-plane memory (the switch CPU's shadow of its tables),
// not switch SRAM, so it costs nothing in the budget.

/** The message of a refused write starts with this. */
export const STALE = 'stale write';

export class WriteVersions {
  private readonly last = new Map<string, number>();
  /** The version of the last versioned clear (or reset): every write before it is stale. */
  private floor = -Infinity;

  /** The version `id` was last written at (or cleared at), -Infinity if never. */
  private of(id: string): number {
    return Math.max(this.floor, this.last.get(id) ?? -Infinity);
  }

  /** Why a write of `id` at `version` is refused (`what` names the entry or cell), or null. */
  refuse(id: string, version: number | undefined, what: string): string | null {
    if (version === undefined) return null;
    const last = this.of(id);
    if (version > last) return null;
    return version === last ? `${STALE}: ${what} was written at version ${version} already` : `${STALE}: ${what} was last written at version ${last}; this write is version ${version}`;
  }

  /** Record a write that was carried out. */
  record(id: string, version: number | undefined): void {
    if (version !== undefined) this.last.set(id, version);
  }

  /**
   * A clear or reset at `version`: returns whether one at `id` (an entry or cell) is older and
   * goes. Call `cleared(version)` after going through them.
   */
  olderThan(id: string, version: number): boolean {
    return (this.last.get(id) ?? -Infinity) < version;
  }

  /** A clear or reset at `version` is done: writes before it are stale from now on. */
  cleared(version: number): void {
    this.floor = Math.max(this.floor, version);
    for (const [id, v] of this.last) if (v < this.floor) this.last.delete(id);
  }

  /** Why a clear or reset at `version` is refused (not newer than the last one), or null. */
  refuseClear(version: number | undefined, what: string): string | null {
    if (version === undefined || version > this.floor) return null;
    return version === this.floor ? `${STALE}: ${what} was cleared at version ${version} already`
      : `${STALE}: ${what} was last cleared at version ${this.floor}; this one is version ${version}`;
  }
}
