// Argument parsers shared by the commands. A bad value is a one-line error and exit code 2.
import { InvalidArgumentError } from 'commander';

/** The seeds a simulation takes (sim --seed, sweep --seeds, demo --seed). */
export const MAX_SEED = 2 ** 31 - 1;

export function parseInteger(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not an integer.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range [${min}, ${max}].`);
    return n;
  };
}

export function parseNumber(min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${value}' is not a number.`);
    if (n < min || n > max) throw new InvalidArgumentError(`${n} is out of range [${min}, ${max}].`);
    return n;
  };
}

export function parseChoice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`'${value}' is not one of ${choices.join(', ')}.`);
    }
    return value as T;
  };
}

/** Faults for a simulated run: `drop=0.05,dup=0.01,jitter=0.2,latency=0.05`; unset ones keep the scenario's defaults. */
export interface FaultSpec {
  readonly dropRate?: number;
  readonly duplicateRate?: number;
  readonly jitterMs?: number;
  readonly latencyMs?: number;
}

const FAULT_KEYS: Record<string, keyof FaultSpec> = {
  drop: 'dropRate', dup: 'duplicateRate', jitter: 'jitterMs', latency: 'latencyMs',
};

export function formatFaults(f: FaultSpec): string {
  return Object.entries(FAULT_KEYS).filter(([, field]) => f[field] !== undefined).map(([key, field]) => `${key}=${f[field]}`).join(',');
}

export function parseFaults(value: string): FaultSpec {
  const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = {};
  for (const part of value.split(',').filter(Boolean)) {
    const [key, raw] = part.split('=');
    const field = key === undefined ? undefined : FAULT_KEYS[key];
    if (!field || raw === undefined) {
      throw new InvalidArgumentError(`'${part}' is not a fault; use ${Object.keys(FAULT_KEYS).map((k) => `${k}=N`).join(',')}.`);
    }
    const n = Number(raw);
    const isRate = field === 'dropRate' || field === 'duplicateRate';
    if (!Number.isFinite(n) || n < 0 || (isRate && n > 1)) {
      throw new InvalidArgumentError(`${key}=${raw}: expected ${isRate ? 'a probability in [0, 1]' : 'milliseconds >= 0'}.`);
    }
    spec[field] = n;
  }
  return spec;
}
