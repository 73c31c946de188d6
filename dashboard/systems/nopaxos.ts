// NOPaxos on the dashboard: 5 replicas, two host-based sequencers (the active one and a standby)
// under the controller that fails over between them, 3 clients in a closed loop (2 ms think time), 0.1% packet
// loss so that gap agreement has something to do. Host-based sequencers, not the switch's: the
// controller's failure detector probes the sequencer, which only the host-based one answers
// (apps/nopaxos/switch-topology.ts says why).
import { runSim } from '../../actors/index.ts';
import type { ControllerState } from '../../apps/nopaxos/controller.ts';
import type { NopaxosReplica } from '../../apps/nopaxos/replica.ts';
import { nopaxosTopology } from '../../apps/nopaxos/topology.ts';
import type { HostSequencerState } from '../../apps/oum/host-sequencer.ts';
import { LatencyMeter } from '../latency.ts';
import type { NopaxosProtocol } from '../protocol.ts';
import { viewOf } from './view.ts';
import type { SimSystem } from './system.ts';

export interface NopaxosDemoOptions {
  readonly seed: number;
}

export function nopaxosSystem(o: NopaxosDemoOptions): SimSystem {
  const meter = new LatencyMeter();
  const np = nopaxosTopology({
    replicas: 5, clients: 3, sequencers: 2, opsPerClient: Number.MAX_SAFE_INTEGER, thinkMs: 2, clientStartMs: 1, history: meter,
    // No appends: in a run without end they would grow values without bound.
    workload: { keys: 100, getFraction: 0.5, putFraction: 0.4, appendFraction: 0 },
  });
  // No trace: a long-lived run would only pay for a hash nobody reads.
  const sim = runSim(np.topology, { seed: o.seed, trace: false, network: { latencyMs: 0.05, jitterMs: 0.01, dropRate: 0.001 } });
  const n = np.replicas.length;
  const ctrl = (): ControllerState | undefined => (np.controller ? sim.stateOf<ControllerState>(np.controller) : undefined);
  let eventsSeen = 0;
  let lastView = 0;

  const protocol = (): NopaxosProtocol => {
    const c = ctrl();
    const replicas = np.replicas.map((ref, i) => {
      const up = sim.system.hosts.get(ref.host)!.up;
      const r = up ? sim.stateOf<NopaxosReplica>(ref) : undefined;
      return {
        host: ref.host, up, status: r ? r.status : 'down', leader: r !== undefined && r.status === 'normal' && r.view % n === i,
        // The log's last slot (the replicas truncate what is behind a checkpoint, so the memory
        // of a run without end stays bounded: the run never has to make way for a fresh one).
        view: r?.view ?? 0, session: r?.sessNum ?? 0, log: r?.lastOp ?? 0, commit: r?.lastCommittedOp ?? 0,
      };
    });
    const sequencers = np.sequencers.map((ref, i) => {
      const up = sim.system.hosts.get(ref.host)!.up;
      const s = up ? sim.stateOf<HostSequencerState>(ref) : undefined;
      return { host: ref.host, up, active: c?.active === i, session: s?.sessionNum ?? -1, stamped: s?.stamped ?? 0 };
    });
    const live = replicas.filter((r) => r.up);
    // Group-level counts, as the replica (up now) that saw most of them counted them.
    const stats = { gapCommits: 0, viewChanges: 0, stateTransfers: 0, recoveries: 0 };
    for (const ref of np.replicas) {
      const r = sim.system.hosts.get(ref.host)!.up ? sim.stateOf<NopaxosReplica>(ref) : undefined;
      if (r) for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] = Math.max(stats[k], r.stats[k]);
    }
    return {
      kind: 'nopaxos', replicas, sequencers, session: c?.sessionNum ?? 0,
      view: live.reduce((v, r) => Math.max(v, r.view), 0), stats: { ...stats, failovers: c?.events.filter((e) => e.kind !== 'controller-restarted').length ?? 0 },
    };
  };

  return {
    sim, meter,
    view: viewOf(np.topology, {
      id: 'nopaxos', title: 'NOPaxos',
      summary: '5 replicas ordered by a sequencer (ordered unreliable multicast), a standby sequencer, a controller that fails over to it, 3 clients; 0.1% of packets lost',
      switches: [], controls: ['crash', 'restart', 'cut', 'heal', 'fail-sequencer'],
    }),
    protocol,
    events(p) {
      if (p.kind !== 'nopaxos') return [];
      const out: ReturnType<SimSystem['events']> = [];
      const c = ctrl();
      for (const e of c?.events.slice(eventsSeen) ?? []) {
        out.push({ atMs: e.atMs, level: 'warn', text: `controller: ${e.kind}, sequencer ${np.hosts.sequencers[e.sequencer]} now active in session ${e.sessionNum}` });
      }
      eventsSeen = c?.events.length ?? 0;
      const leader = p.replicas.find((r) => r.leader);
      if (p.view > lastView && leader && leader.view === p.view) {
        out.push({ atMs: sim.now(), level: 'info', text: `view ${p.view} started: ${leader.host} leads (session ${leader.session})` });
        lastView = p.view;
      }
      return out;
    },
    failSequencer() {
      const c = ctrl();
      if (!c) return 'no controller';
      const host = np.hosts.sequencers[c.active]!;
      if (!sim.system.hosts.get(host)!.up) return `${host}, the active sequencer, is down already: the controller is failing over`;
      sim.crash(host);
      return `crashed ${host}, the active sequencer: the controller fails over after 20 ms without an answer to its probes`;
    },
  };
}
