// Messages of the ping-pong protocol: the smallest topology that exercises every part of the
// runtime (two hosts, a network between them, timers, retries, a result to report).
import { Type } from '@sinclair/typebox';
import type { ActorRef } from '../../actors/index.ts';

export interface Ping {
  readonly type: 'Ping';
  readonly seq: number;
  readonly replyTo: ActorRef<Pong>;
}

export interface Pong {
  readonly type: 'Pong';
  readonly seq: number;
}

/** The pinger's own timer: resend pings that got no pong (the network may lose them). */
export interface RetryTimeout {
  readonly type: 'RetryTimeout';
}

export interface Start {
  readonly type: 'Start';
}

export type PingerMsg = Pong | RetryTimeout | Start;
export type PongerMsg = Ping;

const RefSchema = Type.Object({ host: Type.String({ minLength: 1 }), path: Type.String({ minLength: 1 }) });

/** Schemas of the messages that cross hosts. */
export const schemas = {
  Ping: Type.Object({ type: Type.Literal('Ping'), seq: Type.Integer({ minimum: 0 }), replyTo: RefSchema }),
  Pong: Type.Object({ type: Type.Literal('Pong'), seq: Type.Integer({ minimum: 0 }) }),
};
