// Seeded randomness. Every actor, and the simulated network, draws from its own stream derived
// from the run's seed and its own name, so adding an actor does not shift any other actor's
// draws, and one seed always gives one run.
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** 32-bit FNV-1a of a string; used to derive stream seeds from names. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function seededRandom(seed: number, stream = ''): Random {
  const gen = xoroshiro128plus((hash32(stream, hash32(String(seed))) ^ (seed | 0)) | 0);
  const next = (): number => {
    // 53 random bits from two 32-bit draws, as Math.random gives.
    const hi = (gen.next() >>> 0) >>> 5; // 27 bits
    const lo = (gen.next() >>> 0) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}
