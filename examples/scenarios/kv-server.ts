// A scenario of your own for `switchboard sim` and `switchboard sweep` (docs/scenarios.md): one
// key-value server and three clients that resend each request until it is answered, over a
// network that drops, duplicates and reorders, with a seeded plan of partitions and pauses.
// The server answers a resent request from its client table instead of running it again (at
// most once). kv-server-no-dedup.ts leaves the table out, and a sweep finds the bug:
//
//   switchboard sweep examples/scenarios/kv-server.ts --seeds 1..500
//   switchboard sweep examples/scenarios/kv-server-no-dedup.ts --seeds 1..100 --shrink
import { behavior, runSim, seededRandom, Topology, type ActorRef, type SimRuntime } from '../../actors/index.ts';
import { KvHistory } from '../../apps/history/history.ts';
import { applyOp, type KvData, type KvOp, type KvResult } from '../../apps/kv/kv.ts';
import { checkHistory } from '../../apps/linearizability/checker.ts';
import { kvModel } from '../../apps/linearizability/models.ts';
import type { PlanEvent, Scenario, ScenarioRun, SimReport } from '../../cli/scenarios.ts';

type Request = { type: 'Request'; client: string; reqId: number; op: KvOp; replyTo: ActorRef<Reply> };
type Reply = { type: 'Reply'; reqId: number; result: KvResult };
type ClientMsg = Reply | { type: 'Next' } | { type: 'Resend' };

const CLIENTS = 3;
const KEYS = ['x', 'y'];
const RESEND_MS = 1;
/** Virtual time a run may take before it counts as stuck. */
const MAX_MS = 10_000;

interface ServerState {
  readonly data: KvData;
  /** Per client, its latest request and the answer it got: a resend gets the same answer. */
  readonly table: Map<string, { reqId: number; result: KvResult }>;
}

function server(dedupe: boolean) {
  return behavior<ServerState, Request>({
    init: () => ({ data: new Map(), table: new Map() }),
    receive(s, m, ctx) {
      const last = s.table.get(m.client);
      if (dedupe && last && m.reqId <= last.reqId) {
        // The latest request again: its answer again. An older one: the client has moved on.
        if (m.reqId === last.reqId) ctx.send(m.replyTo, { type: 'Reply', reqId: m.reqId, result: last.result });
        return s;
      }
      const { result } = applyOp(s.data, m.op);
      s.table.set(m.client, { reqId: m.reqId, result });
      ctx.send(m.replyTo, { type: 'Reply', reqId: m.reqId, result });
      return s;
    },
  });
}

interface ClientState {
  done: number;
  reqId: number;
  /** The request waiting for its answer, and its handle in the history. */
  open: { op: KvOp; handle: number } | undefined;
}

/** A random operation; appended values are unique, so one applied twice shows in every later read. */
function randomOp(random: () => number, client: string, n: number): KvOp {
  const key = KEYS[Math.floor(random() * KEYS.length)]!;
  const dice = random();
  if (dice < 0.4) return { op: 'get', key };
  if (dice < 0.7) return { op: 'append', key, value: `${client}.${n} ` };
  return { op: 'put', key, value: `${client}.${n} ` };
}

function client(name: string, to: ActorRef<Request>, ops: number, history: KvHistory) {
  return behavior<ClientState, ClientMsg>({
    init: (ctx) => {
      ctx.send(ctx.self, { type: 'Next' });
      return { done: 0, reqId: 0, open: undefined };
    },
    receive(s, m, ctx) {
      const send = (): void => ctx.send(to, { type: 'Request', client: name, reqId: s.reqId, op: s.open!.op, replyTo: ctx.self as ActorRef<Reply> });
      switch (m.type) {
        case 'Next': {
          if (s.done === ops) return s;
          s.reqId++;
          const op = randomOp(() => ctx.random(), name, s.reqId);
          s.open = { op, handle: history.invoke(name, op, ctx.now()) };
          send();
          ctx.startTimer('resend', RESEND_MS, { type: 'Resend' }, { repeat: true });
          return s;
        }
        case 'Resend':
          if (s.open) send();
          return s;
        case 'Reply':
          if (!s.open || m.reqId !== s.reqId) return s; // a late or duplicated answer
          history.ok(s.open.handle, m.result, ctx.now());
          s.open = undefined;
          s.done++;
          ctx.cancelTimer('resend');
          ctx.send(ctx.self, { type: 'Next' });
          return s;
      }
    },
  });
}

/** One timed fault of a seed's plan: a client cut off from the server for a while, or the server paused. */
interface Fault {
  readonly atMs: number;
  readonly what: string;
  readonly apply: (sim: SimRuntime) => void;
  /** The end of a cut (heal), if it has one. */
  readonly endMs?: number;
  readonly end?: (sim: SimRuntime) => void;
}

/** The seed's plan: 0 to 3 faults in the first 20 ms, drawn from the seed alone. */
function planOf(seed: number): Fault[] {
  const r = seededRandom(seed, 'kv-server-plan');
  const faults: Fault[] = [];
  const count = r.int(4);
  for (let i = 0; i < count; i++) {
    const atMs = Math.round(r.next() * 20_000) / 1000;
    const forMs = Math.round((1 + r.next() * 8) * 1000) / 1000;
    if (r.next() < 0.5) {
      const c = `c${r.int(CLIENTS)}`;
      faults.push({
        atMs, what: `cut ${c} off from the server for ${forMs} ms`,
        apply: (sim) => sim.cut(c, 'server'), endMs: atMs + forMs, end: (sim) => sim.heal(c, 'server'),
      });
    } else {
      faults.push({ atMs, what: `pause the server for ${forMs} ms`, apply: (sim) => sim.pause('server', forMs) });
    }
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/** The plan a run keeps: the whole plan, the events `sim --events` picked, or none (--no-plan). */
function keptFaults(run: ScenarioRun): Fault[] {
  if (run.plan === false) return [];
  const plan = planOf(run.seed);
  return run.events ? run.events.map((i) => plan[i]!) : plan;
}

export function kvServerScenario(opts: { dedupe: boolean; name: string }): Scenario {
  return {
    description: `one key-value server${opts.dedupe ? '' : ' without a client table'}, ${CLIENTS} clients resending until answered`,
    defaultOps: 60,
    // Each fault is its own group: `sim --shrink` keeps or leaves out each one alone.
    planEvents: (run) => planOf(run.seed).map((f, i) => ({ what: `${f.atMs} ms ${f.what}`, group: `fault ${i}` }) satisfies PlanEvent),
    run(run): SimReport {
      const ops = run.ops ?? 60;
      const perClient = Math.ceil(ops / CLIENTS);
      const history = new KvHistory();
      const t = new Topology(opts.name);
      const srv = t.actor(t.host('server'), 'kv', server(opts.dedupe));
      for (let i = 0; i < CLIENTS; i++) t.actor(t.host(`c${i}`), 'client', client(`c${i}`, srv, perClient, history));
      const t0 = performance.now();
      const sim = runSim(t, {
        seed: run.seed, logLevel: 'silent', network: { latencyMs: 0.05, ...run.faults },
        ...(run.trace ? { traceSink: run.trace } : {}),
      });
      // Each fault at its time (and the end of each cut at its own), then the rest of the run.
      const steps = keptFaults(run).flatMap((f) => [{ atMs: f.atMs, go: f.apply }, ...(f.end ? [{ atMs: f.endMs!, go: f.end }] : [])]);
      for (const s of steps.sort((a, b) => a.atMs - b.atMs)) {
        if (s.atMs > sim.now()) sim.runUntil(() => false, s.atMs - sim.now());
        s.go(sim);
      }
      const finished = sim.runUntil(() => history.completed === perClient * CLIENTS, MAX_MS);
      const check = checkHistory(kvModel(), history.history(), { maxSteps: 1_000_000 });
      const violations: string[] = [];
      if (!finished) violations.push(`stuck: ${history.completed} of ${perClient * CLIENTS} operations completed in ${MAX_MS} ms`);
      // The checker's explanation: the operations up to where no order fits, and why.
      if (check.verdict === 'not-linearizable') violations.push(check.violation?.text ?? 'not linearizable');
      return {
        scenario: opts.name, seed: run.seed, ops: perClient * CLIENTS, completed: history.completed,
        linearizable: check.verdict === 'unknown' ? null : check.verdict === 'linearizable',
        violations, traceHash: sim.traceHash()!, virtualMs: Math.round(sim.now() * 1000) / 1000, wallMs: Math.round(performance.now() - t0),
        details: { faults: run.faults, links: sim.network.stats() },
      };
    },
  };
}

export default kvServerScenario({ dedupe: true, name: 'kv-server' });
