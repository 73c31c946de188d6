// Topology files: a topology's placement and addresses as JSON, for running it with one process
// per host. Behaviours are code, so a file does not describe actors; it names a registered
// *builder* (code that makes the Topology from a few parameters) and says where each host
// listens, which actors it runs (checked against what the builder makes), which transport
// connects the hosts, where the cluster secret comes from (an environment variable or a file,
// never a literal) and, for wss, the TLS files. docs/deploy.md describes the format.
//
// Checking a file lists every problem at once, each under the path of its field
// (`hosts.b.port`, `builder.params.count`), so that one edit fixes them all.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { MAX_UDP_PAYLOAD_BYTES, MIN_MAX_DATAGRAM_BYTES } from '../transport/udp/datagram.ts';
import type { NodeRuntime } from './local.ts';
import type { Topology } from './topology.ts';

export const TRANSPORT_NAMES = ['ws', 'udp'] as const;
export type TransportName = (typeof TRANSPORT_NAMES)[number];

const NonEmpty = Type.String({ minLength: 1 });
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const HostEntrySchema = Type.Object({
  /** Where this host listens and where its peers reach it: an IP address or a DNS name. */
  address: NonEmpty,
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  /** Free-form label for status displays; if the builder gives one, they must agree. */
  role: Type.Optional(NonEmpty),
  /** Paths of the actors on this host, exactly those the builder places there. */
  actors: Type.Array(NonEmpty),
}, { additionalProperties: false });

export const SecretRefSchema = Type.Union([
  Type.Object({ env: Type.String({ pattern: ENV_NAME.source }) }, { additionalProperties: false }),
  Type.Object({ file: NonEmpty }, { additionalProperties: false }),
]);

export const TlsFilesSchema = Type.Object({
  cert: NonEmpty,
  key: NonEmpty,
  /** Certificate authority the peers' certificates are checked against (default: the system's). */
  ca: Type.Optional(NonEmpty),
}, { additionalProperties: false });

/** Settings of the udp transport (used whenever the cluster runs over udp). */
export const UdpSettingsSchema = Type.Object({
  /**
   * The largest datagram a host sends or accepts, the same for every host: at most the path MTU
   * less 28 bytes of IPv4 and UDP headers, or datagrams fragment (and one lost fragment loses
   * them). Default: 65507 when every host is on loopback, else 1472 (an Ethernet MTU).
   */
  maxDatagramBytes: Type.Optional(Type.Integer({ minimum: MIN_MAX_DATAGRAM_BYTES, maximum: MAX_UDP_PAYLOAD_BYTES })),
}, { additionalProperties: false });

export const TopologyFileSchema = Type.Object({
  name: NonEmpty,
  builder: Type.Object({
    name: NonEmpty,
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }, { additionalProperties: false }),
  transport: Type.Union(TRANSPORT_NAMES.map((t) => Type.Literal(t))),
  secret: SecretRefSchema,
  tls: Type.Optional(TlsFilesSchema),
  udp: Type.Optional(UdpSettingsSchema),
  hosts: Type.Record(Type.String(), HostEntrySchema, { minProperties: 1 }),
}, { additionalProperties: false });

/** The file's shape with the secret left to secretProblems. */
const SHAPE_WITHOUT_SECRET = { ...TopologyFileSchema, properties: { ...TopologyFileSchema.properties, secret: Type.Unknown() } };

export type HostEntry = Static<typeof HostEntrySchema>;
export type SecretRef = Static<typeof SecretRefSchema>;
export type TlsFiles = Static<typeof TlsFilesSchema>;
export type UdpSettings = Static<typeof UdpSettingsSchema>;
export type TopologyFile = Static<typeof TopologyFileSchema>;

// ---- builders ------------------------------------------------------------------------------

/** What a builder makes: the topology, and how each host tells it has done its job. */
export interface BuiltTopology {
  readonly topology: Topology;
  /**
   * This host's job, if it has one (clients do; servers do not): resolves with a summary once
   * done. Returns undefined for a host without a job.
   */
  watch?(node: NodeRuntime): Promise<Record<string, unknown>> | undefined;
  /**
   * Live counters of this host for status displays. By convention `served` counts requests this
   * host answered and `completed` requests its clients got answered.
   */
  status?(node: NodeRuntime): Readonly<Record<string, number>>;
}

/** Code that makes a topology from parameters; registered under a name that files refer to. */
export interface TopologyBuilder {
  readonly description: string;
  /** Schema of the parameters, with defaults; a file's `builder.params` is checked against it. */
  readonly params: TObject;
  build(params: Record<string, unknown>): BuiltTopology;
}

export type BuilderRegistry = Readonly<Record<string, TopologyBuilder>>;

/** A builder whose `build` gets parameters already checked and completed with defaults. */
export function defineBuilder<S extends TObject>(spec: {
  readonly description: string;
  readonly params: S;
  build(params: Static<S>): BuiltTopology;
}): TopologyBuilder {
  return {
    description: spec.description,
    params: spec.params,
    build: (params) => spec.build(params as Static<S>),
  };
}

// ---- problems ------------------------------------------------------------------------------

/** One thing wrong with a file, under the path of the field it is about. */
export interface FileProblem {
  readonly path: string;
  readonly message: string;
}

export class TopologyFileError extends Error {
  override readonly name = 'TopologyFileError';

  constructor(readonly source: string, readonly problems: readonly FileProblem[]) {
    super(`${source}: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}\n`
      + problems.map((p) => `  ${formatProblem(p)}`).join('\n'));
  }
}

export function formatProblem(p: FileProblem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/** `/hosts/a/actors/0` -> `hosts.a.actors[0]`; odd keys are quoted: `hosts["r.1"]`. */
export function fieldPath(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(key)) out += `[${key}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function join(path: string, key: string | number): string {
  return fieldPath(`/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`, path);
}

/** Schema errors as problems: one per field, in words a user can act on. */
function schemaProblems(schema: TSchema, value: unknown, prefix = ''): FileProblem[] {
  const seen = new Set<string>();
  const problems: FileProblem[] = [];
  for (const e of Value.Errors(schema, value)) {
    const path = fieldPath(e.path, prefix);
    if (seen.has(path)) continue;
    seen.add(path);
    problems.push({ path, message: describe(e) });
  }
  return problems;
}

function describe(e: ValueError): string {
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty: return 'missing';
    case ValueErrorType.ObjectAdditionalProperties: return 'unknown field';
    case ValueErrorType.ObjectMinProperties: return 'may not be empty';
    case ValueErrorType.StringMinLength: return 'may not be empty';
    case ValueErrorType.Union: {
      const consts = ((e.schema as { anyOf?: { const?: unknown }[] }).anyOf ?? []).map((s) => s.const);
      if (consts.length && consts.every((c) => c !== undefined)) return `must be one of ${consts.map((c) => JSON.stringify(c)).join(', ')}`;
      return e.message.charAt(0).toLowerCase() + e.message.slice(1);
    }
    default:
      if (e.path.endsWith('/port')) return `${JSON.stringify(e.value)} is not a port: use an integer in 1..65535`;
      if (e.path === '/udp/maxDatagramBytes') {
        return `${JSON.stringify(e.value)} is not a datagram size: use an integer in ${MIN_MAX_DATAGRAM_BYTES}..${MAX_UDP_PAYLOAD_BYTES} `
          + '(bytes of UDP payload: the path MTU less 28)';
      }
      return `${e.message.charAt(0).toLowerCase()}${e.message.slice(1)} (got ${JSON.stringify(e.value)})`;
  }
}

// ---- checking ------------------------------------------------------------------------------

/** A checked file together with the topology its builder made. */
export interface LoadedTopology {
  /** The file, with the builder's parameters completed by their defaults. */
  readonly file: TopologyFile;
  readonly builder: TopologyBuilder;
  readonly built: BuiltTopology;
}

export type CheckResult =
  | { readonly ok: true; readonly loaded: LoadedTopology }
  | { readonly ok: false; readonly problems: readonly FileProblem[] };

const SECRET_LITERAL_KEYS = ['value', 'literal', 'secret', 'key', 'hex', 'base64', 'password'];
const LITERAL_SECRET = 'a literal secret is not allowed in a topology file (files are copied, shared and committed): '
  + 'give {"env": "VAR"} or {"file": "PATH"}';

/** Build a builder's topology from parameters (checked against its schema, defaults filled in). */
export function buildTopology(builders: BuilderRegistry, name: string, params: unknown, paramsPath = 'builder.params'):
  { ok: true; builder: TopologyBuilder; params: Record<string, unknown>; built: BuiltTopology } | { ok: false; problems: FileProblem[] } {
  const builder = Object.hasOwn(builders, name) ? builders[name] : undefined;
  if (!builder) {
    return { ok: false, problems: [{ path: 'builder.name', message: `unknown builder '${name}' (known: ${Object.keys(builders).join(', ') || 'none'})` }] };
  }
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
    return { ok: false, problems: [{ path: paramsPath, message: 'must be an object' }] };
  }
  const completed = Value.Default(builder.params, structuredClone(params ?? {})) as Record<string, unknown>;
  const problems = schemaProblems(builder.params, completed, paramsPath);
  if (problems.length) return { ok: false, problems };
  try {
    return { ok: true, builder, params: completed, built: builder.build(completed) };
  } catch (err) {
    return { ok: false, problems: [{ path: paramsPath, message: `builder '${name}' refused them: ${(err as Error).message}` }] };
  }
}

/**
 * Check a parsed file: its shape, then its builder and parameters, then that its hosts and
 * actors are exactly the builder's and that no two hosts share an address and port.
 */
export function checkTopologyFile(raw: unknown, builders: BuilderRegistry): CheckResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [{ path: '', message: 'a topology file holds one JSON object' }] };
  }
  const problems: FileProblem[] = [];
  const obj = raw as Record<string, unknown>;

  problems.push(...secretProblems(obj.secret));
  problems.push(...schemaProblems(SHAPE_WITHOUT_SECRET, raw).filter((p) => p.path !== 'secret' && !p.path.startsWith('secret.')));
  problems.push(...addressProblems(obj.hosts));
  if (obj.tls !== undefined && obj.transport === 'udp') {
    problems.push({ path: 'tls', message: 'TLS applies to the ws transport (wss); udp datagrams are authenticated by the secret but not encrypted' });
  }

  // The builder's part can be checked whenever its name and the hosts are readable.
  const b = obj.builder as { name?: unknown; params?: unknown } | undefined;
  let loaded: LoadedTopology | undefined;
  if (b && typeof b === 'object' && typeof b.name === 'string' && b.name) {
    const made = buildTopology(builders, b.name, b.params);
    if (!made.ok) {
      problems.push(...made.problems);
    } else {
      if (obj.hosts && typeof obj.hosts === 'object' && !Array.isArray(obj.hosts)) {
        problems.push(...placementProblems(b.name, made.built.topology, obj.hosts as Record<string, unknown>));
      }
      const file = { ...(raw as TopologyFile), builder: { name: b.name, params: made.params } };
      loaded = { file, builder: made.builder, built: made.built };
    }
  }
  if (problems.length || !loaded) {
    const hostNames = obj.hosts && typeof obj.hosts === 'object' ? Object.keys(obj.hosts) : [];
    return { ok: false, problems: sortProblems(problems, hostNames) };
  }
  return { ok: true, loaded };
}

/** The secret is checked by hand, so that a literal gets a message of its own. */
function secretProblems(secret: unknown): FileProblem[] {
  const hint = 'give {"env": "VAR"} or {"file": "PATH"}';
  if (secret === undefined) return [{ path: 'secret', message: `missing: ${hint}` }];
  const isObject = secret !== null && typeof secret === 'object' && !Array.isArray(secret);
  if (typeof secret === 'string' || typeof secret === 'number' || (isObject && SECRET_LITERAL_KEYS.some((k) => k in secret))) {
    return [{ path: 'secret', message: LITERAL_SECRET }];
  }
  if (!isObject) return [{ path: 'secret', message: hint }];
  const s = secret as Record<string, unknown>;
  const problems: FileProblem[] = Object.keys(s).filter((k) => k !== 'env' && k !== 'file')
    .map((k) => ({ path: join('secret', k), message: 'unknown field' }));
  if ('env' in s && 'file' in s) {
    problems.push({ path: 'secret', message: 'give one of "env" or "file", not both' });
  } else if ('env' in s) {
    if (typeof s.env !== 'string' || !ENV_NAME.test(s.env)) {
      problems.push({ path: 'secret.env', message: `${JSON.stringify(s.env)} is not an environment variable name` });
    }
  } else if ('file' in s) {
    if (typeof s.file !== 'string' || !s.file) problems.push({ path: 'secret.file', message: 'must be a path' });
  } else {
    problems.push({ path: 'secret', message: hint });
  }
  return problems;
}

const FIELD_ORDER = ['name', 'builder', 'transport', 'secret', 'tls', 'udp', 'hosts'];

/** Problems in the order of the fields in a file, and those of a host together. */
function sortProblems(problems: FileProblem[], hostNames: string[]): FileProblem[] {
  const rank = (p: FileProblem): [number, number] => {
    const top = FIELD_ORDER.indexOf(p.path.split(/[.[]/)[0]!);
    const host = hostNames.findIndex((h) => p.path === join('hosts', h) || p.path.startsWith(`${join('hosts', h)}.`));
    return [top < 0 ? FIELD_ORDER.length : top, host < 0 ? hostNames.length : host];
  };
  return problems.map((p, i) => ({ p, i, r: rank(p) }))
    .sort((x, y) => x.r[0] - y.r[0] || x.r[1] - y.r[1] || x.i - y.i).map((x) => x.p);
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const WILDCARDS = new Set(['0.0.0.0', '::', '::0']);

function addressProblems(hosts: unknown): FileProblem[] {
  if (!hosts || typeof hosts !== 'object' || Array.isArray(hosts)) return [];
  const problems: FileProblem[] = [];
  const taken = new Map<string, string>();
  for (const [name, entry] of Object.entries(hosts)) {
    if (!entry || typeof entry !== 'object') continue;
    const { address, port } = entry as { address?: unknown; port?: unknown };
    if (typeof address !== 'string' || !address) continue;
    const at = join(join('hosts', name), 'address');
    if (WILDCARDS.has(address)) {
      problems.push({ path: at, message: `'${address}' is a wildcard: give the address peers reach this host at` });
      continue;
    }
    if (isIP(address) === 0 && !HOSTNAME.test(address)) {
      problems.push({ path: at, message: `'${address}' is neither an IP address nor a host name` });
      continue;
    }
    if (typeof port !== 'number') continue;
    const canonical = address.toLowerCase() === 'localhost' ? '127.0.0.1' : address.toLowerCase();
    const key = `${canonical}|${port}`;
    const other = taken.get(key);
    if (other !== undefined) {
      problems.push({ path: join(join('hosts', name), 'port'), message: `${address}:${port} is also the address of host '${other}'` });
    } else {
      taken.set(key, name);
    }
  }
  return problems;
}

/** The file's hosts and actors against the builder's: the same hosts, each with the same actors. */
function placementProblems(builderName: string, topology: Topology, hosts: Record<string, unknown>): FileProblem[] {
  const problems: FileProblem[] = [];
  const made = new Map<string, string[]>();
  for (const h of topology.hosts) made.set(h.name, []);
  for (const a of topology.actors) made.get(a.host)!.push(a.path);
  const hostsOf = (path: string): string[] => [...made].filter(([, paths]) => paths.includes(path)).map(([h]) => h);
  const listed = (host: string, path: string): boolean => {
    const actors = (hosts[host] as { actors?: unknown } | undefined)?.actors;
    return Array.isArray(actors) && actors.includes(path);
  };
  const by = `builder '${builderName}'`;

  for (const [name, entry] of Object.entries(hosts)) {
    const at = join('hosts', name);
    const paths = made.get(name);
    if (!paths) {
      problems.push({ path: at, message: `unknown host '${name}': ${by} makes hosts ${[...made.keys()].join(', ')}` });
      continue;
    }
    if (!entry || typeof entry !== 'object') continue;
    const { role, actors } = entry as { role?: unknown; actors?: unknown };
    const madeRole = topology.hostSpec(name).options.role;
    if (typeof role === 'string' && madeRole !== undefined && role !== madeRole) {
      problems.push({ path: join(at, 'role'), message: `'${role}', but ${by} gives host '${name}' the role '${madeRole}'` });
    }
    if (!Array.isArray(actors)) continue;
    const seen = new Set<string>();
    actors.forEach((path, i) => {
      if (typeof path !== 'string' || !path) return;
      const ai = join(join(at, 'actors'), i);
      if (seen.has(path)) {
        problems.push({ path: ai, message: `'${path}' is listed twice` });
        return;
      }
      seen.add(path);
      if (paths.includes(path)) return;
      const homes = hostsOf(path);
      if (homes.length === 0) {
        problems.push({ path: ai, message: `${by} makes no actor '${path}' (it makes ${describeActors(made)})` });
      } else if (homes.some((h) => listed(h, path))) {
        problems.push({ path: ai, message: `actor '${path}' is on two hosts: it lives on ${homes.map((h) => `'${h}'`).join(', ')}, `
          + `where it is listed too; an actor lives on one host` });
      } else {
        problems.push({ path: ai, message: `actor '${path}' lives on host ${homes.map((h) => `'${h}'`).join(', ')} in ${by}, not on '${name}' `
          + '(placement comes from the builder: change its params to move an actor)' });
      }
    });
    for (const path of paths) {
      if (!seen.has(path)) problems.push({ path: join(at, 'actors'), message: `lacks '${path}', which ${by} places on host '${name}'` });
    }
  }
  for (const [name, paths] of made) {
    if (!Object.hasOwn(hosts, name)) {
      problems.push({
        path: 'hosts',
        message: `lacks host '${name}' of ${by}${paths.length ? `, so actor${paths.length > 1 ? 's' : ''} ${paths.map((p) => `'${p}'`).join(', ')} would be on no host` : ''}`,
      });
    }
  }
  return problems;
}

function describeActors(made: Map<string, string[]>): string {
  const all = [...made].flatMap(([h, paths]) => paths.map((p) => `${p} on ${h}`));
  return all.length > 8 ? `${all.slice(0, 8).join(', ')}, ...` : all.join(', ') || 'none';
}

// ---- reading and writing -------------------------------------------------------------------

/** Parse JSON text, reporting a syntax error with its line and column. */
export function parseTopologyJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const at = syntaxErrorOffset(text);
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    const msg = (err as Error).message.split('\n')[0]!;
    throw new TopologyFileError(source, [{ path: '', message: `not JSON (line ${line}, column ${column}): ${msg}` }]);
  }
}

/** Where JSON text first goes wrong (V8's messages do not always say). */
function syntaxErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const fail = (): never => { throw i; };
  const lit = (word: string): void => { if (text.startsWith(word, i)) i += word.length; else fail(); };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) { i++; return; }
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          str();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; return; }
        fail();
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    return i;
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, text.length) : 0;
  }
}

/**
 * Read and check a topology file. Relative paths in it (the secret file, the TLS files) are
 * taken relative to the file's own folder and come back absolute.
 */
export function loadTopologyFile(path: string, builders: BuilderRegistry): LoadedTopology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TopologyFileError(path, [{ path: '', message: `cannot read the topology file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  const result = checkTopologyFile(parseTopologyJson(text, path), builders);
  if (!result.ok) throw new TopologyFileError(path, result.problems);
  return { ...result.loaded, file: resolvePaths(result.loaded.file, dirname(resolve(path))) };
}

/** The file with its secret and TLS paths made absolute against `baseDir`. */
export function resolvePaths(file: TopologyFile, baseDir: string): TopologyFile {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...file,
    secret: 'file' in file.secret ? { file: abs(file.secret.file) } : file.secret,
    ...(file.tls ? {
      tls: { cert: abs(file.tls.cert), key: abs(file.tls.key), ...(file.tls.ca ? { ca: abs(file.tls.ca) } : {}) },
    } : {}),
  };
}

export interface ExportOptions {
  readonly builder: string;
  readonly params?: unknown;
  readonly transport: TransportName;
  /** Ports of hosts that declare none are consecutive from here. */
  readonly basePort: number;
  /** Address of hosts that declare none. */
  readonly address?: string;
  readonly secret: SecretRef;
  readonly tls?: TlsFiles;
  /** The file's `name` (default: the topology's). */
  readonly name?: string;
}

/**
 * The file for a topology built in code: every host with the address and port it declares, or
 * else loopback and the next port from `basePort`, and the actors the builder places on it.
 * The result is checked as any file is; a problem throws TopologyFileError.
 */
export function exportTopologyFile(builders: BuilderRegistry, opts: ExportOptions): TopologyFile {
  const made = buildTopology(builders, opts.builder, opts.params, 'params');
  if (!made.ok) throw new TopologyFileError(`builder '${opts.builder}'`, made.problems);
  const topology = made.built.topology;
  let nextPort = opts.basePort;
  const hosts: Record<string, HostEntry> = {};
  for (const h of topology.hosts) {
    const port = h.options.port ?? nextPort++;
    hosts[h.name] = {
      address: h.options.address ?? opts.address ?? '127.0.0.1',
      port,
      ...(h.options.role !== undefined ? { role: h.options.role } : {}),
      actors: topology.actors.filter((a) => a.host === h.name).map((a) => a.path),
    };
  }
  const file: TopologyFile = {
    name: opts.name ?? topology.name,
    builder: { name: opts.builder, params: made.params },
    transport: opts.transport,
    secret: opts.secret,
    ...(opts.tls ? { tls: opts.tls } : {}),
    hosts,
  };
  const check = checkTopologyFile(file, builders);
  if (!check.ok) throw new TopologyFileError(`exported file for builder '${opts.builder}'`, check.problems);
  return file;
}

/** The file as written to disk: two-space JSON and a final newline. */
export function formatTopologyFile(file: TopologyFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}
