// How a topology is described to the page: its hosts with their roles and the actors on each.
import type { Topology } from '../../actors/index.ts';
import type { SystemView } from '../protocol.ts';

export function viewOf(t: Topology, rest: Omit<SystemView, 'hosts' | 'actors'>): SystemView {
  const actors: Record<string, string[]> = {};
  for (const a of t.actors) (actors[a.host] ??= []).push(a.path);
  return { ...rest, hosts: t.hosts.map((h) => ({ name: h.name, role: h.options.role ?? 'host' })), actors };
}
