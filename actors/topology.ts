// A topology says which hosts exist, which actors live on each, and what the links between
// hosts are like. It says nothing about how it runs: the same topology runs in sim, local and
// distributed mode.
import type { Behavior } from './behavior.ts';
import type { ActorRef, Msg } from './ref.ts';
import { checkName, checkPath } from './ref.ts';
import type { LinkOptions } from '../transport/memory/sim-network.ts';
import { SchemaRegistry } from '../transport/schemas.ts';
import type { TSchema } from '@sinclair/typebox';

export interface HostOptions {
  /** Where the host listens in distributed mode. */
  readonly address?: string;
  readonly port?: number;
  /** Free-form role, for status displays ('switch', 'replica', 'client', ...). */
  readonly role?: string;
}

export interface HostSpec {
  readonly name: string;
  readonly options: HostOptions;
}

export interface ActorSpec {
  readonly host: string;
  readonly path: string;
  readonly behavior: Behavior<unknown, Msg>;
}

export interface LinkSpec {
  readonly a: string;
  readonly b: string;
  readonly options: LinkOptions;
}

export class Topology {
  private readonly hostSpecs = new Map<string, HostSpec>();
  private readonly actorSpecs: ActorSpec[] = [];
  private readonly linkSpecs: LinkSpec[] = [];
  /** Schemas of the messages that may cross hosts; checked on every frame from outside. */
  readonly schemas = new SchemaRegistry(true);

  constructor(readonly name: string) {}

  /** Declare a host. Returns its name, to pass to `actor` and `link`. */
  host(name: string, options: HostOptions = {}): string {
    checkName('host', name);
    if (this.hostSpecs.has(name)) throw new Error(`topology '${this.name}': host '${name}' is declared twice`);
    this.hostSpecs.set(name, { name, options });
    return name;
  }

  /** Place an actor on a host. Returns its ref, which other actors can be given at once. */
  actor<S, M extends Msg>(host: string, path: string, behavior: Behavior<S, M>): ActorRef<M> {
    if (!this.hostSpecs.has(host)) throw new Error(`topology '${this.name}': actor '${path}' is placed on unknown host '${host}'`);
    checkPath(path);
    if (this.actorSpecs.some((a) => a.host === host && a.path === path)) {
      throw new Error(`topology '${this.name}': actor '${path}' is placed twice on host '${host}'`);
    }
    this.actorSpecs.push({ host, path, behavior: behavior as unknown as Behavior<unknown, Msg> });
    return { host, path };
  }

  /** Properties of the link between two hosts (sim mode; both directions). */
  link(a: string, b: string, options: LinkOptions): this {
    for (const h of [a, b]) {
      if (!this.hostSpecs.has(h)) throw new Error(`topology '${this.name}': link names unknown host '${h}'`);
    }
    this.linkSpecs.push({ a, b, options });
    return this;
  }

  /** Declare the schemas of message types that cross hosts: `{ Ping: PingSchema, ... }`. */
  messages(schemas: Record<string, TSchema>): this {
    this.schemas.addAll(schemas);
    return this;
  }

  get hosts(): readonly HostSpec[] {
    return [...this.hostSpecs.values()];
  }

  get actors(): readonly ActorSpec[] {
    return this.actorSpecs;
  }

  get links(): readonly LinkSpec[] {
    return this.linkSpecs;
  }

  hostSpec(name: string): HostSpec {
    const h = this.hostSpecs.get(name);
    if (!h) throw new Error(`topology '${this.name}' has no host '${name}' (hosts: ${[...this.hostSpecs.keys()].join(', ')})`);
    return h;
  }
}
