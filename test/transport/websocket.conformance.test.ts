// The WebSocket transport passes the conformance suite every transport passes: two endpoints
// on loopback, and a restart of b on the very same port (which comes from freePorts, outside the
// kernel's ephemeral range, so that nothing takes it while b is down).
import { transportConformance, type TransportPair } from './conformance.ts';
import { freePort } from '../../transport/free-ports.ts';
import { LateBound, LOOPBACK, makeTransport, sleep } from './websocket-helpers.ts';

async function makePair(): Promise<TransportPair> {
  const a = await LateBound.started(makeTransport('a'));
  let b = await LateBound.started(makeTransport('b', { listen: { address: LOOPBACK, port: await freePort('tcp') } }));
  a.inner.setPeer('b', { address: LOOPBACK, port: b.inner.port });
  b.inner.setPeer('a', { address: LOOPBACK, port: a.inner.port });
  const pair: TransportPair = {
    a,
    b,
    settle: sleep,
    async restartB(deliver) {
      const port = b.inner.port;
      await b.close();
      const fresh = makeTransport('b', { listen: { address: LOOPBACK, port }, peers: { a: { address: LOOPBACK, port: a.inner.port } } });
      await fresh.start(deliver);
      b = new LateBound(fresh);
      pair.b = b;
      return fresh;
    },
    async close() {
      await Promise.all([a.close(), b.close()]);
    },
  };
  return pair;
}

transportConformance('websocket', makePair);
