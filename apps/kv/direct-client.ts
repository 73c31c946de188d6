// A kv client that sends each request to one server and waits for its reply: the client of
// the unreplicated baseline (the server) and of Multi-Paxos (the leader). It has the same API
// as the NOPaxos client (Invoke / InvokeResult, a closed-loop workload, histories): only how a
// request travels differs. A request without a reply is resent, with the same number, after
// REQUEST_TIMEOUT_MS; the server's client table answers a retry without executing it twice.
import { Type, type TSchema } from '@sinclair/typebox';
import { assertNever, behavior, type ActorRef, type Behavior, type Ctx } from '../../actors/index.ts';
import {
  complete, createDriver, enqueue, invokeResult, isDone, startNext,
  type ClientStart, type DriverConfig, type DriverState, type Invoke, type Outstanding, type ThinkTimeout,
} from './driver.ts';
import { KvOpSchema, KvResultSchema, type KvOp, type KvResult } from './kv.ts';

export const REQUEST_TIMEOUT_MS = 100;

export interface Request {
  readonly type: 'Request';
  readonly op: KvOp;
  readonly clientId: string;
  readonly clientReqId: number;
  readonly client: ActorRef<Reply>;
}

export interface Reply {
  readonly type: 'Reply';
  readonly clientReqId: number;
  readonly result: KvResult;
}

export interface RequestTimeout { readonly type: 'RequestTimeout' }

export type DirectClientMsg = ClientStart | Invoke | ThinkTimeout | Reply | RequestTimeout;

export interface DirectClientConfig extends DriverConfig {
  /** Where requests go. */
  readonly server: ActorRef<Request>;
  readonly requestTimeoutMs?: number;
}

export interface DirectClientState {
  readonly d: DriverState;
}

const RefSchema = Type.Object({ host: Type.String({ minLength: 1 }), path: Type.String({ minLength: 1 }) });

export const RequestSchema = Type.Object({
  type: Type.Literal('Request'), op: KvOpSchema, clientId: Type.String({ minLength: 1, maxLength: 256 }),
  clientReqId: Type.Integer({ minimum: 1 }), client: RefSchema,
});

export const directSchemas: Record<string, TSchema> = {
  Request: RequestSchema,
  Reply: Type.Object({ type: Type.Literal('Reply'), clientReqId: Type.Integer({ minimum: 0 }), result: KvResultSchema }),
};

type C = Ctx<DirectClientMsg>;

export function directClient(cfg: DirectClientConfig): Behavior<DirectClientState, DirectClientMsg> {
  const timeoutMs = cfg.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const send = (s: DirectClientState, cur: Outstanding, ctx: C): void => {
    cur.sends++;
    ctx.send(cfg.server, { type: 'Request', op: cur.op, clientId: s.d.clientId, clientReqId: cur.reqId, client: ctx.self });
    ctx.startTimer('request', timeoutMs, { type: 'RequestTimeout' });
  };
  const next = (s: DirectClientState, ctx: C): void => {
    const cur = startNext(s.d, cfg, ctx);
    if (cur !== undefined) send(s, cur, ctx);
  };
  return behavior<DirectClientState, DirectClientMsg>({
    init: (ctx) => {
      ctx.startTimer('start', cfg.startDelayMs ?? 0, { type: 'ClientStart' });
      return { d: createDriver(ctx) };
    },
    receive: (s, msg, ctx) => {
      switch (msg.type) {
        case 'ClientStart':
        case 'ThinkTimeout':
          next(s, ctx);
          return s;
        case 'Invoke':
          if (!enqueue(s.d, msg)) ctx.log.warn('invoke queue full: dropped');
          next(s, ctx);
          return s;
        case 'Reply': {
          const cur = s.d.current;
          if (cur === undefined || msg.clientReqId !== cur.reqId) return s;
          ctx.cancelTimer('request');
          const now = ctx.now();
          const done = complete(s.d, cfg, msg.result, now);
          if (done.replyTo) ctx.send(done.replyTo, invokeResult(done, msg.result, now));
          if (cfg.thinkMs && !isDone(s.d, cfg)) ctx.startTimer('think', cfg.thinkMs, { type: 'ThinkTimeout' });
          else next(s, ctx);
          return s;
        }
        case 'RequestTimeout': {
          const cur = s.d.current;
          if (cur === undefined) return s;
          s.d.retries++;
          send(s, cur, ctx);
          return s;
        }
        default:
          return assertNever(msg);
      }
    },
  });
}
