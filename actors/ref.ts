// Actor references. A ref is plain data, `{host, path}`, so it can travel inside messages to
// other hosts; its message type is a phantom that makes refs sound: an ActorRef<A> is not
// assignable to an ActorRef<B> unless every B is an A (refs are contravariant in what they
// accept, like function parameters).
import type { Address, Msg } from '../transport/types.ts';

export type { Address, Msg };

declare const accepts: unique symbol;

export interface ActorRef<in M extends Msg> extends Address {
  /** Phantom: never present at run time; carries the message type for the type checker. */
  readonly [accepts]?: (msg: M) => void;
}

/** A ref whose message type is unknown: every ActorRef<M> is assignable to it. */
export type AnyRef = ActorRef<never>;

/** The ref of the actor at `path` on `host`. */
export function ref<M extends Msg>(host: string, path: string): ActorRef<M> {
  checkName('host', host);
  checkPath(path);
  return { host, path };
}

export function sameRef(a: Address | undefined, b: Address | undefined): boolean {
  return a !== undefined && b !== undefined && a.host === b.host && a.path === b.path;
}

export function refKey(a: Address): string {
  return `${a.host}:${a.path}`;
}

export function formatRef(a: Address | undefined): string {
  return a ? `${a.host}/${a.path}` : '(outside)';
}

const NAME = /^[A-Za-z0-9_.@$-]+$/;

export function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Error(`bad ${what} name '${name}': use letters, digits and _.@$-`);
  }
}

export function checkPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new Error('an actor path may not be empty');
  for (const part of path.split('/')) checkName('actor path segment', part);
}
