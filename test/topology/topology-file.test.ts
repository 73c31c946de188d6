// Topology files: every mistake a user can make is rejected with a message under the path of
// the field it is about, all of them at once; an exported file checks clean and loads back the
// same topology; relative paths are taken from the file's folder.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { behavior, Topology } from '../../actors/index.ts';
import {
  checkTopologyFile, defineBuilder, exportTopologyFile, fieldPath, formatTopologyFile, loadTopologyFile,
  TopologyFileError, type BuilderRegistry, type FileProblem, type TopologyFile,
} from '../../actors/topology-file.ts';
import { builders as cliBuilders } from '../../cli/builtins.ts';
import { transportForHost } from '../../cli/transports.ts';
import type { UdpTransport } from '../../transport/udp/udp-transport.ts';

/** A builder like a replicated protocol's: the same actor path on several hosts. */
const replicated = defineBuilder({
  description: 'n replicas, each running `replica`, and one client',
  params: Type.Object({ replicas: Type.Integer({ minimum: 1, maximum: 9, default: 3 }) }, { additionalProperties: false }),
  build: ({ replicas }) => {
    if (replicas === 7) throw new Error('seven replicas are unlucky');
    const t = new Topology('replicated');
    const idle = behavior<number, { type: 'Noop' }>({ init: () => 0, receive: (s) => s });
    for (let i = 1; i <= replicas; i++) t.actor(t.host(`r${i}`, { role: 'replica' }), 'replica', idle);
    t.actor(t.host('c1', { role: 'client' }), 'client', idle);
    return { topology: t };
  },
});

const builders: BuilderRegistry = { ...cliBuilders, replicated };

function good(): TopologyFile {
  return {
    name: 'pingpong',
    builder: { name: 'pingpong', params: { count: 100 } },
    transport: 'ws',
    secret: { env: 'SWITCHBOARD_SECRET' },
    hosts: {
      a: { address: '127.0.0.1', port: 4100, role: 'client', actors: ['pinger'] },
      b: { address: '127.0.0.1', port: 4101, role: 'server', actors: ['ponger'] },
    },
  };
}

/** The problems of a file made from the good one by `edit`. */
function problemsOf(edit: (f: any) => void, registry: BuilderRegistry = builders): readonly FileProblem[] {
  const f: any = structuredClone(good());
  edit(f);
  const r = checkTopologyFile(f, registry);
  return r.ok ? [] : r.problems;
}

function assertProblem(problems: readonly FileProblem[], path: string, message: RegExp): void {
  const p = problems.find((x) => x.path === path);
  assert.ok(p, `no problem at ${path}; got ${JSON.stringify(problems)}`);
  assert.match(p.message, message);
}

describe('topology file checks', () => {
  it('accepts a good file and completes the builder params with their defaults', () => {
    const r = checkTopologyFile(good(), builders);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.deepEqual(r.loaded.file.builder.params, { count: 100, window: 64, retryMs: 50 });
    assert.deepEqual(r.loaded.built.topology.hosts.map((h) => h.name), ['a', 'b']);
  });

  it('rejects a file that is not an object, and text that is not JSON, naming the line', () => {
    const r = checkTopologyFile([1, 2], builders);
    assert.ok(!r.ok);
    const dir = mkdtempSync(join(tmpdir(), 'topology-file-'));
    writeFileSync(join(dir, 'broken.json'), '{\n  "name": "x",\n  "hosts": }\n');
    assert.throws(() => loadTopologyFile(join(dir, 'broken.json'), builders), (err: TopologyFileError) =>
      err instanceof TopologyFileError && /not JSON/.test(err.message) && /line 3/.test(err.message));
    assert.throws(() => loadTopologyFile(join(dir, 'missing.json'), builders), /cannot read the topology file: ENOENT/);
  });

  it('rejects an unknown builder, naming the known ones', () => {
    assertProblem(problemsOf((f) => { f.builder.name = 'nopaxos9'; }), 'builder.name', new RegExp(`unknown builder 'nopaxos9' \\(known: ${Object.keys(builders).join(', ')}\\)`));
  });

  it('checks builder params against the builder schema, field by field', () => {
    const ps = problemsOf((f) => { f.builder.params = { count: 0, window: 'many', colour: 'red' }; });
    assertProblem(ps, 'builder.params.count', /greater or equal to 1/);
    assertProblem(ps, 'builder.params.window', /integer/);
    assertProblem(ps, 'builder.params.colour', /unknown field/);
    assertProblem(problemsOf((f) => { f.builder.params = [1]; }), 'builder.params', /object/);
  });

  it('reports a builder that refuses its params', () => {
    const ps = problemsOf((f) => { f.builder = { name: 'replicated', params: { replicas: 7 } }; });
    assertProblem(ps, 'builder.params', /refused them: seven replicas are unlucky/);
  });

  it('reports a Pegasus controller whose servers\' leases would run out between probes', () => {
    const ps = problemsOf((f) => { f.builder = { name: 'pegasus', params: { failAfterMs: 30 } }; });
    assertProblem(ps, 'builder.params', /refused them: pegasus controller: leaseMs \(15; default failAfterMs \/ 2\) must be above probeMs \(20\)/);
  });

  it('rejects an unknown transport', () => {
    assertProblem(problemsOf((f) => { f.transport = 'tcp'; }), 'transport', /one of "ws", "udp"/);
  });

  it('rejects a literal secret in every form, with a message of its own', () => {
    for (const literal of ['hunter2-hunter2-hunter2', { value: 'hunter2-hunter2-hunter2' }, { base64: 'aGVsbG8=' }]) {
      assertProblem(problemsOf((f) => { f.secret = literal; }), 'secret', /literal secret is not allowed.*"env".*"file"/);
    }
  });

  it('rejects a missing or malformed secret reference', () => {
    assertProblem(problemsOf((f) => { delete f.secret; }), 'secret', /missing/);
    assertProblem(problemsOf((f) => { f.secret = { env: 'A', file: 'b' }; }), 'secret', /not both/);
    assertProblem(problemsOf((f) => { f.secret = { env: '1 BAD' }; }), 'secret.env', /not an environment variable name/);
    assertProblem(problemsOf((f) => { f.secret = { file: '' }; }), 'secret.file', /path/);
    assertProblem(problemsOf((f) => { f.secret = { env: 'A', mode: 1 }; }), 'secret.mode', /unknown field/);
    assertProblem(problemsOf((f) => { f.secret = {}; }), 'secret', /"env".*"file"/);
  });

  it('rejects incomplete TLS files, and TLS with udp', () => {
    assertProblem(problemsOf((f) => { f.tls = { cert: 'c.pem' }; }), 'tls.key', /missing/);
    assertProblem(problemsOf((f) => { f.tls = { cert: 'c.pem', key: 'k.pem' }; f.transport = 'udp'; }), 'tls', /ws transport/);
  });

  it('checks the udp datagram size, and the udp transport takes it', () => {
    for (const size of [100, 65_508, 1472.5, '1472']) {
      assertProblem(problemsOf((f) => { f.udp = { maxDatagramBytes: size }; }), 'udp.maxDatagramBytes', /is not a datagram size: use an integer in 576\.\.65507/);
    }
    assertProblem(problemsOf((f) => { f.udp = { mtu: 1500 }; }), 'udp.mtu', /unknown field/);
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-topo-'));
    const load = (udp?: object, address = '127.0.0.1'): UdpTransport => {
      const f: any = good();
      f.transport = 'udp';
      f.secret = { file: 'secret' };
      if (udp) f.udp = udp;
      for (const h of Object.values(f.hosts) as { address: string }[]) h.address = address;
      writeFileSync(join(dir, 'secret'), 'x'.repeat(32));
      writeFileSync(join(dir, 'topology.json'), formatTopologyFile(f));
      return transportForHost(loadTopologyFile(join(dir, 'topology.json'), builders), 'a') as UdpTransport;
    };
    assert.equal(load({ maxDatagramBytes: 9000 }).maxDatagramBytes, 9000);
    assert.equal(load().maxDatagramBytes, 65_507, 'loopback: as large as UDP allows');
    assert.equal(load(undefined, '10.1.2.3').maxDatagramBytes, 1472, 'between machines: an Ethernet MTU');
  });

  it('rejects unknown fields and missing ones', () => {
    const ps = problemsOf((f) => { f.colour = 'red'; f.hosts.a.weight = 2; delete f.hosts.b.port; delete f.name; });
    assertProblem(ps, 'colour', /unknown field/);
    assertProblem(ps, 'hosts.a.weight', /unknown field/);
    assertProblem(ps, 'hosts.b.port', /missing/);
    assertProblem(ps, 'name', /missing/);
  });

  it('rejects a bad port', () => {
    for (const port of [0, 65536, 4100.5, '4100']) {
      assertProblem(problemsOf((f) => { f.hosts.b.port = port; }), 'hosts.b.port', /not a port|integer/);
    }
  });

  it('rejects a wildcard or malformed address', () => {
    assertProblem(problemsOf((f) => { f.hosts.a.address = '0.0.0.0'; }), 'hosts.a.address', /wildcard/);
    assertProblem(problemsOf((f) => { f.hosts.a.address = 'not an address!'; }), 'hosts.a.address', /neither an IP address nor a host name/);
  });

  it('rejects two hosts on one address and port (localhost is 127.0.0.1)', () => {
    assertProblem(problemsOf((f) => { f.hosts.b.port = 4100; }), 'hosts.b.port', /127\.0\.0\.1:4100 is also the address of host 'a'/);
    assertProblem(problemsOf((f) => { f.hosts.b = { ...f.hosts.b, address: 'localhost', port: 4100 }; }), 'hosts.b.port', /also the address of host 'a'/);
    assert.deepEqual(problemsOf((f) => { f.hosts.b = { ...f.hosts.b, address: '10.0.0.2', port: 4100 }; }), []);
  });

  it('rejects a host the builder does not make', () => {
    const ps = problemsOf((f) => { f.hosts.z = { address: '127.0.0.1', port: 4102, actors: [] }; });
    assertProblem(ps, 'hosts.z', /unknown host 'z': builder 'pingpong' makes hosts a, b/);
  });

  it('rejects a file that lacks a host, so that its actors would be on no host', () => {
    assertProblem(problemsOf((f) => { delete f.hosts.b; }), 'hosts', /lacks host 'b'.*'ponger' would be on no host/);
  });

  it('rejects an actor of the builder that its host does not list', () => {
    assertProblem(problemsOf((f) => { f.hosts.b.actors = []; }), 'hosts.b.actors', /lacks 'ponger', which builder 'pingpong' places on host 'b'/);
  });

  it('rejects an actor the builder does not make', () => {
    assertProblem(problemsOf((f) => { f.hosts.b.actors.push('pongr'); }), 'hosts.b.actors[1]', /makes no actor 'pongr'/);
  });

  it('rejects an actor on two hosts, and one moved to another host', () => {
    const twice = problemsOf((f) => { f.hosts.a.actors.push('ponger'); });
    assertProblem(twice, 'hosts.a.actors[1]', /'ponger' is on two hosts/);
    const moved = problemsOf((f) => { f.hosts.a.actors.push('ponger'); f.hosts.b.actors = []; });
    assertProblem(moved, 'hosts.a.actors[1]', /lives on host 'b'.*not on 'a'/);
    assertProblem(moved, 'hosts.b.actors', /lacks 'ponger'/);
  });

  it('rejects an actor listed twice on one host', () => {
    assertProblem(problemsOf((f) => { f.hosts.a.actors.push('pinger'); }), 'hosts.a.actors[1]', /listed twice/);
  });

  it('accepts the same path on several hosts when the builder puts it there', () => {
    const file = exportTopologyFile(builders, { builder: 'replicated', transport: 'udp', basePort: 5000, secret: { env: 'S' } });
    assert.deepEqual(Object.keys(file.hosts), ['r1', 'r2', 'r3', 'c1']);
    assert.ok(checkTopologyFile(file, builders).ok);
    const f: any = structuredClone(file);
    f.hosts.c1.actors.push('replica');
    const r = checkTopologyFile(f, builders);
    assert.ok(!r.ok);
    assertProblem(r.problems, 'hosts.c1.actors[1]', /on two hosts: it lives on 'r1', 'r2', 'r3'/);
  });

  it('rejects a role that contradicts the builder', () => {
    assertProblem(problemsOf((f) => { f.hosts.a.role = 'server'; }), 'hosts.a.role', /builder 'pingpong' gives host 'a' the role 'client'/);
  });

  it('lists every problem at once, in the order of the fields, a host\'s together', () => {
    const ps = problemsOf((f) => {
      f.transport = 'tcp';
      f.secret = 'literal-literal-literal';
      f.hosts.a.port = 0;
      f.hosts.b.actors = ['pinger'];
      f.hosts.a.role = 'x';
    });
    assert.deepEqual(ps.map((p) => p.path), ['transport', 'secret', 'hosts.a.port', 'hosts.a.role', 'hosts.b.actors[0]', 'hosts.b.actors']);
    const err = new TopologyFileError('f.json', ps);
    assert.match(err.message, /^f\.json: 6 problems\n {2}transport: /);
  });

  it('writes field paths as a user reads them', () => {
    assert.equal(fieldPath('/hosts/a/actors/0'), 'hosts.a.actors[0]');
    assert.equal(fieldPath('/hosts/r.1/port'), 'hosts["r.1"].port');
    assert.equal(fieldPath('/count', 'builder.params'), 'builder.params.count');
  });
});

describe('topology export', () => {
  it('round-trips: the exported file checks clean and builds the same topology', () => {
    const file = exportTopologyFile(builders, {
      builder: 'pingpong', params: { count: 5 }, transport: 'udp', basePort: 4300, secret: { file: 'secret.key' },
    });
    assert.deepEqual(file.hosts, {
      a: { address: '127.0.0.1', port: 4300, role: 'client', actors: ['pinger'] },
      b: { address: '127.0.0.1', port: 4301, role: 'server', actors: ['ponger'] },
    });
    assert.deepEqual(file.builder, { name: 'pingpong', params: { count: 5, window: 64, retryMs: 50 } });
    const again = JSON.parse(formatTopologyFile(file));
    const r = checkTopologyFile(again, builders);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.deepEqual(r.loaded.file, file);
    const built = cliBuilders.pingpong!.build(file.builder.params!);
    assert.deepEqual(r.loaded.built.topology.actors.map((a) => [a.host, a.path]), built.topology.actors.map((a) => [a.host, a.path]));
  });

  it('refuses bad params with their path', () => {
    assert.throws(() => exportTopologyFile(builders, { builder: 'pingpong', params: { count: -1 }, transport: 'ws', basePort: 1, secret: { env: 'S' } }),
      (err: TopologyFileError) => err.problems[0]!.path === 'params.count');
    assert.throws(() => exportTopologyFile(builders, { builder: 'nope', transport: 'ws', basePort: 1, secret: { env: 'S' } }), /unknown builder 'nope'/);
  });

  it('makes relative secret and TLS paths absolute against the file\'s folder when loading', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topology-file-'));
    const file = { ...good(), secret: { file: 'keys/secret' }, tls: { cert: 'tls/cert.pem', key: '/etc/key.pem' } };
    writeFileSync(join(dir, 't.json'), formatTopologyFile(file));
    const loaded = loadTopologyFile(join(dir, 't.json'), builders);
    assert.deepEqual(loaded.file.secret, { file: join(dir, 'keys/secret') });
    assert.deepEqual(loaded.file.tls, { cert: join(dir, 'tls/cert.pem'), key: '/etc/key.pem' });
  });
});
