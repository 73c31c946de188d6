// The same ping-pong topology across two real processes, over WebSocket and over UDP,
// authenticated with a cluster secret: it completes, and a wrong secret lets nothing through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, freshSecret, startNode } from '../../bench/children.ts';

for (const kind of ['ws', 'udp'] as const) {
  describe(`ping-pong across two processes over ${kind}`, () => {
    it('answers every ping', { timeout: 60_000 }, async () => {
      const portKind = kind === 'ws' ? 'tcp' : 'udp';
      const peers = `a=127.0.0.1:${await freePort(portKind)},b=127.0.0.1:${await freePort(portKind)}`;
      const env = { SWITCHBOARD_SECRET: freshSecret() };
      const args = ['--topology', 'pingpong', '--transport', kind, '--peers', peers, '--ops', '2000'];
      const b = startNode([...args, '--host', 'b'], env);
      const a = startNode([...args, '--host', 'a', '--exit-when-done'], env);
      try {
        await b.next('ready', 20_000);
        const done = await a.next('finished', 40_000);
        assert.equal(done.answered, 2000);
      } finally {
        await Promise.all([a.kill(), b.kill()]);
      }
    });

    it('lets nothing through between hosts with different secrets', { timeout: 60_000 }, async () => {
      const portKind = kind === 'ws' ? 'tcp' : 'udp';
      const peers = `a=127.0.0.1:${await freePort(portKind)},b=127.0.0.1:${await freePort(portKind)}`;
      const args = ['--topology', 'pingpong', '--transport', kind, '--peers', peers, '--ops', '10'];
      const b = startNode([...args, '--host', 'b'], { SWITCHBOARD_SECRET: freshSecret() });
      const a = startNode([...args, '--host', 'a'], { SWITCHBOARD_SECRET: freshSecret() });
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
