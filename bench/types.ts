// Every benchmark prints one JSON object of this shape with --json (DESIGN.md "Performance").
export interface BenchResult {
  name: string;
  config: Record<string, unknown>;
  results: Record<string, unknown>;
  ratios: Record<string, number>;
}

export interface BenchOptions {
  quick: boolean;
  /** Progress lines go here (stderr), so that stdout holds only the result. */
  progress?: (line: string) => void;
}
