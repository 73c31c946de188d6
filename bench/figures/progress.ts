// Progress of the benchmarks behind the figures, on stderr: one cli-progress bar per benchmark on
// a terminal, plain lines otherwise (a log file or CI). The benchmarks report progress as text
// lines; a bar advances one step per line and its total is what the benchmark announces (Pegasus
// prints its run count first) or an estimate that grows if the benchmark says more.
import cliProgress from 'cli-progress';

export interface Progress {
  /** One progress line of a benchmark. */
  line(bench: string, text: string): void;
  /** The benchmark finished. */
  done(bench: string): void;
  /** A line outside any bar (the rendering steps). */
  note(text: string): void;
  stop(): void;
}

/** Steps expected from `bench nopaxos` (one line per stage) before it announces anything. */
const NOPAXOS_STAGES = { quick: 11, full: 12 };

/** The total a benchmark's progress line announces, if it does ("N points, M runs"). */
export function announcedTotal(bench: string, text: string): number | undefined {
  const m = bench === 'pegasus' ? /^\d+ points, (\d+) runs/.exec(text) : null;
  // Pegasus then prints one line per run, one when the dynamic runs start, two for the rack
  // failure runs, and finishes.
  return m ? Number(m[1]) + 3 : undefined;
}

export function progress(benches: readonly string[], quick: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    return {
      line: (bench, text) => stream.write(`[${bench}] ${text}\n`),
      done: (bench) => stream.write(`[${bench}] finished\n`),
      note: (text) => stream.write(`${text}\n`),
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar({
    stream, clearOnComplete: false, hideCursor: true, etaBuffer: 8,
    format: '{bench} {bar} {value}/{total} | {duration_formatted} | {last}',
  }, cliProgress.Presets.shades_classic);
  const bars = new Map(benches.map((b) => [b, multi.create(b === 'nopaxos' ? (quick ? NOPAXOS_STAGES.quick : NOPAXOS_STAGES.full) : 1, 0, {
    bench: b.padEnd(8), last: 'starting',
  })]));
  return {
    line(bench, text) {
      const bar = bars.get(bench);
      if (!bar) return;
      const total = announcedTotal(bench, text);
      if (total !== undefined) bar.setTotal(total);
      else if (bar.getProgress() >= 1) bar.setTotal(bar.getTotal() + 1);
      if (total === undefined) bar.increment(1, { last: text.slice(0, 60) });
      else bar.update({ last: text.slice(0, 60) });
    },
    done(bench) {
      const bar = bars.get(bench);
      if (bar) bar.update(bar.getTotal(), { last: 'finished' });
    },
    note: (text) => multi.log(`${text}\n`),
    stop: () => multi.stop(),
  };
}
