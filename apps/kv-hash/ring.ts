// Consistent hashing (Karger et al.) as the Pegasus reference places keys: every server owns
// VNODES points on a 32-bit ring, and a key belongs to the first point at or after its hash.
// A key's hash is also what the switches match on (the 32-bit `keyhash` header field).

/** Virtual nodes per server, as in the reference. */
export const VNODES = 16;

/** The 32-bit hash of a key (FNV-1a with a final avalanche, so neighbouring keys spread). */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Ring {
  private readonly points: Uint32Array;
  private readonly owners: Uint16Array;

  /** A ring over servers 0..servers-1. */
  constructor(readonly servers: number, readonly vnodes = VNODES) {
    if (!(servers >= 1 && servers <= 65_535)) throw new RangeError('ring: 1..65535 servers');
    const pts: [number, number][] = [];
    for (let s = 0; s < servers; s++) for (let v = 0; v < vnodes; v++) pts.push([keyHash(`server-${s}#${v}`), s]);
    pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(pts.map((p) => p[0]));
    this.owners = Uint16Array.from(pts.map((p) => p[1]));
  }

  /** The home server of a key hash. */
  home(hash: number): number {
    const p = this.points;
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === p.length ? 0 : lo]!;
  }

  homeOf(key: string): number {
    return this.home(keyHash(key));
  }
}
