// What the dashboard's browser tests share: Debian's chromium driven by playwright-core, and the
// `switchboard` process that serves the page.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { BIN } from '../../cli/launcher.ts';

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = 'test-artifacts/dashboard';
export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium's own connections are refused on a closed network, and slow it down. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Start `switchboard ...args` and resolve with the dashboard URL it prints. */
export function startDashboard(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no URL within 20 s; output: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d);
      const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.resume();
    child.on('exit', (code) => reject(new Error(`exited with ${code} before printing a URL: ${out}`)));
  });
}

/** Stop a child with SIGINT, as Ctrl-C does; resolves with its exit code. */
export function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', (code) => { clearTimeout(kill); resolve(code); });
    child.kill('SIGINT');
  });
}

export async function launchChromium(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-test-tools.sh as root (npm test does), or apt-get install chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

