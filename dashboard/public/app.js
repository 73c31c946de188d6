// The dashboard page: one WebSocket to the server (/ws). The server describes its systems once
// (hello), then streams samples and events; this page draws them and sends control messages
// ({type:'control', id, system, action, ...}) when a fault button is pressed. Plain browser
// JavaScript, no build step; charts are vega-lite specs compiled and run by the vega builds
// the server serves from node_modules.
'use strict';

/** Seconds of history the time-series charts keep. */
const WINDOW_S = 60;
const MAX_EVENTS = 200;
const ROLE_COLUMN = { client: 0, cli: 0, switch: 1, sequencer: 1, controller: 1, host: 1, replica: 2, server: 2 };

const state = { ws: null, systems: new Map(), nextId: 1, pending: new Map() };

// ---- small DOM helpers --------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 1 ? `${fmt(ms * 1000, 0)} µs` : `${fmt(ms, ms < 10 ? 2 : 1)} ms`;
}

// ---- connection ---------------------------------------------------------------------------

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  state.ws = ws;
  setConn('connecting', 'connecting');
  ws.onopen = () => setConn('live', 'live');
  ws.onclose = () => {
    setConn('down', 'disconnected: retrying');
    setTimeout(connect, 1000);
  };
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
}

function setConn(s, text) {
  document.getElementById('conn').dataset.state = s;
  document.getElementById('conn-text').textContent = text;
}

function onMessage(m) {
  switch (m.type) {
    case 'hello': return onHello(m);
    case 'sample': return state.systems.get(m.system)?.update(m);
    case 'event': return addEvent(m);
    case 'reply': return settle(m.id, true, m.text);
    case 'error': return settle(m.id, false, m.error);
  }
}

function control(system, action, fields = {}) {
  const id = state.nextId++;
  state.pending.set(id, system);
  state.ws.send(JSON.stringify({ type: 'control', id, system, action, ...fields }));
}

function settle(id, ok, text) {
  const sys = state.systems.get(state.pending.get(id));
  state.pending.delete(id);
  (sys ?? [...state.systems.values()][0])?.feedback(ok, text);
}

function onHello(h) {
  document.getElementById('mode').textContent = h.mode;
  document.title = `${h.title} · Switchboard`;
  const root = document.getElementById('systems');
  root.replaceChildren();
  state.systems.clear();
  document.getElementById('events').replaceChildren();
  for (const view of h.systems) {
    const sys = new SystemPanel(view);
    state.systems.set(view.id, sys);
    root.append(sys.root);
  }
}

function addEvent(e) {
  const list = document.getElementById('events');
  const title = state.systems.get(e.system)?.view.title ?? e.system;
  list.prepend(el('li', { class: `ev ${e.level}` },
    el('span', { class: 'ev-time' }, `${fmt(e.atMs / 1000, 3)} s`),
    el('span', { class: `ev-sys sys-${e.system}` }, title),
    el('span', { class: 'ev-text' }, e.text)));
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

// ---- charts (vega-lite) -------------------------------------------------------------------

class TimeChart {
  constructor(container, yTitle, opts = {}) {
    this.rows = [];
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: Math.max(240, container.clientWidth), height: 150, autosize: { type: 'fit', contains: 'padding', resize: true }, data: { name: 'points' },
      mark: { type: 'line', interpolate: 'monotone', strokeWidth: 2, clip: true },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'run time (s)', scale: { nice: false, zero: false } },
        y: { field: 'v', type: 'quantitative', title: yTitle, scale: opts.log ? { type: 'log' } : { zero: true } },
        color: { field: 's', type: 'nominal', title: null, legend: { orient: 'top', direction: 'horizontal' },
          scale: { range: opts.colors ?? ['#2563eb', '#dc2626', '#059669'] } },
      },
      config: { view: { stroke: null }, axis: { labelColor: '#475569', titleColor: '#334155', gridColor: '#e2e8f0', titleFontWeight: 500 } },
    };
    this.view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container, hover: true });
    this.ready = this.view.runAsync();
  }

  clear() {
    this.view.change('points', vega.changeset().remove(() => true)).runAsync();
  }

  /** Add points [{s, v}] at time t (seconds); drop what left the window. */
  push(t, points) {
    const rows = points.filter((p) => p.v !== null && p.v !== undefined && Number.isFinite(p.v)).map((p) => ({ t, s: p.s, v: p.v }));
    const cutoff = t - WINDOW_S;
    this.view.change('points', vega.changeset().insert(rows).remove((d) => d.t < cutoff)).runAsync();
  }
}

class BarChart {
  constructor(container, yTitle) {
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: Math.max(200, container.clientWidth), height: 140, autosize: { type: 'fit', contains: 'padding', resize: true }, data: { name: 'bars' },
      mark: { type: 'bar', cornerRadiusEnd: 3 },
      encoding: {
        x: { field: 'host', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } },
        y: { field: 'v', type: 'quantitative', title: yTitle },
        color: { field: 'state', type: 'nominal', title: null, legend: { orient: 'top', direction: 'horizontal' },
          scale: { domain: ['serving', 'failed over', 'recovering', 'retired', 'down'], range: ['#2563eb', '#f59e0b', '#a855f7', '#94a3b8', '#dc2626'] } },
      },
      config: { view: { stroke: null }, axis: { labelColor: '#475569', titleColor: '#334155', gridColor: '#e2e8f0', titleFontWeight: 500 } },
    };
    this.view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container, hover: true });
    this.view.runAsync();
  }

  set(rows) {
    this.view.change('bars', vega.changeset().remove(() => true).insert(rows)).runAsync();
  }
}

// ---- one system ---------------------------------------------------------------------------

class SystemPanel {
  constructor(view) {
    this.view = view;
    this.root = el('section', { class: `system sys-${view.id}`, id: `sys-${view.id}`, 'data-system': view.id });
    this.stats = el('div', { class: 'headline' });
    this.root.append(el('div', { class: 'system-head' },
      el('div', {}, el('h2', {}, view.title), el('p', { class: 'summary' }, view.summary)), this.stats));
    this.topo = el('div', { class: 'topo' });
    const chartsCard = el('div', { class: 'card charts' }, el('h3', {}, 'Clients'));
    this.tput = el('div', { class: 'chart' });
    this.lat = el('div', { class: 'chart' });
    chartsCard.append(this.tput, this.lat);
    const grid = el('div', { class: 'grid' },
      el('div', { class: 'card topo-card' }, el('h3', {}, 'Topology ', el('span', { class: 'hint' }, 'line width: messages/s · click a host to pick it below')), this.topo, this.legend()),
      chartsCard);
    this.protocolCard = el('div', { class: 'protocol' });
    this.root.append(grid, this.protocolCard, this.controls());
    this.drawTopology();
    // Charts need their container laid out to know their width.
    requestAnimationFrame(() => {
      this.tputChart = new TimeChart(this.tput, 'operations/s');
      this.latChart = new TimeChart(this.lat, 'latency (ms, log)', { log: true, colors: ['#059669', '#dc2626'] });
    });
  }

  legend() {
    const item = (cls, text) => el('span', { class: 'lg' }, el('span', { class: `sw ${cls}` }), text);
    return el('div', { class: 'legend' }, item('up', 'up'), item('down', 'down'), item('cut', 'cut link'), item('lead', 'leader / active'));
  }

  // -- topology --

  drawTopology() {
    const hosts = this.view.hosts;
    const cols = [[], [], []];
    for (const h of hosts) cols[ROLE_COLUMN[h.role] ?? 1].push(h);
    const W = 560, rowH = 46, top = 24;
    const H = top * 2 + Math.max(...cols.map((c) => c.length)) * rowH;
    const xs = [80, W / 2, W - 80];
    this.pos = new Map();
    cols.forEach((c, i) => {
      const offset = top + (H - 2 * top - c.length * rowH) / 2;
      c.forEach((h, j) => this.pos.set(h.name, { x: xs[i], y: offset + j * rowH + rowH / 2 }));
    });
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'topology', role: 'img', 'aria-label': `${this.view.title} topology` });
    this.linkLayer = svg('g', { class: 'links' });
    s.append(this.linkLayer);
    this.nodes = new Map();
    for (const h of hosts) {
      const p = this.pos.get(h.name);
      const g = svg('g', { class: `host role-${h.role}`, 'data-host': h.name, 'data-up': 'true', transform: `translate(${p.x - 46},${p.y - 16})` });
      const title = svg('title');
      const actors = this.view.actors[h.name] ?? [];
      title.textContent = `${h.name} (${h.role})\nactors: ${actors.length ? actors.join(', ') : 'none'}`;
      g.append(title, svg('rect', { width: 92, height: 32, rx: 8 }));
      const name = svg('text', { x: 46, y: 14, 'text-anchor': 'middle', class: 'hname' });
      name.textContent = h.name;
      const sub = svg('text', { x: 46, y: 26, 'text-anchor': 'middle', class: 'hsub' });
      sub.textContent = h.role;
      g.append(name, sub);
      g.addEventListener('click', () => this.pick(h.name));
      s.append(g);
      this.nodes.set(h.name, { g, sub, role: h.role });
    }
    this.topo.replaceChildren(s);
    const actors = Object.entries(this.view.actors);
    const count = actors.reduce((n, [, paths]) => n + paths.length, 0);
    this.topo.append(el('details', { class: 'actors' }, el('summary', {}, `${count} actors on ${actors.length} hosts`),
      el('ul', {}, ...actors.map(([host, paths]) => el('li', {}, el('b', {}, host), ` ${paths.join(', ')}`)))));
    for (const sw of this.view.switches) {
      this.topo.append(el('div', { class: 'pipeline-note' }, el('b', {}, `${sw.host} pipeline (${sw.mode}): `),
        sw.stages.join(' → ')));
    }
  }

  updateTopology(sample, roleText) {
    const maxRate = Math.max(1, ...sample.links.map((l) => l.msgsPerSec));
    this.linkLayer.replaceChildren();
    for (const l of sample.links) {
      const a = this.pos.get(l.a), b = this.pos.get(l.b);
      if (!a || !b || (!l.cut && l.msgsPerSec <= 0)) continue;
      const w = l.cut ? 2 : 0.6 + 4 * Math.sqrt(l.msgsPerSec / maxRate);
      const line = svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'stroke-width': w, class: l.cut ? 'link cut' : 'link', 'data-link': `${l.a}-${l.b}` });
      const t = svg('title');
      t.textContent = `${l.a} – ${l.b}: ${fmt(l.msgsPerSec)} msgs/s, ${fmt(l.dropped)} dropped${l.cut ? ' (CUT)' : ''}`;
      line.append(t);
      this.linkLayer.append(line);
    }
    for (const [name, n] of this.nodes) {
      const h = sample.hosts[name];
      const up = h ? h.up : true;
      n.g.dataset.up = String(up);
      n.g.classList.toggle('down', !up);
      const extra = roleText(name);
      n.g.classList.toggle('lead', Boolean(extra && extra.lead));
      n.sub.textContent = up ? (extra?.text ?? `${fmt(h?.msgsPerSec ?? 0)} msg/s`) : 'DOWN';
    }
  }

  // -- controls --

  controls() {
    const v = this.view;
    const hostOpts = () => v.hosts.map((h) => el('option', { value: h.name }, `${h.name} (${h.role})`));
    this.hostSel = el('select', { 'aria-label': 'host', class: 'host-select' }, ...hostOpts());
    this.cutA = el('select', { 'aria-label': 'link end a', class: 'cut-a' }, ...hostOpts());
    this.cutB = el('select', { 'aria-label': 'link end b', class: 'cut-b' }, ...hostOpts());
    if (v.hosts.length > 1) this.cutB.selectedIndex = 1;
    const btn = (action, text, cls, fields) => (v.controls.includes(action)
      ? el('button', { class: `btn ${cls}`, 'data-action': action, onclick: () => control(v.id, action, fields()) }, text) : null);
    this.feedbackEl = el('div', { class: 'feedback', role: 'status' }, 'Faults go to the running system; watch the metrics above and the events below.');
    return el('div', { class: 'card controls' },
      el('h3', {}, 'Inject a fault'),
      el('div', { class: 'ctl-row' },
        el('label', {}, 'Host ', this.hostSel),
        btn('crash', 'Crash host', 'danger', () => ({ host: this.hostSel.value })),
        btn('restart', 'Restart host', 'ok', () => ({ host: this.hostSel.value }))),
      v.controls.some((a) => a === 'cut' || a === 'heal' || a === 'fail-sequencer') ? el('div', { class: 'ctl-row' },
        el('label', {}, 'Link ', this.cutA, ' – ', this.cutB),
        btn('cut', 'Cut link', 'danger', () => ({ a: this.cutA.value, b: this.cutB.value })),
        btn('heal', 'Heal all links', 'ok', () => ({})),
        btn('fail-sequencer', 'Fail the sequencer', 'danger', () => ({}))) : null,
      this.feedbackEl);
  }

  pick(host) {
    this.hostSel.value = host;
    this.cutB.value = this.cutA.value;
    this.cutA.value = host;
  }

  feedback(ok, text) {
    this.feedbackEl.textContent = ok ? `✓ ${text}` : `✗ ${text}`;
    this.feedbackEl.className = `feedback ${ok ? 'good' : 'bad'}`;
  }

  // -- samples --

  update(m) {
    // A fresh run starts its clock at zero again: so do the charts.
    if (this.last && m.atMs < this.last.atMs) {
      this.tputChart?.clear();
      this.latChart?.clear();
    }
    this.last = m;
    const t = m.atMs / 1000;
    const c = m.clients;
    this.stats.replaceChildren(
      stat('run time', `${fmt(t, 1)} s`, 'runtime'),
      stat('speed', `${fmt(m.speed, 2)}×`, 'speed'),
      stat('throughput', `${fmt(c.opsPerSec)} ops/s`, 'ops'),
      stat('latency mean / p99', `${fmtMs(c.meanMs)} / ${fmtMs(c.p99Ms)}`, 'latency'),
      stat('completed', fmt(c.completed), 'completed'),
      stat('dead letters', fmt(m.deadLetters), 'dead'),
      stat('failures', fmt(m.failures), 'failures'));
    this.tputChart?.push(t, [{ s: 'completed/s', v: c.opsPerSec }]);
    // Processes report no latencies: no chart rather than an empty one.
    this.hasLatency ||= c.meanMs !== null;
    this.lat.hidden = !this.hasLatency;
    this.latChart?.push(t, [{ s: 'mean', v: c.meanMs }, { s: 'p99', v: c.p99Ms }]);
    const p = m.protocol;
    if (p.kind === 'nopaxos') this.nopaxos(m, p);
    else if (p.kind === 'pegasus') this.pegasus(m, p);
    else if (p.kind === 'launch') this.launch(m, p);
  }

  nopaxos(m, p) {
    const byHost = new Map(p.replicas.map((r) => [r.host, r]));
    const seqs = new Map(p.sequencers.map((s) => [s.host, s]));
    this.updateTopology(m, (h) => {
      const r = byHost.get(h);
      if (r) return { text: `${r.status === 'normal' ? (r.leader ? 'leader' : 'follower') : r.status} · v${r.view}`, lead: r.leader };
      const s = seqs.get(h);
      if (s) return { text: s.active ? `active · s${s.session}` : 'standby', lead: s.active };
      return undefined;
    });
    const rows = p.replicas.map((r) => el('tr', { class: r.up ? '' : 'row-down', 'data-replica': r.host },
      el('td', {}, r.host), el('td', {}, badge(r.up ? (r.leader ? 'leader' : r.status) : 'down')),
      num(r.view, 'view'), num(r.session, 'session'), num(r.log, 'log'), num(r.commit, 'commit')));
    const seqRows = p.sequencers.map((s) => el('tr', { class: s.up ? '' : 'row-down', 'data-sequencer': s.host },
      el('td', {}, s.host), el('td', {}, badge(!s.up ? 'down' : s.active ? 'active' : 'standby')),
      num(s.session < 0 ? '–' : s.session, 'session'), num(s.stamped, 'stamped')));
    this.protocolCard.replaceChildren(el('div', { class: 'grid' },
      el('div', { class: 'card' }, el('h3', {}, 'Replicas ', el('span', { class: 'hint' }, 'log: slots appended · commit: synchronised commit point')),
        table(['replica', 'status', 'view', 'session', 'log', 'commit'], rows)),
      el('div', { class: 'card' }, el('h3', {}, 'Sequencers and controller'),
        table(['sequencer', 'state', 'session', 'stamped'], seqRows),
        el('div', { class: 'chips' },
          chip('session', p.session, 'group-session'), chip('view', p.view, 'group-view'),
          chip('gap commits', p.stats.gapCommits, 'gapCommits'), chip('view changes', p.stats.viewChanges, 'viewChanges'),
          chip('recoveries', p.stats.recoveries, 'recoveries'), chip('sequencer failovers', p.stats.failovers, 'failovers')),
        el('p', { class: 'hint' }, 'Counts as the replica (up now) that saw most of them counted them; a restarted replica starts from zero.'))));
  }

  pegasus(m, p) {
    const srv = new Map(p.servers.map((s) => [s.host, s]));
    this.updateTopology(m, (h) => {
      const s = srv.get(h);
      if (s) return { text: `${s.state} · ${fmt(s.opsPerSec)}/s` };
      if (h === p.switch.host) return { text: `directory ${p.directory.size}/${p.directory.capacity}`, lead: true };
      return undefined;
    });
    if (!this.pegasusBuilt) this.buildPegasus();
    this.loadChart?.set(p.servers.map((s) => ({ host: s.host, v: s.opsPerSec, state: s.state })));
    this.serverBody.replaceChildren(...p.servers.map((s) => el('tr', { class: s.up ? '' : 'row-down', 'data-server': s.host },
      el('td', {}, s.host), el('td', {}, badge(s.state)), num(fmt(s.opsPerSec), 'load'), num(fmt(s.requests), 'requests'), num(s.replicated, 'replicated'))));
    const d = p.directory;
    this.dirBox.replaceChildren(
      el('div', { class: 'meter' }, el('div', { class: 'meter-fill', style: `width:${(100 * d.size) / Math.max(1, d.capacity)}%` })),
      el('p', { class: 'dir-size', 'data-k': 'directory' }, `${d.size} of ${d.capacity} rkeys in the switch`),
      el('div', { class: 'chips' }, ...d.rkeys.map((r) => el('span', { class: 'rkey', title: `replicated on ${r.rf} server(s) after the last write` }, r.key, el('sup', {}, `×${r.rf}`)))),
      el('div', { class: 'chips' }, ...Object.entries(p.stats).map(([k, v]) => chip(k, v, k))));
    const sw = p.switch;
    this.stageBox.replaceChildren(...sw.stages.map((st) => el('div', { class: `stage${st.queued > 0 ? ' busy' : ''}`, title: `${st.name}: ${fmt(st.msgsPerSec)} packets/s, ${st.queued} waiting` },
      el('div', { class: 'stage-name' }, st.name.replace(/^(ingress|egress)\//, '')), el('div', { class: 'stage-rate' }, `${fmt(st.msgsPerSec)}/s`))));
    this.portBody.replaceChildren(...sw.ports.map((pt, i) => el('tr', {},
      el('td', {}, `${i} → ${pt.peer}`), num(pt.queued, 'queued'), num(fmt(pt.txPerSec), 'tx'), num(pt.tailDrops, 'tail-drops'))));
    const drops = Object.entries(sw.drops);
    this.dropBox.textContent = drops.length ? `drops: ${drops.map(([k, v]) => `${k} ${fmt(v)}`).join(' · ')}` : 'no drops';
  }

  buildPegasus() {
    this.pegasusBuilt = true;
    this.loadBox = el('div', { class: 'chart' });
    this.serverBody = el('tbody');
    this.dirBox = el('div');
    this.stageBox = el('div', { class: 'stages' });
    this.portBody = el('tbody');
    this.dropBox = el('p', { class: 'hint drops' });
    this.protocolCard.replaceChildren(el('div', { class: 'grid three' },
      el('div', { class: 'card' }, el('h3', {}, 'Storage servers ', el('span', { class: 'hint' }, 'load: requests/s')), this.loadBox,
        el('table', {}, el('thead', {}, el('tr', {}, ...['server', 'state', 'load', 'requests', 'rkeys'].map((h) => el('th', {}, h)))), this.serverBody)),
      el('div', { class: 'card' }, el('h3', {}, 'Coherence directory ', el('span', { class: 'hint' }, 'hottest rkeys first, ×replicas')), this.dirBox),
      el('div', { class: 'card' }, el('h3', {}, `Switch ${this.view.switches[0]?.host ?? ''} `, el('span', { class: 'hint' }, 'packets/s per stage; queues per port')),
        this.stageBox,
        el('table', {}, el('thead', {}, el('tr', {}, ...['port', 'queued', 'tx/s', 'tail drops'].map((h) => el('th', {}, h)))), this.portBody),
        this.dropBox)));
    requestAnimationFrame(() => { this.loadChart = new BarChart(this.loadBox, 'requests/s'); });
  }

  launch(m, p) {
    const byHost = new Map(p.hosts.map((h) => [h.host, h]));
    this.updateTopology(m, (h) => {
      const x = byHost.get(h);
      return x ? { text: `${x.state}${x.pid ? ` · pid ${x.pid}` : ''}` } : undefined;
    });
    this.protocolCard.replaceChildren(el('div', { class: 'card' }, el('h3', {}, 'Processes'),
      table(['host', 'role', 'state', 'pid', 'served', 'completed', 'errors', 'restarts'],
        p.hosts.map((h) => el('tr', { class: h.state === 'up' ? '' : 'row-down', 'data-process': h.host },
          el('td', {}, h.host), el('td', {}, h.role), el('td', {}, badge(h.state)), num(h.pid ?? '–', 'pid'),
          num(fmt(h.served), 'served'), num(fmt(h.completed), 'completed'), num(h.errors, 'errors'), num(h.restarts, 'restarts'))))));
  }
}

function stat(label, value, key) {
  return el('div', { class: 'stat' }, el('div', { class: 'stat-label' }, label), el('div', { class: 'stat-value', 'data-k': key }, value));
}

function chip(label, value, key) {
  return el('span', { class: 'chip' }, `${label} `, el('b', { 'data-k': key }, String(value)));
}

function badge(text) {
  return el('span', { class: `badge b-${text.replace(/\s+/g, '-')}` }, text);
}

function num(v, key) {
  return el('td', { class: 'num', 'data-k': key }, String(v));
}

function table(heads, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
}

connect();
