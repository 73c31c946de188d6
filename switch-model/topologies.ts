// Topology builders: a rack (one top-of-rack switch with N hosts) and a leaf-spine fabric for
// multi-rack experiments. They declare hosts, links and the switches' actors on an ordinary
// Topology (actors/topology.ts); the caller places its own actors on the hosts, at the peer
// refs the builder names (by default `<host>/nic`), and they run in every mode.
import { Topology, type ActorRef, type AnyRef, type Msg } from '../actors/index.ts';
import type { LinkOptions } from '../transport/memory/sim-network.ts';
import type { SwitchSetup } from './control.ts';
import { controlSchemas, frameSchemas, type PacketIn } from './messages.ts';
import { ipv4, l3Forwarding, l3Setup, type Route } from './programs/l3-forwarding.ts';
import type { TargetProfile } from './profile.ts';
import type { SwitchProgram } from './program.ts';
import { addressPath, placeSwitch, portPath, type SwitchMode, type SwitchRefs } from './switch.ts';

/** Add the switch model's message schemas to a topology (once). */
export function addSwitchSchemas(t: Topology): void {
  for (const [type, schema] of Object.entries({ ...frameSchemas, ...controlSchemas })) {
    if (!t.schemas.has(type)) t.messages({ [type]: schema });
  }
}

export interface AttachedHost {
  readonly name: string;
  /** Its port on its switch. */
  readonly port: number;
  /** Locally administered MAC and an IPv4 address, for frames. */
  readonly mac: number;
  readonly ip: number;
  /** Its actor that the switch delivers to. */
  readonly peer: AnyRef;
  /** Where it sends messages into the switch. */
  readonly ingress: ActorRef<Msg>;
}

export interface RackOptions<H> {
  /** Add to this topology (default: a new one named `name`, default 'rack'). */
  readonly topology?: Topology;
  readonly name?: string;
  /** How many hosts (named h0, h1, ...), or their names. Host i is on port i. */
  readonly hosts: number | readonly string[];
  readonly program: SwitchProgram<H>;
  readonly mode?: SwitchMode;
  readonly profile?: TargetProfile;
  /** The switch's host. Default 'tor'. */
  readonly switchHost?: string;
  /** The switch's actor path prefix. Default 'switch'. */
  readonly switchName?: string;
  /** Each attached host's role (HostOptions.role). Default 'host'. */
  readonly role?: (host: string) => string;
  /** The actor on each host attached to its port. Default `{host, path: 'nic'}`. */
  readonly peer?: (host: string, port: number) => AnyRef;
  /** Host-switch links in sim (default: the network's defaults). */
  readonly link?: LinkOptions;
  /** Table entries and groups at start, or a function of the attached hosts that makes them. */
  readonly setup?: SwitchSetup | ((hosts: readonly AttachedHost[]) => SwitchSetup);
  readonly packetIn?: ActorRef<PacketIn>;
}

export interface Rack {
  readonly topology: Topology;
  readonly switchHost: string;
  readonly switch: SwitchRefs;
  readonly hosts: readonly AttachedHost[];
  host(name: string): AttachedHost;
}

export function hostMac(rack: number, index: number): number {
  return 0x020000000000 + rack * 256 + index + 1;
}

function lookup(hosts: readonly AttachedHost[], name: string): AttachedHost {
  const h = hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host '${name}' (hosts: ${hosts.map((x) => x.name).join(', ')})`);
  return h;
}

/** One top-of-rack switch on `switchHost` and N hosts, host i attached to port i. */
export function rack<H>(opts: RackOptions<H>): Rack {
  const t = opts.topology ?? new Topology(opts.name ?? 'rack');
  addSwitchSchemas(t);
  const names = typeof opts.hosts === 'number' ? Array.from({ length: opts.hosts }, (_, i) => `h${i}`) : [...opts.hosts];
  const switchHost = t.host(opts.switchHost ?? 'tor', { role: 'switch' });
  const switchName = opts.switchName ?? 'switch';
  const peerOf = opts.peer ?? ((host: string) => ({ host, path: 'nic' }));
  const hosts: AttachedHost[] = names.map((name, port) => {
    t.host(name, { role: opts.role?.(name) ?? 'host' });
    if (opts.link) t.link(name, switchHost, opts.link);
    return { name, port, mac: hostMac(0, port), ip: ipv4(10, 0, 0, port + 1), peer: peerOf(name, port), ingress: { host: switchHost, path: portPath(switchName, port) } };
  });
  const setup = typeof opts.setup === 'function' ? opts.setup(hosts) : opts.setup;
  const sw = placeSwitch(t, switchHost, {
    name: switchName, program: opts.program, mode: opts.mode, profile: opts.profile, ports: hosts.map((h) => h.peer), setup, packetIn: opts.packetIn,
  });
  return { topology: t, switchHost, switch: sw, hosts, host: (name) => lookup(hosts, name) };
}

export interface LeafSpineOptions {
  readonly topology?: Topology;
  readonly name?: string;
  readonly leaves: number;
  readonly spines: number;
  readonly hostsPerLeaf: number;
  readonly mode?: SwitchMode;
  readonly profile?: TargetProfile;
  readonly peer?: (host: string, leaf: number, index: number) => AnyRef;
  /** Host-leaf links and leaf-spine links in sim (default: the network's defaults). */
  readonly hostLink?: LinkOptions;
  readonly fabricLink?: LinkOptions;
}

export interface LeafSpineHost extends AttachedHost {
  readonly leaf: number;
}

export interface LeafSpine {
  readonly topology: Topology;
  /** Hosts `l<leaf>h<i>`, with IPv4 10.0.<leaf>.<i+1>. */
  readonly hosts: readonly LeafSpineHost[];
  readonly leaves: readonly SwitchRefs[];
  readonly spines: readonly SwitchRefs[];
  host(name: string): LeafSpineHost;
  /** The spine that traffic from leaf `from` to leaf `to` crosses. */
  spineFor(from: number, to: number): number;
}

/**
 * A two-tier Clos fabric running L3 forwarding: every leaf connects to every spine. A leaf
 * routes its own hosts by /32 and each other leaf's /24 over one spine, chosen statically as
 * (from + to) mod spines, so different leaf pairs spread over the spines; a spine routes each
 * leaf's /24 down to it. Leaf ports 0..hostsPerLeaf-1 go to hosts, then one port per spine;
 * spine port l goes to leaf l. Switches send to each other's address (a switch host is attached
 * to one port of the other: the port is the sender's).
 */
export function leafSpine(opts: LeafSpineOptions): LeafSpine {
  const { leaves, spines, hostsPerLeaf } = opts;
  if (!(leaves >= 1 && leaves <= 255 && spines >= 1 && hostsPerLeaf >= 1 && hostsPerLeaf <= 254)) {
    throw new RangeError('leafSpine: 1..255 leaves, at least 1 spine, 1..254 hosts per leaf');
  }
  const t = opts.topology ?? new Topology(opts.name ?? 'leaf-spine');
  addSwitchSchemas(t);
  const name = 'switch';
  const leafHost = (l: number): string => `leaf${l}`;
  const spineHost = (s: number): string => `spine${s}`;
  const leafMac = (l: number): number => 0x020000010000 + l;
  const spineMac = (s: number): number => 0x020000020000 + s;
  const spineFor = (from: number, to: number): number => (from + to) % spines;
  const address = addressPath(name, opts.mode ?? 'staged');
  const peerOf = opts.peer ?? ((host: string) => ({ host, path: 'nic' }));
  const program = l3Forwarding();

  for (let l = 0; l < leaves; l++) t.host(leafHost(l), { role: 'switch' });
  for (let s = 0; s < spines; s++) t.host(spineHost(s), { role: 'switch' });
  const hosts: LeafSpineHost[] = [];
  for (let l = 0; l < leaves; l++) {
    for (let i = 0; i < hostsPerLeaf; i++) {
      const hn = t.host(`l${l}h${i}`, { role: 'host' });
      if (opts.hostLink) t.link(hn, leafHost(l), opts.hostLink);
      hosts.push({ name: hn, leaf: l, port: i, mac: hostMac(l, i), ip: ipv4(10, 0, l, i + 1), peer: peerOf(hn, l, i), ingress: { host: leafHost(l), path: portPath(name, i) } });
    }
  }
  if (opts.fabricLink) for (let l = 0; l < leaves; l++) for (let s = 0; s < spines; s++) t.link(leafHost(l), spineHost(s), opts.fabricLink);

  const leafRefs: SwitchRefs[] = [];
  for (let l = 0; l < leaves; l++) {
    const mine = hosts.filter((h) => h.leaf === l);
    const routes: Route[] = mine.map((h) => ({ prefix: h.ip, prefixLen: 32, port: h.port, dmac: h.mac, smac: leafMac(l) }));
    for (let m = 0; m < leaves; m++) {
      if (m === l) continue;
      const s = spineFor(l, m);
      routes.push({ prefix: ipv4(10, 0, m, 0), prefixLen: 24, port: hostsPerLeaf + s, dmac: spineMac(s), smac: leafMac(l) });
    }
    const ports: AnyRef[] = [...mine.map((h) => h.peer)];
    for (let s = 0; s < spines; s++) ports.push({ host: spineHost(s), path: address });
    leafRefs.push(placeSwitch(t, leafHost(l), { name, program, mode: opts.mode, profile: opts.profile, ports, setup: l3Setup(routes) }));
  }
  const spineRefs: SwitchRefs[] = [];
  for (let s = 0; s < spines; s++) {
    const routes: Route[] = [];
    const ports: AnyRef[] = [];
    for (let l = 0; l < leaves; l++) {
      routes.push({ prefix: ipv4(10, 0, l, 0), prefixLen: 24, port: l, dmac: leafMac(l), smac: spineMac(s) });
      ports.push({ host: leafHost(l), path: address });
    }
    spineRefs.push(placeSwitch(t, spineHost(s), { name, program, mode: opts.mode, profile: opts.profile, ports, setup: l3Setup(routes) }));
  }
  return { topology: t, hosts, leaves: leafRefs, spines: spineRefs, host: (n) => lookup(hosts, n) as LeafSpineHost, spineFor };
}
