// The waiting messages of one actor, shared by the sim and real-time mailboxes: a FIFO with
// an optional bound and overflow policy, counting drops and the deepest it has been.
import type { MailboxOptions } from './behavior.ts';
import type { ActorMetrics } from './metrics.ts';
import { countActorDrop } from './metrics.ts';
import type { Address, Msg } from './ref.ts';

export class MessageQueue {
  private msgs: Msg[] = [];
  private froms: (Address | undefined)[] = [];
  private head = 0;
  /** The sender of the message `shift()` returned last. */
  from: Address | undefined;

  constructor(private readonly limit: MailboxOptions | undefined, private readonly metrics: ActorMetrics) {}

  get length(): number {
    return this.msgs.length - this.head;
  }

  /** Enqueue, applying the bound: false when the message itself was dropped. */
  push(msg: Msg, from: Address | undefined): boolean {
    const limit = this.limit;
    if (limit && this.length >= limit.capacity) {
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
    if (this.head === this.msgs.length) return undefined;
    const i = this.head++;
    const msg = this.msgs[i]!;
    this.from = this.froms[i];
    this.msgs[i] = undefined as unknown as Msg;
    this.froms[i] = undefined;
    if (this.head === this.msgs.length) this.clear();
    return msg;
  }

  /** Empty the queue; returns how many messages it held. */
  clear(): number {
    const n = this.length;
    this.msgs = [];
    this.froms = [];
    this.head = 0;
    return n;
  }

  private drop(): void {
    this.msgs[this.head] = undefined as unknown as Msg;
    this.froms[this.head] = undefined;
    this.head++;
  }
}
