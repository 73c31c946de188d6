// The same ping-pong topology across two real processes, each `switchboard node --topology FILE
// --host NAME`, over WebSocket and over UDP, authenticated with a cluster secret from the
// environment or from a file: it completes, and a wrong secret lets nothing through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshSecret, startNode } from '../../bench/children.ts';
import { pingpongFile, SECRET_ENV } from './files.ts';

for (const kind of ['ws', 'udp'] as const) {
  describe(`ping-pong across two processes over ${kind}`, () => {
    it('answers every ping', { timeout: 60_000 }, async () => {
      const { path } = await pingpongFile(kind, { count: 2000 });
      const env = { [SECRET_ENV]: freshSecret() };
      const b = startNode(['--topology', path, '--host', 'b'], env);
      const a = startNode(['--topology', path, '--host', 'a', '--exit-when-done'], env);
      try {
        const ready = await b.next('ready', 20_000);
        assert.equal(ready.job, false);
        assert.equal(ready.transport, kind);
        const done = await a.next('finished', 40_000);
        assert.equal(done.answered, 2000);
      } finally {
        await Promise.all([a.kill(), b.kill()]);
      }
    });

    it('takes the secret from the file the topology names, relative to the topology file', { timeout: 60_000 }, async () => {
      const { path, dir } = await pingpongFile(kind, { count: 200 }, (f) => ({ ...f, secret: { file: 'cluster.key' } }));
      writeFileSync(join(dir, 'cluster.key'), `${freshSecret()}\n`);
      const env = { [SECRET_ENV]: '' };
      const b = startNode(['--topology', path, '--host', 'b'], env);
      const a = startNode(['--topology', path, '--host', 'a', '--exit-when-done'], env);
      try {
        await b.next('ready', 20_000);
        assert.equal((await a.next('finished', 40_000)).answered, 200);
      } finally {
        await Promise.all([a.kill(), b.kill()]);
      }
    });

    it('lets nothing through between hosts with different secrets', { timeout: 60_000 }, async () => {
      const { path } = await pingpongFile(kind, { count: 10 });
      const b = startNode(['--topology', path, '--host', 'b', '--status-every', '100'], { [SECRET_ENV]: freshSecret() });
      const a = startNode(['--topology', path, '--host', 'a'], { [SECRET_ENV]: freshSecret() });
      try {
        await b.next('ready', 20_000);
        await a.next('ready', 20_000);
        await assert.rejects(a.next('finished', 2_000), /no 'finished'/);
        assert.equal(b.proc.exitCode, null, 'the node with the other secret crashed');
      } finally {
        await Promise.all([a.kill(), b.kill()]);
      }
    });
  });
}
