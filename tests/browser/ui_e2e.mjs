#!/usr/bin/env node
// Drives dragon-core's web UI (/ui/) end to end in Debian's headless Chromium:
// wrong password → error; log in; create a test-pattern process with WebRTC on; see it running;
// play it (frames decoded rise); copy its WHEP URL; an invalid JSON edit shows the API's message;
// the settings page saves; stop and delete the process; log out.
//
//   node tests/browser/ui_e2e.mjs --base http://127.0.0.1:PORT --password PW [--user admin]
//        [--screenshots [DIR]] [--chromium /usr/bin/chromium] [--id ui-e2e]
//
// --screenshots saves each page at desktop (1280x800) and phone (375x812) width into DIR
// (default docs/screenshots). Prints one JSON line: {"ok":true,"steps":[…],…} and exits 0, or
// {"ok":false,"error":"…","step":"…",…} and exits 1. Loopback only; never downloads a browser.

import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function out(obj, code) {
  process.stdout.write(JSON.stringify(obj) + '\n');
  process.exit(code);
}

function parseArgs(argv) {
  const o = { base: process.env.BASE, password: process.env.PASSWORD, user: 'admin', chromium: process.env.CHROMIUM || '/usr/bin/chromium',
              screenshots: null, id: 'ui-e2e' };
  for (let i = 2; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) out({ ok: false, error: `unexpected argument ${argv[i]}` }, 1);
    const key = m[1];
    if (key === 'screenshots') {
      const next = m[2] ?? (argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : null);
      o.screenshots = path.resolve(next || path.join(REPO, 'docs', 'screenshots'));
      continue;
    }
    if (!(key in o)) out({ ok: false, error: `unknown option --${key}` }, 1);
    o[key] = m[2] ?? argv[++i];
  }
  if (!o.base) out({ ok: false, error: 'missing --base' }, 1);
  if (!o.password) out({ ok: false, error: 'missing --password' }, 1);
  return o;
}

function isLoopbackHost(hostname) {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

const opts = parseArgs(process.argv);
const base = new URL(opts.base);
if (!isLoopbackHost(base.hostname)) out({ ok: false, error: `refusing a non-loopback URL: ${base.href}` }, 1);
if (!existsSync(opts.chromium)) out({ ok: false, error: `chromium not found at ${opts.chromium}` }, 1);

let chromium;
try {
  const req = createRequire(path.join(REPO, 'web', 'package.json'));
  ({ chromium } = req('playwright-core'));
} catch (e) {
  out({ ok: false, error: `playwright-core is not installed (cd web && npm ci): ${e.message}` }, 1);
}

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const steps = [];
const consoleLines = [];
const shots = [];
let step = 'start';
let browser, page;
const result = {};

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function shot(name) {
  if (!opts.screenshots) return;
  mkdirSync(opts.screenshots, { recursive: true });
  for (const [suffix, vp] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(300);
    const file = path.join(opts.screenshots, `${name}-${suffix}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(path.relative(REPO, file));
  }
  await page.setViewportSize(DESKTOP);
}

async function run(name, fn) {
  step = name;
  const t0 = Date.now();
  await fn();
  steps.push({ step: name, ms: Date.now() - t0 });
}

const tid = (id) => `[data-testid="${id}"]`;

async function main() {
  browser = await chromium.launch({
    executablePath: opts.chromium, headless: true, timeout: 30000,
    args: ['--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required', '--no-sandbox',
           '--no-proxy-server', '--disable-background-networking', '--disable-component-update', '--disable-domain-reliability',
           '--disable-sync', '--no-first-run', '--no-default-browser-check'],
  });
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base.origin });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    let host = '';
    try { host = new URL(u).hostname; } catch { /* data: */ }
    if (u.startsWith('data:') || u.startsWith('blob:') || isLoopbackHost(host)) return route.continue();
    consoleLines.push(`blocked non-loopback request: ${u}`);
    return route.abort('blockedbyclient');
  });
  page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  const id = opts.id;

  await run('root redirects to the UI', async () => {
    const resp = await page.goto(new URL('/', base).href, { waitUntil: 'load' });
    check(resp && resp.ok(), `GET / → ${resp && resp.status()}`);
    check(new URL(page.url()).pathname === '/ui/', `landed on ${page.url()}`);
    await page.waitForSelector(tid('password'));
  });
  await shot('login');

  await run('wrong password shows an error', async () => {
    await page.fill(tid('username'), opts.user);
    await page.fill(tid('password'), `${opts.password}-wrong`);
    await page.click(tid('login'));
    const err = await page.waitForSelector(`${tid('error')}`, { timeout: 15000 }); // the server delays failures by 5 s
    const text = await err.innerText();
    check(/wrong username or password/i.test(text) && /invalid/i.test(text), `error box says: ${text}`);
    result.loginError = text.replace(/\s+/g, ' ');
  });
  await shot('login-error');

  await run('log in', async () => {
    await page.fill(tid('password'), opts.password);
    await page.click(tid('login'));
    await page.waitForSelector(tid('empty'));
    check(/No processes yet/.test(await page.innerText(tid('empty'))), 'the empty state is missing');
  });
  await shot('processes-empty');

  await run('an expired access token is renewed with the refresh token', async () => {
    const before = await page.evaluate(() => window.dragonUI.api.access);
    await page.waitForTimeout(1100); // a new token differs from the old in iat/exp
    await page.evaluate(() => { window.dragonUI.api.access = 'expired.garbage.token'; });
    await page.waitForFunction((old) => {
      const a = window.dragonUI.api.access;
      return a && a !== 'expired.garbage.token' && a !== old;
    }, before, { timeout: 10000 });
    check(await page.isVisible(tid('new-process')), 'not on the process list after the refresh');
    check(await page.evaluate(() => JSON.parse(sessionStorage.getItem('dragon-core-ui')).access === window.dragonUI.api.access), 'the renewed token is not saved');
  });

  await run('create a test-pattern process with WebRTC on', async () => {
    await page.click(tid('new-process'));
    await page.waitForSelector(tid('process-form'));
    await page.fill(tid('f-id'), id);
    await page.selectOption(tid('f-source'), 'testpattern');
    await page.selectOption(tid('f-size'), '640x360');
    check(await page.isChecked(tid('f-webrtc')), 'WebRTC is not on by default');
    check(await page.isChecked(tid('f-out-hls')), 'HLS is not on by default');
    await shot('process-new');
    await page.click(tid('save'));
    await page.waitForFunction((pid) => location.hash === `#/process/${pid}`, id);
  });

  await run('see it running', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid=state]')?.textContent === 'running', null, { timeout: 30000 });
  });

  await run('play it over WebRTC: frames decoded rise', async () => {
    await page.waitForFunction(() => (window.dragonPlayer?.framesDecoded || 0) > 0, null, { timeout: 30000 });
    const first = await page.evaluate(() => window.dragonPlayer.framesDecoded);
    await page.waitForFunction((n) => window.dragonPlayer.framesDecoded > n + 25, first, { timeout: 20000 });
    const p = await page.evaluate(() => JSON.parse(JSON.stringify(window.dragonPlayer)));
    check(p.tech === 'WebRTC (WHEP)', `played with ${p.tech}`);
    check(/H264/i.test(p.videoCodec || ''), `video codec ${p.videoCodec}`);
    check(p.timeToFirstFrameMs != null, 'no time to first frame');
    const shown = await page.innerText(tid('frames-decoded'));
    check(Number(shown.replace(/,/g, '')) > 0, `frames decoded on screen: ${shown}`);
    // The server counts this browser as a WebRTC viewer of the process.
    const viewers = await page.evaluate(async (pid) => {
      const t = JSON.parse(sessionStorage.getItem('dragon-core-ui')).access;
      const st = await (await fetch(`/api/v3/process/${pid}/state`, { headers: { Authorization: `Bearer ${t}` } })).json();
      return st.webrtc ? st.webrtc.viewers : null;
    }, id);
    check(viewers >= 1, `the server reports ${viewers} WebRTC viewers`);
    Object.assign(result, { viewers, framesDecoded: p.framesDecoded, videoCodec: p.videoCodec, audioCodec: p.audioCodec, timeToFirstFrameMs: p.timeToFirstFrameMs });
  });
  await shot('process-player');

  await run('the HLS fallback plays through the embedded hls.js', async () => {
    await page.selectOption(tid('player-mode'), 'hls'); // restarts the playing player with HLS
    await page.waitForFunction(() => window.dragonPlayer.tech === 'HLS (hls.js)' && window.dragonPlayer.framesDecoded > 10, null, { timeout: 40000 });
    result.hlsFramesDecoded = await page.evaluate(() => window.dragonPlayer.framesDecoded);
    await page.selectOption(tid('player-mode'), 'auto');
    await page.waitForFunction(() => window.dragonPlayer.tech === 'WebRTC (WHEP)' && window.dragonPlayer.framesDecoded > 0, null, { timeout: 20000 });
  });

  await run('copy the WHEP URL', async () => {
    await page.click(tid('whep-url-copy'));
    await page.waitForSelector(`${tid('whep-url-note')}:has-text("Copied")`);
    const expected = new URL(`/api/v3/whep/${id}`, base).href;
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    check(clip === expected, `clipboard holds ${JSON.stringify(clip)}, expected ${expected}`);
    check(await page.evaluate(() => window.dragonUI.lastCopied) === expected, 'lastCopied differs');
    result.copied = clip;
  });

  await run('the list shows it running with figures', async () => {
    await page.click(tid('nav-processes'));
    const row = `tr[data-id="${id}"]`;
    await page.waitForSelector(`${row} ${tid('state')}:has-text("running")`);
    await page.waitForFunction((sel) => {
      const fps = document.querySelector(`${sel} [data-testid=fps]`)?.textContent;
      return fps && fps !== '–' && Number(fps) > 0;
    }, row, { timeout: 20000 });
    result.listRow = (await page.innerText(row)).replace(/\s+/g, ' ');
  });
  await shot('processes');

  await run('overview, log, history, probe and metadata pages', async () => {
    await page.goto(new URL(`/ui/#/process/${id}/overview`, base).href);
    await page.waitForSelector(tid('overview'));
    await shot('process-overview');
    await page.click(tid('tab-log'));
    await page.waitForFunction(() => /ffmpeg|Input #|Stream/.test(document.querySelector('[data-testid=log]')?.textContent || ''));
    await shot('process-log');
    await page.click(tid('tab-probe'));
    await page.click(tid('run-probe'));
    await page.waitForSelector(tid('probe-table'), { timeout: 30000 });
    check(/video/.test(await page.innerText(tid('probe-table'))), 'the probe shows no video stream');
    await shot('process-probe');
    await page.click(tid('tab-history'));
    await page.waitForSelector('.tabpanel :is([data-testid=empty], details)');
    await page.click(tid('tab-metadata'));
    await page.waitForSelector('.tabpanel dl.kv');
    check(/dragon-ui/.test(await page.innerText('.tabpanel')), 'the form description is not in the metadata');
    // Keyboard: arrow keys move between the tabs.
    await page.focus(tid('tab-metadata'));
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => location.hash.endsWith('/config'));
    await page.waitForSelector(tid('config-json'));
  });

  await run('an invalid JSON edit shows the API\'s message', async () => {
    await page.click(tid('edit'));
    await page.waitForSelector(tid('process-form'));
    await page.click(tid('mode-json'));
    const editor = tid('json-editor');
    await page.waitForSelector(editor);
    const cfg = JSON.parse(await page.inputValue(editor));
    check(cfg.id === id && cfg.webrtc && cfg.webrtc.enabled === true, 'the JSON editor does not hold the process');
    // 1. Not JSON at all. 2. JSON the server refuses (an output address that is an FFmpeg option).
    const bad = [JSON.stringify(cfg, null, 2).replace(/\}\s*$/, ''),
                 JSON.stringify({ ...cfg, output: [{ ...cfg.output[0], address: '-y' }] }, null, 2)];
    result.jsonErrors = [];
    for (const text of bad) {
      await page.fill(editor, text);
      await page.click(tid('save-json'));
      const box = await page.waitForSelector(`${tid('json-errors')} ${tid('error')}`);
      const shown = await box.innerText();
      // The same request straight to the API: its message must be what the page shows.
      const api = await page.evaluate(async ({ pid, body }) => {
        const t = JSON.parse(sessionStorage.getItem('dragon-core-ui')).access;
        const r = await fetch(`/api/v3/process/${pid}`, { method: 'PUT', headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, body });
        return { status: r.status, body: await r.json() };
      }, { pid: id, body: text });
      check(api.status === 400, `the API answered ${api.status}`);
      check(shown.includes(api.body.message), `page shows ${JSON.stringify(shown)}, API says ${JSON.stringify(api.body.message)}`);
      for (const d of api.body.details || []) check(shown.includes(d), `detail ${JSON.stringify(d)} not shown`);
      result.jsonErrors.push(shown.replace(/\s+/g, ' '));
    }
    await shot('process-edit-json-error');
    // The process is unchanged and still runs.
    await page.click('a.button:has-text("Cancel")');
    await page.waitForSelector(`${tid('state')}:has-text("running")`);
  });

  await run('settings page loads and saves (redacted secrets unchanged)', async () => {
    await page.click(tid('nav-settings'));
    await page.waitForSelector(tid('save-settings'));
    const pw = await page.inputValue(tid('cfg-storage-memory-auth-password')).catch(() => null);
    result.memfsPasswordShownAs = pw;
    await shot('settings');
    await page.click(tid('save-settings'));
    await page.waitForSelector(`${tid('settings-message')}:has-text("Saved")`);
  });

  await run('stop it', async () => {
    await page.click(tid('nav-processes'));
    await page.click(`tr[data-id="${id}"] ${tid('process-link')}`);
    await page.waitForSelector(`${tid('state')}:has-text("running")`);
    await page.click(tid('stop'));
    await page.waitForFunction(() => !['running', 'starting'].includes(document.querySelector('[data-testid=state]')?.textContent), null, { timeout: 20000 });
    result.stoppedState = await page.innerText(tid('state'));
  });

  await run('delete it', async () => {
    await page.click(tid('delete'));
    await page.click(tid('confirm-delete'));
    await page.waitForSelector(tid('empty'));
    const r = await page.evaluate(async (pid) => {
      const t = JSON.parse(sessionStorage.getItem('dragon-core-ui')).access;
      return (await fetch(`/api/v3/process/${pid}`, { headers: { Authorization: `Bearer ${t}` } })).status;
    }, id);
    check(r === 404, `the process still exists (${r})`);
  });

  await run('phone width: navigation and list fit', async () => {
    await page.setViewportSize(PHONE);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check(overflow <= 0, `the page scrolls sideways by ${overflow}px at 375 px`);
    await page.setViewportSize(DESKTOP);
  });

  await run('log out', async () => {
    await page.click(tid('logout'));
    await page.waitForSelector(tid('password'));
    check(await page.evaluate(() => sessionStorage.getItem('dragon-core-ui')) === null, 'tokens remain after logout');
  });
}

const hard = setTimeout(() => { out({ ok: false, step, error: 'hard timeout (180 s)', steps, console: consoleLines.slice(-15) }, 1); }, 180000);
hard.unref();
try {
  await main();
  const errors = consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('blocked'));
  if (errors.length) throw new Error(`page errors: ${errors.join(' | ')}`);
  await browser.close();
  out({ ok: true, steps: steps.map((s) => s.step), ...result, screenshots: shots }, 0);
} catch (e) {
  let shotPath = null;
  let lastUrl = null;
  try { lastUrl = page && !page.isClosed() ? page.url() : null; } catch { /* closed */ }
  try {
    if (page && !page.isClosed()) {
      shotPath = process.env.UI_E2E_FAILURE_SHOT || path.join(os.tmpdir(), 'dragon-ui-e2e-failure.png');
      await page.screenshot({ path: shotPath, fullPage: true });
    }
  } catch { shotPath = null; }
  if (browser) await browser.close().catch(() => {});
  out({ ok: false, step, error: e && e.message ? e.message.split('\n')[0] : String(e), steps: steps.map((s) => s.step), ...result,
        url: lastUrl, failureScreenshot: shotPath, console: consoleLines.slice(-15) }, 1);
}
