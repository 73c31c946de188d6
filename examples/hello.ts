// The README's example: one topology, run in sim mode and then in local mode.
import { Topology, behavior, runSim, runLocal, type ActorRef } from '../actors/index.ts';

type Ping = { type: 'Ping'; n: number; replyTo: ActorRef<Pong> };
type Pong = { type: 'Pong'; n: number };

const t = new Topology('hello');
const a = t.host('a');
const b = t.host('b');
const ponger = t.actor(b, 'ponger', behavior<null, Ping>({
  init: () => null,
  receive: (s, msg, ctx) => { ctx.send(msg.replyTo, { type: 'Pong', n: msg.n }); return s; },
}));
const pinger = t.actor(a, 'pinger', behavior<number, Pong | { type: 'Start' }>({
  init: (ctx) => { ctx.send(ctx.self, { type: 'Start' }); return 0; },
  receive: (got, msg, ctx) => {
    if (msg.type === 'Start') { ctx.send(ponger, { type: 'Ping', n: 1, replyTo: ctx.self }); return got; }
    ctx.log.info({ n: msg.n, atMs: ctx.now() }, 'pong');
    return got + 1;
  },
}));
t.link(a, b, { latencyMs: 0.05, jitterMs: 0.01, dropRate: 0.01 });

const sim = runSim(t, { seed: 7 });
sim.runUntilIdle();
console.log(`sim: pongs=${sim.stateOf<number>(pinger)} at ${sim.now()} virtual ms, trace ${sim.traceHash()}`);

const local = runLocal(t);
setTimeout(async () => {
  console.log(`local: pongs=${local.stateOf<number>(pinger)}`);
  await local.shutdown();
}, 100);
