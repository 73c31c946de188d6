// Target profiles: what a switch chip offers a program, and how fast it is. The default is
// Tofino-like (Intel Tofino 1 as published: 12 match-action stages per pipe, per stage 80 SRAM
// blocks of 1K x 128 bit, 24 TCAM blocks of 512 x 44 bit, 4 stateful ALUs, 16 logical tables;
// 100 Gb/s ports). It is a model of the limits that shape in-network designs, not a datasheet.

export interface TargetProfile {
  readonly name: string;
  /** Match-action stages per pipe. Ingress and egress each have up to this many; their stage k shares one physical stage's memory and ALUs. */
  readonly stages: number;
  /** Logical tables a stage can hold. */
  readonly tablesPerStage: number;
  /** SRAM per stage in blocks (exact-match tables, action data, counters and registers all use it). */
  readonly sramBlocksPerStage: number;
  /** One SRAM block: `sramBlockWords` words of `sramWordBits` bits. */
  readonly sramBlockWords: number;
  readonly sramWordBits: number;
  /** TCAM per stage in blocks of `tcamBlockEntries` entries of `tcamBlockWidthBits` bits (ternary and lpm keys). */
  readonly tcamBlocksPerStage: number;
  readonly tcamBlockEntries: number;
  readonly tcamBlockWidthBits: number;
  /** Of the SRAM blocks, at most this many may hold register arrays (stateful memory). */
  readonly registerBlocksPerStage: number;
  /** Register arrays per stage: each needs its own stateful ALU. */
  readonly statefulAlusPerStage: number;
  /** Front-panel ports. */
  readonly ports: number;
  readonly portGbps: number;
  /** The CPU port (PCIe to the control plane) and the recirculation port. */
  readonly cpuPortGbps: number;
  readonly recirculationPortGbps: number;
  /** Buffer per egress port queue; a packet that does not fit is tail-dropped. */
  readonly queueBytesPerPort: number;
  /** A packet may go around the recirculation port at most this many times. */
  readonly maxRecirculations: number;
  /** Multicast group ids are 1..maxMulticastGroup (0 means none). */
  readonly maxMulticastGroup: number;
  /** Fixed pipeline latencies (ns): parser, each stage, traffic manager, deparser. */
  readonly parserLatencyNs: number;
  readonly stageLatencyNs: number;
  readonly tmLatencyNs: number;
  readonly deparserLatencyNs: number;
}

export const TOFINO_LIKE: TargetProfile = Object.freeze({
  name: 'tofino-like',
  stages: 12,
  tablesPerStage: 16,
  sramBlocksPerStage: 80,
  sramBlockWords: 1024,
  sramWordBits: 128,
  tcamBlocksPerStage: 24,
  tcamBlockEntries: 512,
  tcamBlockWidthBits: 44,
  registerBlocksPerStage: 48,
  statefulAlusPerStage: 4,
  ports: 64,
  portGbps: 100,
  cpuPortGbps: 10,
  recirculationPortGbps: 100,
  queueBytesPerPort: 256 * 1024,
  maxRecirculations: 4,
  maxMulticastGroup: 65535,
  // About 0.5-1 us port to port, as measured on Tofino for simple programs.
  parserLatencyNs: 50,
  stageLatencyNs: 20,
  tmLatencyNs: 100,
  deparserLatencyNs: 50,
});

/** The default profile with some fields changed (a smaller buffer for a test, more stages...). */
export function profile(overrides: Partial<TargetProfile>): TargetProfile {
  return Object.freeze({ ...TOFINO_LIKE, name: overrides.name ?? `${TOFINO_LIKE.name} (modified)`, ...overrides });
}

/** Serialisation delay of `bytes` at `gbps`, in ms. */
export function wireMs(bytes: number, gbps: number): number {
  return (bytes * 8) / (gbps * 1e6);
}
