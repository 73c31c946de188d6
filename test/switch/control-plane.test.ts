// What crosses hosts is checked against a schema before any actor sees it (DESIGN.md principle
// 5): the control plane's requests and replies (64-bit register values as bigints included)
// and frames validate, and malformed ones are refused with a reason.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaRegistry } from '../../transport/schemas.ts';
import { TypedCodec } from '../../transport/codec.ts';
import { controlSchemas, emptyStats, frameSchemas } from '../../switch-model/index.ts';

const registry = new SchemaRegistry(true).addAll({ ...controlSchemas, ...frameSchemas });
const replyTo = { host: 'ctl', path: 'controller' };

describe('control-plane and frame schemas', () => {
  it('accept well-formed requests, replies and frames, and survive the codec', () => {
    const codec = new TypedCodec();
    for (const msg of [
      { type: 'TableInsert', table: 'acl', match: [1, { value: 2, mask: 3 }, { value: 4, prefixLen: 8 }], action: 'permit', params: { port: 1 }, priority: 5, replyTo, id: 7 },
      { type: 'TableDelete', table: 'acl', match: [1], replyTo },
      { type: 'RegisterWrite', register: 'counters', index: 0, value: 2n ** 63n, replyTo },
      { type: 'RegisterWrite', register: 'session', index: 0, value: 3, replyTo },
      { type: 'MulticastGroupSet', group: 1, ports: [0, 1, 2], replyTo },
      { type: 'StatsRead', replyTo },
      { type: 'PacketOut', msg: { type: 'Frame', ethSrc: 1, ethDst: 2, sizeBytes: 64, payload: { type: 'X' } } },
      { type: 'ControlReply', ok: true, value: 2n ** 64n - 1n, id: 1 },
      { type: 'ControlReply', ok: true, stats: emptyStats(2) },
      { type: 'ControlReply', ok: false, error: 'no table' },
      { type: 'Frame', ethSrc: 0x020000000001, ethDst: 0xffffffffffff, ipDst: 167772161, ttl: 64, sizeBytes: 100, payload: { type: 'Data', n: 1 } },
    ]) {
      assert.equal(registry.check(msg), null, JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
      assert.deepEqual(codec.decode(codec.encode(msg)), msg);
    }
  });

  it('refuse malformed ones with a reason', () => {
    const bad: [unknown, RegExp][] = [
      [{ type: 'TableInsert', table: 'acl', match: [-1], action: 'permit', replyTo }, /TableInsert/],
      [{ type: 'RegisterWrite', register: 'r', index: 0, value: -1n, replyTo }, /RegisterWrite/],
      [{ type: 'RegisterRead', register: 'r', index: 0 }, /replyTo/],
      [{ type: 'MulticastGroupSet', group: 0, ports: [1], replyTo }, /group/],
      [{ type: 'Frame', ethSrc: 1, ethDst: 2, sizeBytes: 0, payload: { type: 'X' } }, /sizeBytes/],
      [{ type: 'Frame', ethSrc: 1, ethDst: 2, sizeBytes: 10, payload: 'x' }, /payload/],
    ];
    for (const [msg, reason] of bad) assert.match(registry.check(msg as { type: string }) ?? 'accepted', reason);
  });
});
