// `switchboard launch --dashboard` in headless Chromium: the ping-pong topology file as two
// processes on loopback (the smallest cluster: this test is about the page, not the protocol);
// the page shows both hosts up and the pings answered moving; the ponger killed from the page
// shows as crashed, started again from the page it shows up again and the pings go on.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { freshSecret } from '../../bench/children.ts';
import { SECRET_ENV, startLaunch, topologyFile, type Launch, type WrittenFile } from '../distributed/files.ts';
import { ARTIFACTS, launchChromium } from './chromium.ts';

describe('launch --dashboard in a browser', { timeout: 60_000 }, () => {
  let written: WrittenFile;
  let launch: Launch;
  let browser: Browser;
  let page: Page;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    written = await topologyFile('pingpong', 'ws', { count: 100_000_000, window: 16 });
    launch = startLaunch(['--topology', written.path, '--dashboard', '--port', '0', '--status-every', '0'], { [SECRET_ENV]: freshSecret() });
    const [, url] = await launch.waitErr(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/, 20_000);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    await page.goto(url!);
  });

  after(async () => {
    await browser?.close();
    if (launch && launch.proc.exitCode === null) {
      launch.proc.kill('SIGINT');
      await launch.exit(15_000);
    }
    if (written) rmSync(written.dir, { recursive: true, force: true });
  });

  it('shows every host up, and completions moving', async () => {
    const hosts = Object.keys(written.file.hosts);
    for (const h of hosts) {
      await page.locator(`tr[data-process="${h}"] .b-up`).waitFor({ timeout: 25_000 });
    }
    const read = async (): Promise<number> => Number((await page.locator('[data-k=completed]').first().textContent())!.replace(/[^0-9]/g, ''));
    const before = await read();
    await page.waitForFunction((n) => Number(document.querySelector('[data-k=completed]')!.textContent!.replace(/[^0-9]/g, '')) > n, before, { timeout: 10_000 });
    await page.screenshot({ path: `${ARTIFACTS}/5-launch.png`, fullPage: true });
  });

  it('kills the ponger from the page and starts it again', async () => {
    await page.selectOption('select.host-select', 'b');
    await page.click('button[data-action="crash"]');
    await page.locator('tr[data-process="b"] .b-crashed').waitFor({ timeout: 10_000 });
    await page.locator('#events li', { hasText: 'b: up -> crashed' }).waitFor({ timeout: 5000 });
    await page.click('button[data-action="restart"]');
    await page.locator('tr[data-process="b"] .b-up').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('tr[data-process="b"] [data-k=restarts]').textContent(), '1');
    const answered = Number((await page.locator('[data-k=completed]').first().textContent())!.replace(/[^0-9]/g, ''));
    await page.waitForFunction((n) => Number(document.querySelector('[data-k=completed]')!.textContent!.replace(/[^0-9]/g, '')) > n, answered, { timeout: 15_000 });
    await page.screenshot({ path: `${ARTIFACTS}/6-launch-restarted.png`, fullPage: true });
  });
});
