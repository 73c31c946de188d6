// A number reserved at a majority of keepers, so that whoever picks the next one (after a
// restart, with nothing remembered) learns every number that may have been used: the NOPaxos
// controller's sessions (kept by the replicas) and the NetCache controller's epochs (kept by the
// servers). A keeper keeps the highest number it was asked to reserve and answers with the
// highest it knows; any two majorities meet, so a majority's highest answer is at least every
// number reserved before. Asking for -1 reserves nothing and only learns that highest.

export type ReservationOutcome =
  /** Fewer than a majority have answered. */
  | { readonly kind: 'waiting' }
  /** A majority keeps `asked` and knows nothing higher: it may be used. */
  | { readonly kind: 'taken'; readonly num: number }
  /** A majority answered, and `top` is the highest any knows (above `asked`, or `asked` was -1). */
  | { readonly kind: 'higher'; readonly top: number };

export class MajorityReservation {
  /** keeper -> the highest number it reported for this request */
  private readonly answers = new Map<number, number>();

  constructor(readonly asked: number, private readonly majority: number) {}

  /** Whether keeper `k` has answered (the others are asked again on resends). */
  answered(k: number): boolean {
    return this.answers.has(k);
  }

  /** Keeper `k` answered a request for `asked` with `highest`; answers to another request are ignored. */
  answer(k: number, asked: number, highest: number): ReservationOutcome {
    if (asked !== this.asked) return { kind: 'waiting' };
    this.answers.set(k, highest);
    if (this.answers.size < this.majority) return { kind: 'waiting' };
    const top = Math.max(...this.answers.values());
    return this.asked >= 0 && top <= this.asked ? { kind: 'taken', num: this.asked } : { kind: 'higher', top };
  }
}

/** A majority of `n` keepers. */
export function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}
