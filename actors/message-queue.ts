// The waiting messages of one actor, shared by the sim and real-time mailboxes: a FIFO with
// an optional bound and overflow policy, counting drops and the deepest it has been; with a
// priority predicate, a second FIFO (the priority lane) that is always emptied first.
import type { MailboxOptions } from './behavior.ts';
import type { Cell } from './cell.ts';
import type { ActorMetrics } from './metrics.ts';
import { countActorDrop } from './metrics.ts';
import type { Address, Msg } from './ref.ts';

export class MessageQueue {
  private msgs: Msg[] = [];
  private froms: (Address | undefined)[] = [];
  private head = 0;
  /** The sender of the message `shift()` returned last. */
  from: Address | undefined;

  /** The priority lane, if the actor has one. */
  private readonly lane: MessageQueue | undefined;

  constructor(
    private readonly limit: MailboxOptions | undefined, private readonly metrics: ActorMetrics, private readonly priority?: (msg: Msg) => boolean,
  ) {
    this.lane = priority ? new MessageQueue(limit, metrics) : undefined;
  }

  get length(): number {
    return this.msgs.length - this.head + (this.lane?.length ?? 0);
  }

  /** Enqueue, applying the bound: false when the message itself was dropped. */
  push(msg: Msg, from: Address | undefined): boolean {
    if (this.lane && this.priority!(msg)) {
      if (!this.lane.push(msg, from)) return false;
      if (this.length > this.metrics.maxQueueDepth) this.metrics.maxQueueDepth = this.length;
      return true;
    }
    const limit = this.limit;
    if (limit && this.msgs.length - this.head >= limit.capacity) {
      countActorDrop(this.metrics, 'mailbox-full');
      if (limit.overflow === 'dropNewest') return false;
      this.drop(); // dropOldest
    }
    this.msgs.push(msg);
    this.froms.push(from);
    if (this.length > this.metrics.maxQueueDepth) this.metrics.maxQueueDepth = this.length;
    return true;
  }

  /** The oldest message (its sender in `from`), or undefined when empty. */
  shift(): Msg | undefined {
    if (this.lane && this.lane.length > 0) {
      const msg = this.lane.shift();
      this.from = this.lane.from;
      return msg;
    }
    if (this.head === this.msgs.length) return undefined;
    const i = this.head++;
    const msg = this.msgs[i]!;
    this.from = this.froms[i];
    this.msgs[i] = undefined as unknown as Msg;
    this.froms[i] = undefined;
    if (this.head === this.msgs.length) this.reset();
    return msg;
  }

  /** Empty the queue; returns how many messages it held. */
  clear(): number {
    const n = this.length;
    this.lane?.clear();
    this.reset();
    return n;
  }

  /** Empty the main FIFO. */
  private reset(): void {
    this.msgs = [];
    this.froms = [];
    this.head = 0;
  }

  private drop(): void {
    this.msgs[this.head] = undefined as unknown as Msg;
    this.froms[this.head] = undefined;
    this.head++;
  }
}

/** The priority predicate of a cell's behaviour, if it has one. */
export function priorityOf(cell: Cell): ((msg: Msg) => boolean) | undefined {
  const b = cell.behavior;
  return b.priority ? (msg) => b.priority!(msg) : undefined;
}
