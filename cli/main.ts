// The `switchboard` command. Each command lives in cli/commands/ and registers itself on the
// commander program; an action sets process.exitCode (0 ok, 1 a negative verdict, 2 usage or
// error) and prints its result. Unknown commands and bad flags exit 2 with a one-line reason.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands/index.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const EXIT_USAGE = 2;

/** Thrown by a command for a bad argument value: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An error the operating system reported (it has a code such as ENOENT and the call that failed). */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException;
  return err instanceof Error && typeof e.code === 'string' && typeof e.syscall === 'string';
}

export function buildProgram(): Command {
  const program = new Command('switchboard')
    .description('A runtime for distributed systems co-designed with programmable networks')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // commander prints "error: ..." itself; keep it to the one line it gives.
      writeErr: (s) => process.stderr.write(s),
    });
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  process.exitCode = 0;
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; parse errors with commander's code 1.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (isSystemError(err)) {
      // A file that is not there, a directory that cannot be written, a port in use: the
      // user's to fix, so the one line the system gives (the stack would only hide it).
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_USAGE;
  }
  return Number(process.exitCode ?? 0);
}
