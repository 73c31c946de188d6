#!/usr/bin/env node
// The `switchboard` command. Sources are TypeScript run through tsx's loader, so there is no
// build step between an edit and a run.
import { register } from 'tsx/esm/api';
// Output piped into a reader that stops early (`switchboard ... | head`): stop quietly, as
// command-line tools do, instead of crashing on the broken pipe.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
