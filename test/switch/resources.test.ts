// The resource check refuses a program that does not fit the target before it is loaded, and
// names every overuse: stages, tables per stage, SRAM, TCAM, register memory and stateful ALUs,
// with the stage and the objects that use each resource. The programs we ship fit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Topology } from '../../actors/index.ts';
import {
  checkResources, defineProgram, formatResourceReport, l2Forwarding, l3Forwarding, oumSequencer, placeSwitch, profile, register,
  ResourceError, stage, table, TOFINO_LIKE, type StageDef, type SwitchProgram, type TableDecl,
} from '../../switch-model/index.ts';
import { bothModes, world } from './helpers.ts';

type H = { k: number };

/** An exact table whose key is `keyBits` wide (in fields of up to 48 bits). */
function exactTable(name: string, size: number, keyBits = 32): TableDecl<H> {
  const keys = [];
  for (let left = keyBits, i = 0; left > 0; left -= 48, i++) keys.push({ name: `k${i}`, bits: Math.min(48, left), get: (h: H) => h.k });
  return table<H>({ name, match: 'exact', size, keys, actions: { nop: { run: () => {} } } });
}

function prog(ingress: StageDef<H>[], egress: StageDef<H>[] = []) {
  return defineProgram<H>({ name: 'big', parse: () => ({ k: 0 }), deparse: (p) => p.msg, ingress, egress });
}

describe('resource check', () => {
  it('lists every overuse, naming the stage, the resource and what uses it', () => {
    const regs = [1, 2, 3, 4, 5].map((i) => register(`r${i}`, 32, 1024));
    const p = prog([
      // 13 stages: one too many.
      stage('huge', { tables: [exactTable('hosts', 3_000_000)] }, () => {}),
      stage('acl', { tables: [table<H>({ name: 'acl', match: 'ternary', size: 20_000, keys: [{ name: 'k', bits: 48, get: (h) => h.k }], actions: { nop: { run: () => {} } } })] }, () => {}),
      stage('alus', { registers: regs }, () => {}),
      stage('many', { tables: Array.from({ length: 17 }, (_, i) => exactTable(`t${i}`, 16)) }, () => {}),
      stage('stateful', { registers: [register('sketch', 64, 1_000_000)] }, () => {}),
      ...Array.from({ length: 8 }, (_, i) => stage<H>(`filler${i}`, {}, () => {})),
    ]);
    const report = checkResources(p);
    assert.equal(report.ok, false);
    const text = report.overuses.join('\n');
    assert.match(text, /ingress has 13 stages; tofino-like has 12 \(ingress stages 'filler7' do not fit\)/);
    assert.match(text, /stage 0 \(ingress 'huge'\): SRAM \d+ blocks > 80 \(table 'hosts' \d+\)/);
    assert.match(text, /stage 1 \(ingress 'acl'\): TCAM 80 blocks > 24 \(table 'acl' 80\)/);
    assert.match(text, /stage 2 \(ingress 'alus'\): 5 register arrays need 5 stateful ALUs > 4 \(register 'r1' 1, .*register 'r5' 1\)/);
    assert.match(text, /stage 3 \(ingress 'many'\): 17 tables > 16 logical tables per stage/);
    assert.match(text, /stage 4 \(ingress 'stateful'\): register memory 489 blocks > 48 \(register 'sketch' 489\)/);
    assert.match(text, /stage 4 \(ingress 'stateful'\): SRAM 489 blocks > 80/);
    assert.equal(report.overuses.length, 7);
    assert.match(formatResourceReport(report), /OVER: stage 1 \(ingress 'acl'\): TCAM/);
  });

  it('ingress stage k and egress stage k share one physical stage', () => {
    const half = (name: string) => exactTable(name, 40 * 1024, 96); // 40 blocks each: together 80, at the limit
    const fits = prog([stage('i0', { tables: [half('a')] }, () => {})], [stage('e0', { tables: [half('b')] }, () => {})]);
    assert.equal(checkResources(fits).ok, true, formatResourceReport(checkResources(fits)));
    const over = prog([stage('i0', { tables: [half('a'), exactTable('c', 1024, 96)] }, () => {})], [stage('e0', { tables: [half('b')] }, () => {})]);
    assert.match(checkResources(over).overuses.join('\n'), /stage 0 \(ingress 'i0' \+ egress 'e0'\): SRAM 81 blocks > 80 \(table 'a' 40, table 'c' 1, table 'b' 40\)/);
  });

  it('placing a program that does not fit throws a ResourceError with the full list, in both modes', async () => {
    const p = prog([stage('alus', { registers: [1, 2, 3, 4, 5].map((i) => register(`r${i}`, 8, 1)) }, () => {})]);
    const messages = await bothModes((mode) => {
      const t = new Topology('t');
      t.host('sw');
      try {
        placeSwitch(t, 'sw', { program: p, mode, ports: [] });
        return 'placed';
      } catch (err) {
        assert.ok(err instanceof ResourceError);
        assert.equal(err.report.overuses.length, 1);
        return err.message;
      }
    });
    assert.match(messages, /switch program 'big' does not fit tofino-like:\n {2}- stage 0 \(ingress 'alus'\): 5 register arrays need 5 stateful ALUs > 4/);
  });

  it('a smaller target refuses what the default one takes', () => {
    const small = profile({ name: 'small', stages: 1, tcamBlocksPerStage: 8 });
    const l3 = l3Forwarding();
    assert.equal(checkResources(l3).ok, true);
    assert.match(checkResources(l3, small).overuses.join('\n'), /stage 0 \(ingress 'route'\): TCAM 16 blocks > 8 \(table 'ipv4_lpm' 16\)/);
    assert.match(checkResources(oumSequencer(), small).overuses.join('\n'), /ingress has 3 stages; small has 1/);
  });

  it('the shipped programs fit the Tofino-like target', async () => {
    for (const p of [l2Forwarding(), l3Forwarding(), oumSequencer()] as SwitchProgram<unknown>[]) {
      const r = checkResources(p, TOFINO_LIKE);
      assert.ok(r.ok, formatResourceReport(r));
    }
    // And a rack actually loads them.
    await bothModes((mode) => world({ hosts: 3, program: oumSequencer(), mode }).rack.switch.resources);
  });
});
