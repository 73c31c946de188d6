// The dashboard server without a browser: static files, the loopback-only checks (Host and
// Origin), and the control protocol: a malformed message gets an error reply and reaches
// nothing; a well-formed one reaches the source, whose refusal comes back as an error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Subject } from 'rxjs';
import WebSocket from 'ws';
import { parseControl, type Control, type DashboardEvent, type Sample, type ServerMsg } from '../../dashboard/protocol.ts';
import { DashboardServer, PortInUseError } from '../../dashboard/server.ts';
import { ControlError, type DashboardSource } from '../../dashboard/source.ts';

class FakeSource implements DashboardSource {
  readonly updates = new Subject<Sample | DashboardEvent>();
  readonly controls: Control[] = [];
  hello() {
    return { type: 'hello' as const, title: 't', mode: 'fake', systems: [] };
  }
  control(c: Control): string {
    if (c.action === 'crash' && c.host === 'nope') throw new ControlError('no host nope');
    this.controls.push(c);
    return `did ${c.action}`;
  }
}

describe('dashboard server', () => {
  const source = new FakeSource();
  const server = new DashboardServer({ port: 0, source });
  let url = '';
  before(async () => { url = await server.start(); });
  after(() => server.close());

  const open = (origin = url.slice(0, -1)): Promise<{ ws: WebSocket; next: () => Promise<ServerMsg> }> => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}ws`, { origin });
    const queue: ServerMsg[] = [];
    const waiters: ((m: ServerMsg) => void)[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as ServerMsg;
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    ws.on('open', () => resolve({ ws, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))) }));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });

  it('listens on 127.0.0.1 and serves the page, the script and vega', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    for (const path of ['', 'app.js', 'style.css', 'vendor/vega.min.js', 'vendor/vega-lite.min.js']) {
      const res = await fetch(url + path);
      assert.equal(res.status, 200, path);
    }
    assert.equal((await fetch(`${url}../package.json`)).status, 404);
    assert.equal((await fetch(`${url}nothing`)).status, 404);
  });

  it('says clearly when its port is taken', async () => {
    const port = Number(new URL(url).port);
    await assert.rejects(new DashboardServer({ port, source }).start(), (e: Error) => e instanceof PortInUseError && /port \d+ on 127.0.0.1 is in use/.test(e.message));
  });

  it('refuses a foreign Host header and a foreign Origin', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      import('node:http').then(({ get }) => get(url, { headers: { host: 'evil.example' } }, (r) => { r.resume(); resolve(r.statusCode!); }).on('error', reject), reject);
    });
    assert.equal(res, 403);
    await assert.rejects(open('http://evil.example'), /HTTP 403/);
  });

  it('says hello, then answers controls; malformed ones get an error and reach nothing', async () => {
    const { ws, next } = await open();
    assert.equal((await next()).type, 'hello');
    const bad = [
      'not json',
      JSON.stringify({ type: 'control', id: 7, system: 'nopaxos', action: 'explode' }),
      JSON.stringify({ type: 'control', id: 8, system: 'nopaxos', action: 'crash' }),
      JSON.stringify({ type: 'control', id: 9, system: 'nopaxos', action: 'crash', host: 'r0', extra: 1 }),
      JSON.stringify({ type: 'control', id: 10, system: 'nopaxos', action: 'crash', host: '../etc' }),
      JSON.stringify([1, 2]),
    ];
    for (const text of bad) {
      ws.send(text);
      const m = await next();
      assert.equal(m.type, 'error', text);
    }
    assert.equal(source.controls.length, 0, 'no malformed control reached the source');
    ws.send(JSON.stringify({ type: 'control', id: 11, system: 'nopaxos', action: 'crash', host: 'nope' }));
    assert.deepEqual(await next(), { type: 'error', id: 11, error: 'no host nope' });
    ws.send(JSON.stringify({ type: 'control', id: 12, system: 'nopaxos', action: 'heal' }));
    assert.deepEqual(await next(), { type: 'reply', id: 12, text: 'did heal' });
    assert.equal(source.controls.length, 1);
    ws.close();
  });

  it('streams the source\'s updates and replays the latest to a page that connects later', async () => {
    const { ws, next } = await open();
    await next();
    source.updates.next({ type: 'event', system: 's', atMs: 1, level: 'info', text: 'hello there' });
    assert.deepEqual(await next(), { type: 'event', system: 's', atMs: 1, level: 'info', text: 'hello there' });
    ws.close();
    const late = await open();
    assert.equal((await late.next()).type, 'hello');
    assert.equal((await late.next() as DashboardEvent).text, 'hello there');
    late.ws.close();
  });
});

describe('parseControl', () => {
  it('names what is wrong', () => {
    const r = parseControl(JSON.stringify({ type: 'control', id: 3, system: 'x', action: 'cut', a: 'r0' }));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.id, 3);
    assert.match(!r.ok ? r.error : '', /not a control message/);
    assert.ok(parseControl(JSON.stringify({ type: 'control', id: 3, system: 'x', action: 'cut', a: 'r0', b: 'r1' })).ok);
  });
});
