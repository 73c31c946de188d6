// Pegasus on the dashboard: one rack of 4 storage servers behind a top-of-rack switch that runs
// the coherence directory, 2 clients in an open loop (Poisson arrivals, 2 per ms each) over a
// Zipf-skewed key space, the controller that finds hot keys and fails servers over. The switch
// runs in staged mode, each pipeline stage an actor, so that each stage's load shows.
import { runSim, type MetricsSnapshot } from '../../actors/index.ts';
import type { Controller } from '../../apps/pegasus/controller.ts';
import type { PegasusServerState } from '../../apps/pegasus/server.ts';
import { pegasusTopology } from '../../apps/pegasus/topology.ts';
import type { DeparserUnit, ParserUnit, SwitchStats, TrafficManager } from '../../switch-model/index.ts';
import { LatencyMeter } from '../latency.ts';
import type { PegasusProtocol } from '../protocol.ts';
import { processedBy, rate, type SimSystem } from './system.ts';
import { viewOf } from './view.ts';

export interface PegasusDemoOptions {
  readonly seed: number;
}

const CAPACITY = 32;
/** Rkeys listed on the page, the hottest first. */
const RKEYS_SHOWN = 12;
/** Controller log lines turned into events per sample, at most. */
const LOG_LINES_PER_SAMPLE = 4;

export function pegasusSystem(o: PegasusDemoOptions): SimSystem {
  const meter = new LatencyMeter();
  const pg = pegasusTopology({
    servers: 4, clients: 2, sessions: 8, mode: 'open', ratePerMs: 2, populate: true, switchMode: 'staged', capacity: CAPACITY,
    sampleEvery: 4, history: meter, startDelayMs: 1,
    workload: { keys: 500, zipf: 0.99, readRatio: 0.9, valueSize: { kind: 'fixed', bytes: 64 } },
  });
  const sim = runSim(pg.topology, { seed: o.seed, trace: false });
  const sw = pg.switches[0]!;
  const peers = [...pg.serverHosts[0]!, ...pg.clients.map((c) => c.host), ...pg.switchHosts];
  const stagePaths = sw.paths.filter((p) => !/\/(port\d+|control)$/.test(p));
  const stageName = (path: string): string => path.slice(sw.name.length + 1);
  let prev: { stages: Map<string, number>; tx: number[]; requests: number[] } = { stages: new Map(), tx: [], requests: [] };
  let logSeen = 0;

  const ctrl = (): Controller | undefined => sim.stateOf<Controller>(pg.controller);
  const up = (host: string): boolean => sim.system.hosts.get(host)!.up;

  const switchState = (snap: MetricsSnapshot, spanMs: number): PegasusProtocol['switch'] => {
    const swUp = up(sw.host);
    const stages = processedBy(snap, (h, p) => (h === sw.host && stagePaths.includes(p) ? p : undefined));
    const queued = new Map(snap.actors.filter((a) => a.host === sw.host).map((a) => [a.path, a.queueDepth]));
    const tm = swUp ? sim.stateOf<{ tm: TrafficManager<unknown> }>({ host: sw.host, path: `${sw.name}/tm` })?.tm : undefined;
    const parser = swUp ? sim.stateOf<ParserUnit<unknown>>({ host: sw.host, path: `${sw.name}/parser` }) : undefined;
    const deparser = swUp ? sim.stateOf<DeparserUnit<unknown>>({ host: sw.host, path: `${sw.name}/deparser` }) : undefined;
    const drops: Record<string, number> = {};
    for (const s of [parser?.stats, tm?.stats, deparser?.stats] as (SwitchStats | undefined)[]) {
      for (const [why, n] of Object.entries(s?.drops ?? {})) drops[why] = (drops[why] ?? 0) + n;
    }
    const tx = peers.map((_, i) => deparser?.stats.txPackets[i] ?? 0);
    const out = {
      host: sw.host, up: swUp,
      stages: stagePaths.map((p) => ({ name: stageName(p), msgsPerSec: rate(stages.get(p) ?? 0, prev.stages.get(p), spanMs), queued: queued.get(p) ?? 0 })),
      ports: peers.map((peer, i) => {
        const q = tm?.queues[i];
        return { peer, queued: q ? q.tail - q.head : 0, txPerSec: rate(tx[i]!, prev.tx[i], spanMs), tailDrops: tm?.stats.tailDrops[i] ?? 0 };
      }),
      drops,
    };
    prev = { ...prev, stages, tx };
    return out;
  };

  const protocol = (snap: MetricsSnapshot, spanMs: number): PegasusProtocol => {
    const c = ctrl();
    const sw = switchState(snap, spanMs);
    const requests: number[] = [];
    const servers = pg.servers[0]!.map((ref, i) => {
      const isUp = up(ref.host);
      const s = isUp ? sim.stateOf<PegasusServerState>(ref) : undefined;
      requests.push(s?.requests ?? 0);
      const state = !s ? 'down' : s.retired ? 'retired' : s.recovering ? 'recovering' : c?.dead[0]![i] ? 'failed over' : 'serving';
      return { host: ref.host, up: isUp, state, opsPerSec: rate(s?.requests ?? 0, prev.requests[i], spanMs), requests: s?.requests ?? 0, replicated: s?.replicated.size ?? 0 };
    });
    prev = { ...prev, requests };
    const heat = (key: string): number => c?.heat.get(key)?.[1] ?? 0;
    const rkeys = [...(c?.rkeys.values() ?? [])].sort((a, b) => heat(b.key) - heat(a.key)).slice(0, RKEYS_SHOWN).map((r) => ({ key: r.key, rf: r.rf }));
    return {
      kind: 'pegasus', servers, switch: sw,
      directory: { size: c?.rkeys.size ?? 0, capacity: CAPACITY, rkeys },
      stats: { ...(c?.stats ?? {}) },
    };
  };

  return {
    sim, meter,
    view: viewOf(pg.topology, {
      id: 'pegasus', title: 'Pegasus',
      summary: '4 storage servers behind a switch whose coherence directory replicates the hottest keys, a controller that picks them and fails servers over, 2 clients (Zipf 0.99 over 500 keys, 90% reads)',
      switches: [{ host: sw.host, mode: sw.mode, stages: stagePaths.map(stageName), ports: peers }],
      controls: ['crash', 'restart', 'cut', 'heal'],
    }),
    protocol,
    events() {
      const log = ctrl()?.log ?? [];
      const fresh = log.slice(logSeen);
      logSeen = log.length;
      const shown = fresh.slice(0, LOG_LINES_PER_SAMPLE).map((line) => {
        const [at, ...text] = line.split(' ');
        const t = text.join(' ');
        return { atMs: Number(at), level: /failover|failed|restarted/.test(t) ? 'warn' as const : 'info' as const, text: `controller: ${t}` };
      });
      if (fresh.length > shown.length) shown.push({ atMs: sim.now(), level: 'info', text: `controller: ${fresh.length - shown.length} more steps` });
      return shown;
    },
  };
}
