#!/usr/bin/env node
// Plays a WHEP stream in Debian's Chromium through dragon-core's /whep-player.html and checks that
// video frames are decoded and audio samples received.
//
//   node tests/browser/whep_chromium.mjs --base http://127.0.0.1:PORT --whep /api/v3/whep/ID \
//        [--token T] [--seconds 8] [--frames 50] [--chromium /usr/bin/chromium]
//
// Options can also come from the environment: BASE, WHEP_URL (or WHEP), TOKEN (or WHEP_TOKEN), WHEP_SECONDS,
// WHEP_FRAMES, CHROMIUM. --frames is the framesDecoded threshold (default 50).
// --seconds is the deadline for reaching both thresholds, counted once the browser has started (default 8).
// Prints one JSON line on stdout:
//   {"ok":true,"framesDecoded":…,"audioSamples":…,"videoCodec":…,"audioCodec":…,"timeToFirstFrameMs":…,"state":…}
// and exits 0; on failure or timeout prints {"ok":false,"error":"…",…} and exits 1.
// Uses npm playwright-core from web/node_modules (never downloads a browser); talks to loopback only.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';

function fail(error, extra = {}) {
  process.stdout.write(JSON.stringify({ ok: false, error, ...extra }) + '\n');
  process.exit(1);
}

function parseArgs(argv) {
  const opts = {
    base: process.env.BASE,
    whep: process.env.WHEP_URL || process.env.WHEP,
    token: process.env.TOKEN || process.env.WHEP_TOKEN || '',
    seconds: process.env.WHEP_SECONDS, // not SECONDS: bash owns that name
    frames: process.env.WHEP_FRAMES,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium',
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) fail(`unexpected argument ${JSON.stringify(a)}`);
    const key = m[1];
    const val = m[2] !== undefined ? m[2] : argv[++i];
    if (val === undefined) fail(`--${key} needs a value`);
    if (!(key in opts)) fail(`unknown option --${key} (known: ${Object.keys(opts).map((k) => '--' + k).join(' ')})`);
    opts[key] = val;
  }
  if (!opts.base) fail('missing --base (or BASE), e.g. http://127.0.0.1:8080');
  if (!opts.whep) fail('missing --whep (or WHEP_URL), e.g. /api/v3/whep/<processID>');
  opts.seconds = opts.seconds === undefined ? 8 : Number(opts.seconds);
  opts.frames = opts.frames === undefined ? 50 : Number(opts.frames);
  if (!(opts.seconds > 0)) fail('--seconds must be a positive number');
  if (!(opts.frames >= 0)) fail('--frames must be a number >= 0');
  return opts;
}

function isLoopbackHost(hostname) {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

const opts = parseArgs(process.argv);

let base, whep;
try {
  base = new URL(opts.base);
  whep = new URL(opts.whep, base);
} catch (e) {
  fail(`bad URL: ${e.message}`);
}
for (const u of [base, whep]) {
  if (!/^https?:$/.test(u.protocol)) fail(`not an http(s) URL: ${u.href}`);
  if (!isLoopbackHost(u.hostname)) fail(`refusing a non-loopback URL: ${u.href}`);
}
if (!existsSync(opts.chromium)) fail(`chromium not found at ${opts.chromium} (apt-get install chromium)`);

// playwright-core lives in web/node_modules (web/package.json devDependencies).
let chromium;
try {
  const req = createRequire(new URL('../../web/package.json', import.meta.url));
  ({ chromium } = req('playwright-core'));
} catch (e) {
  fail(`playwright-core is not installed (run: cd web && npm ci): ${e.message}`);
}

const pageUrl = new URL('/whep-player.html', base);
pageUrl.searchParams.set('url', whep.href);
if (opts.token) pageUrl.searchParams.set('token', opts.token);

let deadline = Date.now() + opts.seconds * 1000 + 30000; // reset once the browser runs
let browser;
let page;
let last = null;
const consoleLines = [];

async function finish(ok, error) {
  const s = last || {};
  const out = {
    ok,
    ...(error ? { error } : {}),
    framesDecoded: s.framesDecoded ?? 0,
    audioSamples: s.audioSamples ?? 0,
    videoCodec: s.videoCodec ?? null,
    audioCodec: s.audioCodec ?? null,
    timeToFirstFrameMs: s.timeToFirstFrameMs ?? null,
    state: s.state ?? null,
    ...(ok ? {} : { iceState: s.iceState ?? null, connectionState: s.connectionState ?? null,
                    playerError: s.error ?? null, console: consoleLines.slice(-10) }),
  };
  if (page && !page.isClosed()) {
    // Stop: the page DELETEs its WHEP session, so the server frees the viewer at once.
    await page.evaluate(() => document.querySelector('[data-testid=stop]')?.click()).catch(() => {});
    await page.waitForFunction(() => window.whepPlayer?.state === 'stopped' || !window.whepPlayer?.resourceUrl,
                               null, { timeout: 2000 }).catch(() => {});
  }
  if (browser) await browser.close().catch(() => {});
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(ok ? 0 : 1);
}

// A hard stop in case the browser itself hangs.
const hardTimer = setTimeout(() => finish(false, `timeout after ${opts.seconds} s (browser unresponsive)`),
                             opts.seconds * 1000 + 45000);
hardTimer.unref();

try {
  browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    timeout: 30000,
    args: [
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--autoplay-policy=no-user-gesture-required',
      '--use-fake-ui-for-media-stream',
      '--no-sandbox',
      // nothing but loopback: no proxy, no background fetches
      '--no-proxy-server',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-domain-reliability',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
    ],
  });
  deadline = Date.now() + opts.seconds * 1000; // the playback deadline excludes browser start-up
  const context = await browser.newContext();
  // Any request the page makes must go to loopback.
  await context.route('**/*', (route) => {
    let host = '';
    try { host = new URL(route.request().url()).hostname; } catch { /* data: etc. */ }
    const u = route.request().url();
    if (u.startsWith('data:') || u.startsWith('blob:') || isLoopbackHost(host)) return route.continue();
    consoleLines.push(`blocked non-loopback request: ${u}`);
    return route.abort('blockedbyclient');
  });
  page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

  const resp = await page.goto(pageUrl.href, { waitUntil: 'load', timeout: Math.max(1000, deadline - Date.now()) });
  if (!resp || !resp.ok()) {
    await finish(false, `GET ${pageUrl.origin}${pageUrl.pathname} answered ${resp ? resp.status() : 'nothing'}`);
  }

  let firstAudio = null;
  for (;;) {
    last = await page.evaluate(() => {
      const p = window.whepPlayer;
      return p ? JSON.parse(JSON.stringify(p)) : null;
    });
    if (!last) await finish(false, 'the page does not expose window.whepPlayer');
    if (firstAudio === null && last.audioSamples > 0) firstAudio = last.audioSamples;
    if (last.error || ['error', 'failed'].includes(last.state)) {
      const e = last.error || {};
      await finish(false, `player ${last.state}: ${e.status ? `HTTP ${e.status} ` : ''}${e.message || ''}`.trim());
    }
    const audioRising = firstAudio !== null && last.audioSamples > firstAudio;
    if (last.framesDecoded > opts.frames && audioRising) await finish(true);
    if (Date.now() >= deadline) {
      const why = [];
      if (!(last.framesDecoded > opts.frames)) why.push(`framesDecoded ${last.framesDecoded} <= ${opts.frames}`);
      if (!audioRising) why.push(`audioSamples not rising (first non-zero ${firstAudio ?? 0}, now ${last.audioSamples})`);
      await finish(false, `timeout after ${opts.seconds} s: ${why.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
} catch (e) {
  await finish(false, e && e.message ? e.message.split('\n')[0] : String(e));
}
