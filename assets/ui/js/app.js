// Dragon Core's web UI: a single-page app of plain ES modules (no build step), routed by the URL
// hash: #/login, #/ (processes), #/new, #/process/ID[/tab], #/process/ID/edit, #/settings.
import { api, ApiError } from './api.js';
import { h, $, uid, fmtDuration, fmtBytes, fmtNum, fmtTime, copyField, errorBox, emptyState } from './util.js';
import { META_KEY, defaultForm, checkForm, formToConfig, hlsUrlOf, streamsOf } from './process-form.js';
import { Player } from './player.js';

// State for people debugging and for tests (tests/browser/ui_e2e.mjs).
window.dragonUI = { lastCopied: null, route: null, ready: false, api };

const main = $('#main');
const nav = $('#nav');
const POLL_MS = 2000;

// Everything a view starts (timers, players) is stopped when the route changes.
let cleanups = [];
function onLeave(fn) { cleanups.push(fn); }
function every(ms, fn) {
  let stopped = false, timer = 0;
  const loop = async () => {
    if (stopped) return;
    try { await fn(); } catch { /* the view shows its own errors */ }
    if (!stopped) timer = setTimeout(loop, ms);
  };
  loop();
  onLeave(() => { stopped = true; clearTimeout(timer); });
}

let coreConfig = null; // GET /api/v3/config (for URLs: ports, tokens), loaded lazily
async function loadCoreConfig(force = false) {
  if (!coreConfig || force) {
    try { coreConfig = (await api.get('/api/v3/config')).config; } catch { coreConfig = coreConfig || null; }
  }
  return coreConfig;
}

// ---------- routing ----------
function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return parts;
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  cleanups.forEach((fn) => { try { fn(); } catch { /* ignore */ } });
  cleanups = [];
  const parts = parseRoute();
  window.dragonUI.route = parts.join('/') || 'processes';
  if (!api.loggedIn && parts[0] !== 'login') return go('#/login');
  renderNav(parts[0] || 'processes');
  main.replaceChildren();
  main.focus({ preventScroll: true });
  try {
    if (parts[0] === 'login') return viewLogin();
    if (!parts.length || parts[0] === 'processes') return viewProcesses();
    if (parts[0] === 'new') return viewEdit(null);
    if (parts[0] === 'settings') return viewSettings();
    if (parts[0] === 'process' && parts[1]) {
      if (parts[2] === 'edit') return viewEdit(parts[1]);
      return viewProcess(parts[1], parts[2] || 'player');
    }
    main.append(emptyState('Page not found', `There is no page “${location.hash}”.`, h('a', { href: '#/', class: 'button' }, 'Go to the processes')));
  } catch (e) {
    main.append(errorBox(e));
  }
}

function renderNav(current) {
  nav.replaceChildren();
  if (!api.loggedIn || current === 'login') { nav.hidden = true; return; }
  nav.hidden = false;
  const link = (href, label, key) => h('a', { href, 'aria-current': current === key ? 'page' : null, dataset: { testid: `nav-${key}` } }, label);
  nav.append(
    link('#/', 'Processes', 'processes'),
    link('#/new', 'New process', 'new'),
    link('#/settings', 'Settings', 'settings'),
    h('a', { href: '/api/swagger/', target: '_blank', rel: 'noopener' }, 'API docs'),
    api.authRequired ? h('button', { type: 'button', class: 'link', dataset: { testid: 'logout' }, onclick: () => api.logout('You are logged out.') },
      `Log out${api.user ? ` (${api.user})` : ''}`) : null);
}

function title(text, ...extra) {
  document.title = `${text} · Dragon Core`;
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, text), extra.length ? h('div', { class: 'row' }, extra) : null);
}

// ---------- login ----------
let logoutNote = '';
function viewLogin() {
  if (api.loggedIn && api.access) return go('#/');
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, value: 'admin', dataset: { testid: 'username' } });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, dataset: { testid: 'password' } });
  const msg = h('div', { 'aria-live': 'assertive' });
  if (logoutNote) { msg.append(h('p', { class: 'note', role: 'status' }, logoutNote)); logoutNote = ''; }
  const btn = h('button', { type: 'submit', class: 'primary', dataset: { testid: 'login' } }, 'Log in');
  const form = h('form', { class: 'card login', novalidate: true },
    h('h1', {}, 'Dragon Core'),
    h('p', { class: 'hint' }, 'Log in with the API credentials (api.auth.username and api.auth.password; the password is printed at first start).'),
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username'), user),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), pass),
    msg, btn);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    if (!pass.value) { msg.append(errorBox(new Error('Enter the password.'), 'Cannot log in')); pass.focus(); return; }
    btn.disabled = true;
    btn.textContent = 'Logging in…';
    try {
      await api.login(user.value.trim(), pass.value);
      go('#/');
    } catch (err) {
      const text = err.status === 401 ? 'Wrong username or password.' : err.status === 429 ? 'Too many failed logins: wait a minute.' : null;
      msg.append(errorBox(err, text || 'Cannot log in'));
      pass.select();
      pass.focus();
    } finally {
      btn.disabled = false;
      btn.textContent = 'Log in';
    }
  });
  document.title = 'Log in · Dragon Core';
  main.append(form);
  user.value ? pass.focus() : user.focus();
}

// ---------- process list ----------
function stateBadge(state) {
  const exec = (state && state.exec) || 'unknown';
  return h('span', { class: `badge st-${exec}`, dataset: { testid: 'state' } }, exec);
}

// FFmpeg's total bitrate is 0 for outputs it cannot size (HLS over HTTP): add up the outputs then.
function bitrateOf(pr) {
  if (pr.bitrate_kbit) return pr.bitrate_kbit;
  return (pr.outputs || []).reduce((a, o) => a + (Number(o.bitrate_kbit) || 0), 0) || null;
}
const fmtKbit = (v) => (v ? `${fmtNum(v)} kbit/s` : '–');

function viewersOf(p, sessions) {
  const w = p.state && p.state.webrtc;
  const parts = [];
  parts.push(`WebRTC ${w ? w.viewers : '–'}`);
  if (sessions) {
    for (const c of ['hls', 'rtmp', 'srt']) {
      const n = (sessions[c] || []).filter((s) => s.reference === p.id || String(s.reference || '').includes(p.id)).length;
      parts.push(`${c.toUpperCase()} ${n}`);
    }
  }
  return parts.join(' · ');
}

let sessionsSupported = true;
async function loadSessions() {
  if (!sessionsSupported) return null;
  try { return await api.get('/api/v3/session/active?collectors=hls,rtmp,srt'); } catch (e) {
    if (e.status === 404 || e.status === 405) sessionsSupported = false;
    return null;
  }
}

async function command(id, cmd, after) {
  await api.put(`/api/v3/process/${encodeURIComponent(id)}/command`, { command: cmd });
  if (after) after();
}

function viewProcesses() {
  const status = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite', dataset: { testid: 'list-status' } });
  const box = h('div', { dataset: { testid: 'process-list' } }, h('p', { class: 'hint' }, 'Loading…'));
  main.append(title('Processes', h('a', { href: '#/new', class: 'button primary', dataset: { testid: 'new-process' } }, 'New process')), box, status);
  const actionError = h('div');
  main.insertBefore(actionError, box);
  every(POLL_MS, async () => {
    let list;
    try {
      list = await api.get('/api/v3/process?filter=config,state');
    } catch (e) {
      box.replaceChildren(errorBox(e, 'Cannot load the processes'));
      return;
    }
    const sessions = await loadSessions();
    status.textContent = `Updated ${new Date().toLocaleTimeString('en-GB', { hour12: false })}; refreshes every 2 s.`;
    if (!list.length) {
      box.replaceChildren(emptyState('No processes yet',
        'A process runs FFmpeg: pull a stream, or start with a test pattern, and watch it here over WebRTC or HLS.',
        h('a', { href: '#/new', class: 'button primary' }, 'Create a process')));
      return;
    }
    list.sort((a, b) => a.id.localeCompare(b.id));
    const rows = list.map((p) => {
      const st = p.state || {};
      const pr = st.progress || {};
      const running = st.exec === 'running' || st.order === 'start';
      const act = (label, cmd, testid) => h('button', { type: 'button', class: 'small', dataset: { testid },
        'aria-label': `${label} ${p.id}`,
        onclick: async (ev) => {
          ev.target.disabled = true;
          actionError.replaceChildren();
          try { await command(p.id, cmd); } catch (e) { actionError.append(errorBox(e, `Cannot ${cmd} ${p.id}`)); }
        } }, label);
      const td = (label, content, testid) => h('td', { 'data-label': label, dataset: testid ? { testid } : {} }, content);
      return h('tr', { dataset: { testid: 'process-row', id: p.id } },
        h('th', { scope: 'row', 'data-label': 'Process' },
          h('a', { href: `#/process/${encodeURIComponent(p.id)}`, dataset: { testid: 'process-link' } }, p.id),
          p.reference ? h('span', { class: 'hint block' }, p.reference) : null,
          p.config && p.config.webrtc && p.config.webrtc.enabled ? h('span', { class: 'tag' }, 'WebRTC') : null),
        td('State', stateBadge(st)),
        td('Uptime', st.exec === 'running' ? fmtDuration(st.runtime_seconds) : '–', 'uptime'),
        td('FPS', st.exec === 'running' ? fmtNum(pr.fps, 1) : '–', 'fps'),
        td('Bitrate', st.exec === 'running' ? fmtKbit(bitrateOf(pr)) : '–', 'bitrate'),
        td('CPU', st.exec === 'running' ? `${fmtNum(st.cpu_usage, 1)} %` : '–', 'cpu'),
        td('Memory', st.exec === 'running' ? fmtBytes(st.memory_bytes) : '–', 'memory'),
        td('Viewers', viewersOf(p, sessions), 'viewers'),
        td('Actions', h('div', { class: 'row nowrap' },
          running ? act('Stop', 'stop', 'stop') : act('Start', 'start', 'start'),
          h('a', { href: `#/process/${encodeURIComponent(p.id)}/player`, class: 'button small', 'aria-label': `Play ${p.id}` }, 'Play'))));
    });
    box.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'processes' },
      h('caption', { class: 'sr-only' }, 'Processes, updated every 2 seconds'),
      h('thead', {}, h('tr', {}, ['Process', 'State', 'Uptime', 'FPS', 'Bitrate', 'CPU', 'Memory', 'Viewers', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))));
  });
}

// ---------- create / edit ----------
async function viewEdit(id) {
  let existing = null, form = defaultForm(), mode = 'form';
  if (id) {
    main.append(h('p', { class: 'hint' }, 'Loading…'));
    try {
      existing = await api.get(`/api/v3/process/${encodeURIComponent(id)}?filter=config,metadata`);
    } catch (e) {
      main.replaceChildren(title(`Edit ${id}`), errorBox(e, `Cannot load ${id}`));
      return;
    }
    const saved = existing.metadata && existing.metadata[META_KEY];
    if (saved && saved.version === 1) form = { ...defaultForm(), ...saved, id };
    else mode = 'json';
    main.replaceChildren();
  } else {
    form.id = suggestId();
  }
  main.append(title(id ? `Edit ${id}` : 'New process'));
  const tabs = h('div', { class: 'row', role: 'group', 'aria-label': 'Editor' });
  const body = h('div');
  main.append(tabs, body);
  const show = (m) => {
    mode = m;
    tabs.replaceChildren(
      h('button', { type: 'button', 'aria-pressed': String(m === 'form'), dataset: { testid: 'mode-form' }, onclick: () => show('form'), disabled: !!existing && !(existing.metadata && existing.metadata[META_KEY]) }, 'Form'),
      h('button', { type: 'button', 'aria-pressed': String(m === 'json'), dataset: { testid: 'mode-json' }, onclick: () => show('json') }, 'JSON'));
    body.replaceChildren(m === 'form' ? processForm(form, existing) : jsonEditor(existing ? existing.config : formToConfig(form), existing, form));
  };
  if (existing && mode === 'json') {
    main.insertBefore(h('p', { class: 'note' }, 'This process was not created with the form: edit its configuration as JSON.'), tabs);
  }
  show(mode);
}

function suggestId() {
  return `stream-${Math.random().toString(36).slice(2, 7)}`;
}

async function saveProcess(cfg, existing, formState) {
  const id = cfg.id;
  if (existing) await api.put(`/api/v3/process/${encodeURIComponent(existing.id)}`, cfg);
  else await api.post('/api/v3/process', cfg);
  // The form's description, so it can be edited with the form again (null deletes it).
  await api.put(`/api/v3/process/${encodeURIComponent(id)}/metadata/${META_KEY}`, formState || null).catch(() => {});
  go(`#/process/${encodeURIComponent(id)}`);
}

function processForm(f, existing) {
  const errors = h('div', { 'aria-live': 'assertive' });
  const fieldErr = {};
  const field = (label, input, hint, key) => {
    const hid = hint ? uid('hint') : null;
    const eid = uid('err');
    if (hid) input.setAttribute('aria-describedby', `${hid} ${eid}`);
    else input.setAttribute('aria-describedby', eid);
    const err = h('span', { class: 'field-error', id: eid });
    if (key) fieldErr[key] = { err, input };
    return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hint ? h('span', { class: 'hint', id: hid }, hint) : null, err);
  };
  const text = (key, value, attrs = {}) => {
    const el = h('input', { id: uid(key), type: 'text', value: value ?? '', spellcheck: 'false', dataset: { testid: `f-${key}` }, ...attrs });
    return el;
  };
  const check = (key, label, checked, hint) => {
    const id = uid(key);
    const el = h('input', { id, type: 'checkbox', checked: !!checked, dataset: { testid: `f-${key}` } });
    return [el, h('div', { class: 'check' }, el, h('label', { for: id }, label), hint ? h('span', { class: 'hint block' }, hint) : null)];
  };
  const select = (key, value, options) => {
    const el = h('select', { id: uid(key), dataset: { testid: `f-${key}` } }, options.map(([v, l]) => h('option', { value: v }, l)));
    el.value = value;
    return el;
  };

  const idIn = text('id', f.id, { required: true, disabled: !!existing, autocomplete: 'off' });
  const refIn = text('reference', f.reference);
  const srcSel = select('source', f.source, [['testpattern', 'Test pattern (video + tone)'], ['url', 'Pull from a URL (RTSP, RTMP, SRT, HLS, file)'],
    ['rtmp', 'Built-in RTMP server (by stream name)'], ['srt', 'Built-in SRT server (by stream name)']]);
  const sizeSel = select('size', f.pattern.size, [['640x360', '640×360'], ['1280x720', '1280×720'], ['1920x1080', '1920×1080']]);
  const rateIn = text('rate', f.pattern.rate, { type: 'number', min: '1', max: '60', inputmode: 'numeric' });
  const [audioCk, audioRow] = check('audio', 'With a 440 Hz tone', f.pattern.audio);
  const urlIn = text('url', f.url.address, { type: 'url', inputmode: 'url', placeholder: 'rtsp://camera.local/stream' });
  const [reCk, reRow] = check('re', 'Read at native speed (-re; for files)', f.url.re);
  const [loopCk, loopRow] = check('loop', 'Loop the file', f.url.loop);
  const nameIn = text('stream', f.stream.name, { placeholder: 'my-stream' });
  const codecSel = select('video-codec', f.video.codec, [['libx264', 'Encode H.264 (libx264)'], ['copy', 'Copy the input video (no re-encoding)']]);
  const brIn = text('bitrate', f.video.bitrate_kbps, { type: 'number', min: '100', step: '100', inputmode: 'numeric' });
  const [hlsCk, hlsRow] = check('out-hls', 'HLS in memory', f.outputs.hls, 'Served at /memfs/{id}.m3u8');
  const [pushCk, pushRow] = check('out-push', 'Push to an RTMP or SRT server', f.outputs.push);
  const pushIn = text('push-url', f.outputs.push_url, { type: 'url', placeholder: 'rtmp://live.example.com/app/key' });
  const [recCk, recRow] = check('out-record', 'Record to disk', f.outputs.record, 'MPEG-TS files of an hour each in storage.disk.dir');
  const [wCk, wRow] = check('webrtc', 'WebRTC (WHEP) playback', f.webrtc.enabled, 'Sub-second latency in any browser');
  const vmapIn = text('video-map', f.webrtc.video_map, { placeholder: 'first video stream' });
  const amapIn = text('audio-map', f.webrtc.audio_map, { placeholder: 'first audio stream' });
  const [ftCk, ftRow] = check('force-transcode', 'Always transcode the WebRTC video', f.webrtc.force_transcode);
  const [autoCk, autoRow] = check('autostart', 'Start now and whenever the server starts', f.autostart);
  const [recoCk, recoRow] = check('reconnect', 'Restart when FFmpeg exits', f.reconnect);
  const delayIn = text('reconnect-delay', f.reconnect_delay_seconds, { type: 'number', min: '0', inputmode: 'numeric' });
  const staleIn = text('stale', f.stale_timeout_seconds, { type: 'number', min: '0', inputmode: 'numeric' });

  const patternBox = h('div', { class: 'grid2' }, field('Picture size', sizeSel), field('Frame rate', rateIn, 'frames per second'), audioRow);
  const urlBox = h('div', {}, field('Input URL', urlIn, 'rtsp://, rtmp://, srt://, http(s)://….m3u8 or a file path', 'url.address'), h('div', { class: 'row' }, reRow, loopRow));
  const streamBox = h('div', {}, field('Stream name', nameIn, 'Publishers send to the built-in server under this name (see the URLs on the process page).', 'stream.name'));
  const pushBox = h('div', {}, field('Push URL', pushIn, null, 'outputs.push_url'));
  const webrtcBox = h('div', { class: 'grid2' },
    field('Video stream (video_map)', vmapIn, 'FFmpeg stream specifier, e.g. 0:v:0; empty: the first video'),
    field('Audio stream (audio_map)', amapIn, 'e.g. 1:a:0; empty: the first audio'), ftRow);
  const outErr = h('span', { class: 'field-error' });
  fieldErr.outputs = { err: outErr, input: hlsCk };

  const sync = () => {
    patternBox.hidden = srcSel.value !== 'testpattern';
    urlBox.hidden = srcSel.value !== 'url';
    streamBox.hidden = !['rtmp', 'srt'].includes(srcSel.value);
    pushBox.hidden = !pushCk.checked;
    webrtcBox.hidden = !wCk.checked;
    brIn.disabled = codecSel.value === 'copy';
    if (srcSel.value === 'testpattern' && codecSel.value === 'copy') codecSel.value = 'libx264';
    codecSel.querySelector('option[value=copy]').disabled = srcSel.value === 'testpattern';
  };
  const read = () => ({
    ...f, id: idIn.value.trim(), reference: refIn.value.trim(), source: srcSel.value,
    pattern: { size: sizeSel.value, rate: Number(rateIn.value) || 25, audio: audioCk.checked },
    url: { address: urlIn.value.trim(), re: reCk.checked, loop: loopCk.checked },
    stream: { name: nameIn.value.trim() },
    video: { codec: codecSel.value, bitrate_kbps: Number(brIn.value) || 2000 },
    outputs: { hls: hlsCk.checked, push: pushCk.checked, push_url: pushIn.value.trim(), record: recCk.checked },
    webrtc: { enabled: wCk.checked, video_map: vmapIn.value.trim(), audio_map: amapIn.value.trim(), force_transcode: ftCk.checked },
    autostart: autoCk.checked, reconnect: recoCk.checked,
    reconnect_delay_seconds: Number(delayIn.value) || 0, stale_timeout_seconds: Number(staleIn.value) || 0,
  });

  const saveBtn = h('button', { type: 'submit', class: 'primary', dataset: { testid: 'save' } }, existing ? 'Save' : 'Create');
  const formEl = h('form', { class: 'card form', novalidate: true, dataset: { testid: 'process-form' } },
    h('fieldset', {}, h('legend', {}, 'Process'), h('div', { class: 'grid2' },
      field('ID', idIn, existing ? 'The ID cannot change.' : 'Used in URLs: letters, digits, _ . : -', 'id'),
      field('Reference (optional)', refIn, 'A free label, e.g. a channel name'))),
    h('fieldset', {}, h('legend', {}, 'Source'), field('Input', srcSel), patternBox, urlBox, streamBox),
    h('fieldset', {}, h('legend', {}, 'Video'), h('div', { class: 'grid2' }, field('Video', codecSel), field('Video bitrate (kbit/s)', brIn))),
    h('fieldset', {}, h('legend', {}, 'Outputs'), hlsRow, pushRow, pushBox, recRow, outErr),
    h('fieldset', {}, h('legend', {}, 'WebRTC'), wRow, webrtcBox),
    h('fieldset', {}, h('legend', {}, 'Behaviour'), autoRow, recoRow,
      h('div', { class: 'grid2' }, field('Restart delay (s)', delayIn), field('Stale timeout (s)', staleIn, 'Stop when no progress for this long; 0: never'))),
    errors,
    h('div', { class: 'row' }, saveBtn, h('a', { href: existing ? `#/process/${encodeURIComponent(existing.id)}` : '#/', class: 'button' }, 'Cancel')));
  formEl.addEventListener('change', sync);
  sync();
  formEl.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.replaceChildren();
    Object.values(fieldErr).forEach(({ err, input }) => { err.textContent = ''; input.removeAttribute('aria-invalid'); });
    const state = read();
    const problems = checkForm(state);
    if (Object.keys(problems).length) {
      let first = null;
      for (const [k, msg] of Object.entries(problems)) {
        const fe = fieldErr[k];
        if (fe) { fe.err.textContent = msg; fe.input.setAttribute('aria-invalid', 'true'); first = first || fe.input; }
      }
      errors.append(errorBox({ message: 'Please correct the marked fields.', details: Object.values(problems) }, 'Not saved'));
      if (first) first.focus();
      return;
    }
    saveBtn.disabled = true;
    try {
      await saveProcess(formToConfig(state), existing, state);
    } catch (err) {
      errors.append(errorBox(err, 'The server refused the process'));
      errors.querySelector('[role=alert]')?.focus?.();
    } finally {
      saveBtn.disabled = false;
    }
  });
  return formEl;
}

function jsonEditor(cfg, existing) {
  const id = uid('json');
  const ta = h('textarea', { id, class: 'code', rows: '24', spellcheck: 'false', dataset: { testid: 'json-editor' }, 'aria-describedby': `${id}-hint` });
  ta.value = JSON.stringify(cfg, null, 2);
  const errors = h('div', { 'aria-live': 'assertive', dataset: { testid: 'json-errors' } });
  const saveBtn = h('button', { type: 'submit', class: 'primary', dataset: { testid: 'save-json' } }, existing ? 'Save' : 'Create');
  const formEl = h('form', { class: 'card form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: id }, 'Process configuration (JSON)'), ta,
      h('span', { class: 'hint', id: `${id}-hint` }, 'Upstream\'s process config: input, output, options, reconnect, limits, and "webrtc": {"enabled", "video_map", "audio_map", "force_transcode"}. The server checks it; its message appears here.')),
    errors, h('div', { class: 'row' }, saveBtn, h('a', { href: existing ? `#/process/${encodeURIComponent(existing.id)}` : '#/', class: 'button' }, 'Cancel')));
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && ta.dataset.indent === '1') {
      e.preventDefault();
      ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end');
    }
  });
  formEl.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.replaceChildren();
    saveBtn.disabled = true;
    let parsed = null;
    try { parsed = JSON.parse(ta.value); } catch { /* the server says what is wrong */ }
    try {
      // The text goes to the server unchanged: its validation message is the one shown.
      const target = existing ? `/api/v3/process/${encodeURIComponent(existing.id)}` : '/api/v3/process';
      await api.request(existing ? 'PUT' : 'POST', target, ta.value);
      const newId = (parsed && parsed.id) || (existing && existing.id);
      await api.put(`/api/v3/process/${encodeURIComponent(newId)}/metadata/${META_KEY}`, null).catch(() => {});
      go(`#/process/${encodeURIComponent(newId)}`);
    } catch (err) {
      errors.append(errorBox(err, `The server refused the configuration${err.status ? ` (${err.status})` : ''}`));
    } finally {
      saveBtn.disabled = false;
    }
  });
  return formEl;
}

// ---------- one process ----------
const TABS = [['player', 'Player'], ['overview', 'Overview'], ['log', 'Log'], ['history', 'History'], ['probe', 'Probe'], ['config', 'Config'], ['metadata', 'Metadata']];

async function viewProcess(id, tab) {
  const enc = encodeURIComponent(id);
  let proc;
  try {
    proc = await api.get(`/api/v3/process/${enc}?filter=config,state,metadata`);
  } catch (e) {
    main.append(title(id), errorBox(e, e.status === 404 ? `There is no process “${id}”` : `Cannot load ${id}`),
      h('a', { href: '#/', class: 'button' }, 'Back to the processes'));
    return;
  }
  const badge = h('span', {}, stateBadge(proc.state));
  const actionsMsg = h('div', { 'aria-live': 'polite' });
  const doCmd = (cmd) => async () => {
    actionsMsg.replaceChildren();
    try { await command(id, cmd); refresh(); } catch (e) { actionsMsg.append(errorBox(e, `Cannot ${cmd} ${id}`)); }
  };
  const confirmBox = h('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm deletion' },
    h('span', {}, `Delete ${id}? Its outputs in memory are purged.`),
    h('button', { type: 'button', class: 'danger', dataset: { testid: 'confirm-delete' }, onclick: async () => {
      try { await api.del(`/api/v3/process/${enc}`); go('#/'); } catch (e) { actionsMsg.append(errorBox(e, `Cannot delete ${id}`)); }
    } }, 'Delete'),
    h('button', { type: 'button', onclick: () => { confirmBox.hidden = true; } }, 'Cancel'));
  const startBtn = h('button', { type: 'button', dataset: { testid: 'start' }, onclick: doCmd('start') }, 'Start');
  const stopBtn = h('button', { type: 'button', dataset: { testid: 'stop' }, onclick: doCmd('stop') }, 'Stop');
  main.append(
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { tabindex: '-1' }, id, ' ', badge), proc.reference ? h('p', { class: 'hint' }, proc.reference) : null),
      h('div', { class: 'row' }, startBtn, stopBtn,
        h('button', { type: 'button', dataset: { testid: 'restart' }, onclick: doCmd('restart') }, 'Restart'),
        h('a', { href: `#/process/${enc}/edit`, class: 'button', dataset: { testid: 'edit' } }, 'Edit'),
        h('button', { type: 'button', class: 'danger', dataset: { testid: 'delete' }, onclick: () => { confirmBox.hidden = false; confirmBox.querySelector('button').focus(); } }, 'Delete'))),
    confirmBox, actionsMsg);
  document.title = `${id} · Dragon Core`;

  // Tabs (WAI-ARIA tabs pattern: arrow keys move between them).
  const tablist = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Process pages' });
  const panel = h('div', { role: 'tabpanel', id: 'tabpanel', tabindex: '0', class: 'tabpanel' });
  TABS.forEach(([key, label]) => {
    const sel = key === tab;
    tablist.append(h('a', { role: 'tab', id: `tab-${key}`, href: `#/process/${enc}/${key}`, 'aria-selected': String(sel), 'aria-controls': 'tabpanel',
      tabindex: sel ? '0' : '-1', dataset: { testid: `tab-${key}` } }, label));
  });
  tablist.addEventListener('keydown', (e) => {
    const tabs = [...tablist.querySelectorAll('[role=tab]')];
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    let j = null;
    if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
    if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
    if (e.key === 'Home') j = 0;
    if (e.key === 'End') j = tabs.length - 1;
    if (j != null) { e.preventDefault(); tabs[j].focus(); tabs[j].click(); }
  });
  panel.setAttribute('aria-labelledby', `tab-${tab}`);
  main.append(tablist, panel);

  const listeners = [];
  const refresh = async () => {
    try {
      proc = await api.get(`/api/v3/process/${enc}?filter=config,state,metadata`);
    } catch (e) {
      if (e.status === 404) { actionsMsg.replaceChildren(errorBox(e, `${id} no longer exists`)); return; }
      throw e;
    }
    badge.replaceChildren(stateBadge(proc.state));
    const ordered = proc.state && proc.state.order === 'start';
    startBtn.disabled = ordered;
    stopBtn.disabled = !ordered;
    listeners.forEach((fn) => fn(proc));
  };
  every(POLL_MS, refresh);
  const onUpdate = (fn) => listeners.push(fn);
  const cfgCore = await loadCoreConfig();

  switch (tab) {
    case 'player': return tabPlayer(panel, proc, cfgCore, onUpdate);
    case 'overview': return tabOverview(panel, proc, cfgCore, onUpdate);
    case 'log': return tabLog(panel, id);
    case 'history': return tabHistory(panel, id);
    case 'probe': return tabProbe(panel, id);
    case 'config': return tabConfig(panel, proc);
    case 'metadata': return tabMetadata(panel, id);
    default: panel.append(emptyState('Unknown page', `“${tab}” is not a page of a process.`));
  }
}

function hostOf(address, fallbackPort) {
  const m = /^(.*):(\d+)$/.exec(address || '');
  let host = m ? m[1].replace(/^\[|\]$/g, '') : '';
  const port = m ? m[2] : fallbackPort;
  if (!host || host === '0.0.0.0' || host === '::') host = location.hostname;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function urlsOf(proc, core) {
  const id = proc.id;
  const origin = location.origin;
  const out = { whep: `${origin}/api/v3/whep/${encodeURIComponent(id)}`, hls: null, rtmp: null, srt: null, player: null };
  const hls = hlsUrlOf(proc.config);
  if (hls) out.hls = origin + hls;
  const streams = streamsOf(proc.config);
  const rtmpS = streams.find((s) => s.proto === 'rtmp');
  const srtS = streams.find((s) => s.proto === 'srt');
  if (core && core.rtmp) {
    const r = core.rtmp;
    const name = rtmpS ? rtmpS.name : id;
    const app = r.app && r.app !== '/' ? r.app.replace(/\/$/, '') : '';
    out.rtmp = `rtmp://${hostOf(r.address, '1935')}${app}/${name}${r.token ? `?token=${encodeURIComponent(r.token)}` : ''}`;
    out.rtmpDir = rtmpS ? rtmpS.dir : null;
  }
  if (core && core.srt) {
    const s = core.srt;
    const name = srtS ? srtS.name : id;
    const mode = srtS && srtS.dir === 'input' ? 'publish' : 'request';
    out.srt = `srt://${hostOf(s.address, '6000')}?mode=caller&transtype=live&streamid=${name},mode:${mode}${s.token ? `,token:${s.token}` : ''}${s.passphrase ? `&passphrase=${encodeURIComponent(s.passphrase)}` : ''}`;
    out.srtDir = srtS ? srtS.dir : null;
  }
  const wtoken = core && core.webrtc && core.webrtc.token;
  const p = new URL('/whep-player.html', origin);
  p.searchParams.set('url', `/api/v3/whep/${id}`);
  if (wtoken) p.searchParams.set('token', wtoken);
  out.player = p.href;
  out.viewerToken = !!wtoken;
  return out;
}

function urlFields(proc, core) {
  const u = urlsOf(proc, core);
  const webrtcOn = proc.config.webrtc && proc.config.webrtc.enabled;
  return h('section', { class: 'card', 'aria-labelledby': 'urls-title' },
    h('h2', { id: 'urls-title' }, 'Addresses'),
    copyField('WHEP URL', u.whep, 'whep-url', webrtcOn ? 'POST an SDP offer with Authorization: Bearer <API token or webrtc.token>.' : 'WebRTC is off for this process: turn it on under Edit.'),
    copyField('Player link', u.player, 'player-link', u.viewerToken ? 'Carries the viewer token (webrtc.token), never an admin token.' : 'Without webrtc.token set, viewers need an API token.'),
    copyField('HLS URL', u.hls || '', 'hls-url', u.hls ? null : 'This process writes no HLS playlist to memory.'),
    copyField('RTMP URL', u.rtmp || '', 'rtmp-url', u.rtmpDir === 'input' ? 'Publish to this URL (the process reads it).' : u.rtmpDir === 'output' ? 'Play from this URL.' : 'The built-in RTMP server, stream named after the process.'),
    copyField('SRT URL', u.srt || '', 'srt-url', u.srtDir === 'input' ? 'Publish to this URL (the process reads it).' : u.srtDir === 'output' ? 'Play from this URL.' : 'The built-in SRT server, stream named after the process.'));
}

function tabPlayer(panel, proc, core, onUpdate) {
  const webrtcOn = proc.config.webrtc && proc.config.webrtc.enabled;
  const hls = hlsUrlOf(proc.config);
  if (!webrtcOn && !hls) {
    panel.append(emptyState('Nothing to play', 'This process has neither WebRTC nor an HLS output in memory.',
      h('a', { href: `#/process/${encodeURIComponent(proc.id)}/edit`, class: 'button primary' }, 'Edit the process')));
    panel.append(urlFields(proc, core));
    return;
  }
  const player = new Player({
    whepUrl: `/api/v3/whep/${encodeURIComponent(proc.id)}`, hlsUrl: hls, token: () => api.access || '',
    mode: webrtcOn ? 'auto' : 'hls',
  });
  onLeave(() => player.destroy());
  const notRunning = h('p', { class: 'note', hidden: proc.state.exec === 'running' }, 'The process is not running: start it to play.');
  let wasRunning = proc.state.exec === 'running';
  onUpdate((p) => {
    const running = p.state.exec === 'running';
    notRunning.hidden = running;
    // Start playing once the process runs (after Start, or a moment after creating it).
    if (running && !wasRunning && ['idle', 'stopped', 'error'].includes(player.stats.state)) player.play();
    wasRunning = running;
  });
  panel.append(notRunning, player.el, urlFields(proc, core));
  if (proc.state.exec === 'running') player.play();
}

function tabOverview(panel, proc, core, onUpdate) {
  const dl = h('dl', { class: 'kv', dataset: { testid: 'overview' } });
  const viewers = h('div');
  const last = h('pre', { class: 'logline' });
  panel.append(h('section', { class: 'card' }, h('h2', {}, 'Now'), dl, h('h3', {}, 'Last log line'), last), h('section', { class: 'card' }, h('h2', {}, 'WebRTC viewers'), viewers), urlFields(proc, core));
  const paint = (p) => {
    const st = p.state || {}, pr = st.progress || {};
    const rows = [['State', `${st.exec} (order: ${st.order})`], ['Uptime', st.exec === 'running' ? fmtDuration(st.runtime_seconds) : '–'],
      ['Frames', fmtNum(pr.frame)], ['FPS', fmtNum(pr.fps, 1)], ['Bitrate', fmtKbit(bitrateOf(pr))], ['Speed', pr.speed != null ? `${pr.speed}×` : '–'],
      ['Dropped / duplicated', `${fmtNum(pr.drop)} / ${fmtNum(pr.dup)}`], ['CPU', `${fmtNum(st.cpu_usage, 1)} %`], ['Memory', fmtBytes(st.memory_bytes)],
      ['Created', fmtTime(p.created_at)], ['Updated', fmtTime(p.updated_at)]];
    dl.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    last.textContent = st.last_logline || '–';
    const w = st.webrtc;
    if (!p.config.webrtc || !p.config.webrtc.enabled) viewers.replaceChildren(h('p', { class: 'hint' }, 'WebRTC is off for this process.'));
    else if (!w) viewers.replaceChildren(h('p', { class: 'hint' }, 'No WebRTC stream yet (is the process running?).'));
    else if (!w.viewer_list || !w.viewer_list.length) viewers.replaceChildren(h('p', { class: 'hint', dataset: { testid: 'no-viewers' } }, 'Nobody is watching over WebRTC.'));
    else {
      viewers.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Session', 'Address', 'Connected', 'Sent', 'NACKs', 'PLIs', 'Lost', 'Setup'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, w.viewer_list.map((v) => h('tr', {}, h('td', {}, v.resource), h('td', {}, v.address || '–'), h('td', {}, v.connected ? 'yes' : 'no'),
          h('td', {}, fmtBytes(v.bytes)), h('td', {}, fmtNum(v.nacks)), h('td', {}, fmtNum(v.plis)), h('td', {}, `${fmtNum((v.fraction_lost || 0) * 100, 1)} %`),
          h('td', {}, v.setup_ms != null ? `${v.setup_ms} ms` : '–')))))));
    }
  };
  paint(proc);
  onUpdate(paint);
}

function logLines(lines) {
  return lines.map((l) => (Array.isArray(l) ? `${fmtTime(l[0])}  ${l[1]}` : String(l))).join('\n');
}

function tabLog(panel, id) {
  const pre = h('pre', { class: 'log', tabindex: '0', 'aria-label': 'FFmpeg log', dataset: { testid: 'log' } }, 'Loading…');
  const follow = h('input', { type: 'checkbox', id: 'follow', checked: true });
  panel.append(h('div', { class: 'row' }, h('div', { class: 'check' }, follow, h('label', { for: 'follow' }, 'Follow the end')),
    h('span', { class: 'hint' }, 'The current run\'s FFmpeg output; refreshes every 2 s.')), pre);
  every(POLL_MS, async () => {
    try {
      const r = await api.get(`/api/v3/process/${encodeURIComponent(id)}/report`);
      const text = [...(r.prelude || []).map((l) => `  ${l}`), ...(r.log || []).map((l) => `${fmtTime(l[0])}  ${l[1]}`)].join('\n');
      pre.textContent = text || '(empty: the process has not run yet)';
      if (follow.checked) pre.scrollTop = pre.scrollHeight;
    } catch (e) { pre.replaceChildren(errorBox(e, 'Cannot load the log')); }
  });
}

async function tabHistory(panel, id) {
  panel.append(h('p', { class: 'hint' }, 'Loading…'));
  try {
    const r = await api.get(`/api/v3/process/${encodeURIComponent(id)}/report`);
    panel.replaceChildren();
    const hist = (r.history || []).slice().reverse();
    if (!hist.length) { panel.append(emptyState('No history yet', 'Each finished run of FFmpeg appears here, with its log and why it ended.')); return; }
    hist.forEach((run, i) => {
      const head = `${fmtTime(run.created_at)} → ${run.exited_at ? fmtTime(run.exited_at) : '…'}${run.exit_state ? ` · ${run.exit_state}` : ''}${run.exit_code != null ? ` (exit ${run.exit_code})` : ''}`;
      panel.append(h('details', { class: 'card', open: i === 0 }, h('summary', {}, head),
        run.progress ? h('p', { class: 'hint' }, `frames ${fmtNum(run.progress.frame)}, ${fmtNum(run.progress.fps, 1)} fps, ${fmtNum(run.progress.bitrate_kbit)} kbit/s`) : null,
        h('pre', { class: 'log' }, logLines([...(run.prelude || []), ...(run.log || [])]))));
    });
  } catch (e) { panel.replaceChildren(errorBox(e, 'Cannot load the history')); }
}

function tabProbe(panel, id) {
  const out = h('div', { 'aria-live': 'polite' });
  const btn = h('button', { type: 'button', class: 'primary', dataset: { testid: 'run-probe' } }, 'Probe the inputs');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    out.replaceChildren(h('p', { class: 'hint' }, 'Probing (FFmpeg reads the inputs for a few seconds)…'));
    try {
      const r = await api.get(`/api/v3/process/${encodeURIComponent(id)}/probe`);
      const streams = r.streams || [];
      out.replaceChildren(streams.length ? h('div', { class: 'table-wrap' }, h('table', { dataset: { testid: 'probe-table' } },
        h('thead', {}, h('tr', {}, ['#', 'Type', 'Codec', 'Details', 'Bitrate', 'URL'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, streams.map((s) => h('tr', {}, h('td', {}, `${s.index}:${s.stream}`), h('td', {}, s.type), h('td', {}, s.codec),
          h('td', {}, s.type === 'video' ? `${s.width}×${s.height} ${s.pix_fmt || ''} ${s.fps ? `${s.fps} fps` : ''}` : `${s.sampling_hz} Hz ${s.layout || ''} ${s.channels || ''} ch`),
          h('td', {}, s.bitrate_kbps ? `${s.bitrate_kbps} kbit/s` : '–'), h('td', { class: 'break' }, s.url)))))) : emptyState('No streams found', 'FFmpeg found nothing it can read; see its log below.'),
      h('details', {}, h('summary', {}, 'FFmpeg\'s probe log'), h('pre', { class: 'log' }, (r.log || []).join('\n'))));
    } catch (e) { out.replaceChildren(errorBox(e, 'The probe failed')); }
    btn.disabled = false;
  });
  panel.append(h('p', { class: 'hint' }, 'Asks FFmpeg what the inputs carry (codecs, resolution, audio layout).'), btn, out);
}

function tabConfig(panel, proc) {
  panel.append(h('p', { class: 'hint' }, 'The stored configuration. Edit it as JSON or with the form.'),
    h('div', { class: 'row' }, h('a', { href: `#/process/${encodeURIComponent(proc.id)}/edit`, class: 'button' }, 'Edit')),
    h('pre', { class: 'log code', tabindex: '0', dataset: { testid: 'config-json' } }, JSON.stringify(proc.config, null, 2)));
  if (proc.state && Array.isArray(proc.state.command)) {
    panel.append(h('h2', {}, 'FFmpeg command'), h('pre', { class: 'log', tabindex: '0' }, proc.state.command.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ')));
  }
}

async function tabMetadata(panel, id) {
  const enc = encodeURIComponent(id);
  const list = h('div');
  const keyIn = h('input', { id: 'meta-key', type: 'text', spellcheck: 'false', required: true });
  const valIn = h('textarea', { id: 'meta-value', class: 'code', rows: '6', spellcheck: 'false' });
  const msg = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    try {
      const all = (await api.get(`/api/v3/process/${enc}/metadata`)) || {};
      const keys = Object.keys(all);
      list.replaceChildren(keys.length ? h('dl', { class: 'kv' }, keys.flatMap((k) => [h('dt', {}, h('button', { type: 'button', class: 'link', onclick: () => { keyIn.value = k; valIn.value = JSON.stringify(all[k], null, 2); valIn.focus(); } }, k)),
        h('dd', {}, h('pre', { class: 'inline' }, JSON.stringify(all[k])))])) : emptyState('No metadata', 'Store any JSON under a key of your choice (the form keeps its own under “dragon-ui”).'));
    } catch (e) { list.replaceChildren(errorBox(e, 'Cannot load the metadata')); }
  };
  const form = h('form', { class: 'card form', novalidate: true },
    h('h2', {}, 'Set a key'),
    h('div', { class: 'field' }, h('label', { for: 'meta-key' }, 'Key'), keyIn),
    h('div', { class: 'field' }, h('label', { for: 'meta-value' }, 'Value (JSON; null deletes the key)'), valIn),
    msg, h('button', { type: 'submit', class: 'primary' }, 'Save'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    let v;
    try { v = JSON.parse(valIn.value); } catch (err) { msg.append(errorBox(new Error(`Not JSON: ${err.message}`), 'Not saved')); return; }
    if (!keyIn.value.trim()) { msg.append(errorBox(new Error('Enter a key.'), 'Not saved')); return; }
    try { await api.put(`/api/v3/process/${enc}/metadata/${encodeURIComponent(keyIn.value.trim())}`, v); msg.append(h('p', { class: 'note' }, 'Saved.')); load(); } catch (err) { msg.append(errorBox(err, 'Not saved')); }
  });
  panel.append(list, form);
  load();
}

// ---------- settings ----------
const SECRET = /^\*+$/;
const SETTINGS = [
  ['RTMP server', [['rtmp.enable', 'bool', 'Enabled'], ['rtmp.address', 'text', 'Address', 'host:port, e.g. :1935'], ['rtmp.app', 'text', 'App', 'path prefix of stream names, / for none'],
    ['rtmp.token', 'secret', 'Token', 'publishers and players add ?token=…'], ['rtmp.enable_tls', 'bool', 'RTMPS'], ['rtmp.address_tls', 'text', 'RTMPS address']]],
  ['SRT server', [['srt.enable', 'bool', 'Enabled'], ['srt.address', 'text', 'Address', 'host:port, e.g. :6000'], ['srt.passphrase', 'secret', 'Passphrase', '10 to 79 characters, or empty'],
    ['srt.token', 'secret', 'Token', 'part of the streamid']]],
  ['WebRTC', [['webrtc.enable', 'bool', 'Enabled'], ['webrtc.address', 'text', 'UDP address', 'one port for all viewers, e.g. :8555'],
    ['webrtc.public_ips', 'list', 'Public IPs', 'comma-separated; announced to viewers (behind NAT or in Docker)'], ['webrtc.public_hosts', 'list', 'Public host names', 'comma-separated'],
    ['webrtc.token', 'secret', 'Viewer token', 'players may use it instead of an API token'], ['webrtc.max_viewers', 'int', 'Viewers per process', '0: unlimited'],
    ['webrtc.ice_timeout_seconds', 'int', 'ICE timeout (s)'], ['webrtc.gop_cache', 'bool', 'Start viewers from the last keyframe (GOP cache)']]],
  ['Storage', [['storage.memory.max_size_mbytes', 'int', 'Memory limit (MB)', '0: unlimited'], ['storage.memory.purge', 'bool', 'Purge the oldest files when memory is full'],
    ['storage.memory.auth.enable', 'bool', 'Uploads to /memfs need a password'], ['storage.memory.auth.username', 'text', '/memfs username'],
    ['storage.memory.auth.password', 'secret', '/memfs password'], ['storage.disk.dir', 'text', 'Disk directory'], ['storage.disk.max_size_mbytes', 'int', 'Disk limit (MB)', '0: unlimited']]],
];

const getPath = (o, path) => path.split('.').reduce((a, k) => (a == null ? undefined : a[k]), o);
const setPath = (o, path, v) => { const ks = path.split('.'); const last = ks.pop(); ks.reduce((a, k) => a[k], o)[last] = v; };

async function viewSettings() {
  main.append(title('Settings'), h('p', { class: 'hint' }, 'Loading…'));
  let doc;
  try { doc = await api.get('/api/v3/config'); } catch (e) { main.replaceChildren(title('Settings'), errorBox(e, 'Cannot load the configuration')); return; }
  main.replaceChildren(title('Settings'));
  const cfg = doc.config;
  const inputs = {};
  const errs = {};
  const fieldsets = SETTINGS.map(([legend, fields]) => {
    const present = fields.filter(([path]) => getPath(cfg, path) !== undefined);
    if (!present.length) return null;
    return h('fieldset', {}, h('legend', {}, legend), h('div', { class: 'grid2' }, present.map(([path, type, label, hint]) => {
      const id = `cfg-${path.replace(/\./g, '-')}`;
      const v = getPath(cfg, path);
      const err = h('span', { class: 'field-error', id: `${id}-err` });
      errs[path] = err;
      const hid = `${id}-hint`;
      if (type === 'bool') {
        const el = h('input', { id, type: 'checkbox', checked: !!v, dataset: { testid: id } });
        inputs[path] = { el, type };
        return h('div', { class: 'check' }, el, h('label', { for: id }, label), hint ? h('span', { class: 'hint block' }, hint) : null, err);
      }
      const attrs = { id, dataset: { testid: id }, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': `${hint || type === 'secret' ? hid : ''} ${id}-err`.trim() };
      const el = h('input', { ...attrs, type: type === 'int' ? 'number' : 'text', inputmode: type === 'int' ? 'numeric' : null,
        value: type === 'list' ? (v || []).join(', ') : String(v ?? '') });
      inputs[path] = { el, type };
      const redacted = type === 'secret' && SECRET.test(String(v || ''));
      const hintText = [hint, redacted ? 'The server hides this secret: leave the stars to keep it.' : null].filter(Boolean).join(' ');
      return h('div', { class: 'field' }, h('label', { for: id }, label), el, hintText ? h('span', { class: 'hint', id: hid }, hintText) : null, err);
    })));
  }).filter(Boolean);
  const msg = h('div', { 'aria-live': 'polite', dataset: { testid: 'settings-message' } });
  const save = h('button', { type: 'submit', class: 'primary', dataset: { testid: 'save-settings' } }, 'Save');
  const form = h('form', { class: 'card form', novalidate: true }, fieldsets,
    h('p', { class: 'hint' }, `Other settings: edit the config file or use PUT /api/v3/config. Loaded ${fmtTime(Date.parse(doc.loaded_at) / 1000 || doc.loaded_at)}.`),
    msg, h('div', { class: 'row' }, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.replaceChildren();
    Object.values(errs).forEach((x) => { x.textContent = ''; });
    Object.values(inputs).forEach(({ el }) => el.removeAttribute('aria-invalid'));
    const next = JSON.parse(JSON.stringify(cfg));
    for (const [path, { el, type }] of Object.entries(inputs)) {
      let v;
      if (type === 'bool') v = el.checked;
      else if (type === 'int') v = Number(el.value);
      else if (type === 'list') v = el.value.split(',').map((s) => s.trim()).filter(Boolean);
      else v = el.value;
      setPath(next, path, v);
    }
    save.disabled = true;
    try {
      await api.put('/api/v3/config', next);
      const reload = h('button', { type: 'button', class: 'primary', dataset: { testid: 'reload-config' }, onclick: async () => {
        reload.disabled = true;
        try { await api.get('/api/v3/config/reload'); msg.replaceChildren(h('p', { class: 'note', role: 'status' }, 'The server is applying the new settings.')); coreConfig = null; } catch (err) { msg.append(errorBox(err, 'Reload failed')); }
      } }, 'Apply now (reload)');
      msg.append(h('p', { class: 'note', role: 'status' }, 'Saved. The settings apply at the next reload.'), reload);
    } catch (err) {
      msg.append(errorBox(err, 'The server refused the settings'));
      if (err.details && !Array.isArray(err.details)) {
        for (const [k, reasons] of Object.entries(err.details)) {
          const path = Object.keys(inputs).find((p) => p === k || `CORE_${p.replace(/\./g, '_').toUpperCase()}` === k);
          if (path) { errs[path].textContent = [].concat(reasons).join('; '); inputs[path].el.setAttribute('aria-invalid', 'true'); }
        }
      }
    } finally { save.disabled = false; }
  });
  main.append(form);
}

// ---------- start ----------
api.onLogout = (reason) => { logoutNote = reason || ''; coreConfig = null; go('#/login'); };
window.addEventListener('hashchange', route);
(async () => {
  try {
    await api.about();
  } catch (e) {
    main.replaceChildren(errorBox(e, 'The server does not answer'));
    return;
  }
  if (api.access) api.scheduleRefresh();
  await route();
  window.dragonUI.ready = true;
})();
export { ApiError };
