// The dashboard end to end, in headless Chromium (Debian's, driven by playwright-core; `npm test`
// installs it first with scripts/ensure-test-tools.sh): `switchboard demo --dashboard` as a child
// process, the page loads and shows every host, the metrics move, faults clicked on the page
// show in the metrics (the sequencer fails over to a new session; the NOPaxos leader crashes and
// a new view starts; a Pegasus server crashes and is failed over), and the clients' work goes
// on. Screenshots go to test-artifacts/dashboard/.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { nopaxosSystem } from '../../dashboard/systems/nopaxos.ts';
import { pegasusSystem } from '../../dashboard/systems/pegasus.ts';
import { ARTIFACTS, launchChromium, startDashboard, stopChild } from './chromium.ts';

/** The number shown in the element, or NaN. */
async function numberAt(page: Page, selector: string): Promise<number> {
  const text = await page.locator(selector).first().textContent({ timeout: 5000 });
  return Number((text ?? '').replace(/[^0-9.-]/g, ''));
}

/** Wait until the number in `selector` satisfies `ok` (checked as samples arrive). */
async function waitNumber(page: Page, selector: string, ok: (n: number) => boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const n = await numberAt(page, selector);
    if (ok(n)) return n;
    if (Date.now() - t0 > timeoutMs) assert.fail(`${selector} stayed at ${n} for ${timeoutMs} ms`);
    await page.waitForTimeout(200);
  }
}

describe('dashboard in a browser (demo --dashboard)', { timeout: 60_000 }, () => {
  let browser: Browser;
  let child: ChildProcess;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const started = await startDashboard(['demo', '--dashboard', '--port', '0', '--seed', '3']);
    child = started.child;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(started.url);
  });

  after(async () => {
    await browser?.close();
    if (child) assert.equal(await stopChild(child), 0, 'Ctrl-C stops the dashboard cleanly');
  });

  it('shows every host of both systems', async () => {
    for (const sys of [nopaxosSystem({ seed: 1 }), pegasusSystem({ seed: 1 })]) {
      const id = sys.view.id;
      await page.locator(`#sys-${id} [data-k=completed]`).waitFor({ timeout: 10_000 });
      for (const h of sys.view.hosts) {
        assert.equal(await page.locator(`#sys-${id} svg.topology [data-host="${h.name}"]`).count(), 1, `${id}: host ${h.name}`);
      }
      assert.equal(await page.locator(`#sys-${id} svg.topology [data-up="true"]`).count(), sys.view.hosts.length);
    }
    await page.waitForTimeout(1500);
    await page.screenshot({ path: `${ARTIFACTS}/1-loaded.png`, fullPage: true });
  });

  it('the metrics move', async () => {
    const sel = (id: string): string => `#sys-${id} [data-k=completed]`;
    const first = [await numberAt(page, sel('nopaxos')), await numberAt(page, sel('pegasus'))];
    await page.waitForTimeout(1200);
    const second = [await numberAt(page, sel('nopaxos')), await numberAt(page, sel('pegasus'))];
    assert.ok(second[0]! > first[0]!, `NOPaxos completed ${first[0]} -> ${second[0]}`);
    assert.ok(second[1]! > first[1]!, `Pegasus completed ${first[1]} -> ${second[1]}`);
    assert.notEqual(await page.locator('#sys-nopaxos [data-k=runtime]').textContent(), '0.0 s');
  });

  it('failing the sequencer from the page starts a new session, and the clients go on', async () => {
    const np = '#sys-nopaxos';
    const session = await numberAt(page, `${np} [data-k=group-session]`);
    await page.click(`${np} button[data-action="fail-sequencer"]`);
    await page.locator(`${np} .feedback.good`).waitFor({ timeout: 5000 });
    await page.locator(`${np} svg.topology [data-host="seq0"][data-up="false"]`).waitFor({ timeout: 5000 });
    await waitNumber(page, `${np} [data-k=group-session]`, (n) => n > session, 5000);
    await page.locator('#events li', { hasText: 'failover' }).first().waitFor({ timeout: 5000 });
    const done = await numberAt(page, `${np} [data-k=completed]`);
    await waitNumber(page, `${np} [data-k=completed]`, (n) => n > done + 100, 5000);
    await page.screenshot({ path: `${ARTIFACTS}/2-sequencer-failed.png`, fullPage: true });
  });

  it('crashing the NOPaxos leader from the page starts a new view, and throughput resumes', async () => {
    const np = '#sys-nopaxos';
    const view = await numberAt(page, `${np} [data-k=group-view]`);
    await page.selectOption(`${np} select.host-select`, 'r0');
    await page.click(`${np} button[data-action="crash"]`);
    await page.locator(`${np} svg.topology [data-host="r0"][data-up="false"]`).waitFor({ timeout: 5000 });
    await page.locator(`${np} tr[data-replica="r0"] .b-down`).waitFor({ timeout: 5000 });
    // Followers suspect the leader after 2 s without its sync (the reference's timeout), then change view.
    await waitNumber(page, `${np} [data-k=group-view]`, (n) => n > view, 12_000);
    const done = await numberAt(page, `${np} [data-k=completed]`);
    await waitNumber(page, `${np} [data-k=completed]`, (n) => n > done + 100, 6000);
    await waitNumber(page, `${np} [data-k=ops]`, (n) => n > 0, 3000);
    await page.screenshot({ path: `${ARTIFACTS}/3-leader-crashed-recovered.png`, fullPage: true });
  });

  it('crashing a Pegasus server from the page shows it down and failed over, and the clients go on', async () => {
    const pg = '#sys-pegasus';
    await page.selectOption(`${pg} select.host-select`, 'r0s1');
    await page.click(`${pg} button[data-action="crash"]`);
    await page.locator(`${pg} tr[data-server="r0s1"] .b-down`).waitFor({ timeout: 5000 });
    await waitNumber(page, `${pg} [data-k=failovers]`, (n) => n >= 1, 5000);
    const done = await numberAt(page, `${pg} [data-k=completed]`);
    await waitNumber(page, `${pg} [data-k=completed]`, (n) => n > done + 500, 5000);
    // A control the system refuses comes back as an error on the page and changes nothing.
    await page.click(`${pg} button[data-action="crash"]`);
    await page.locator(`${pg} .feedback.bad`, { hasText: 'down already' }).waitFor({ timeout: 5000 });
    await page.screenshot({ path: `${ARTIFACTS}/4-server-crashed.png`, fullPage: true });
  });

  it('raised no error in the page', () => {
    assert.deepEqual(errors, []);
  });
});
