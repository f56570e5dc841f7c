// Small helpers shared by the views: DOM building, formatting, clipboard.

// h('button', {class: 'x', onclick: fn, dataset: {testid: 'y'}}, 'text', child, [children])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

let idSeq = 0;
export const uid = (prefix = 'f') => `${prefix}-${++idSeq}`;

export function fmtDuration(seconds) {
  if (seconds == null || seconds < 0 || Number.isNaN(seconds)) return '–';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  if (d) return `${d}d ${hh}h ${mm}m`;
  if (hh) return `${hh}h ${mm}m ${ss}s`;
  if (mm) return `${mm}m ${ss}s`;
  return `${ss}s`;
}

export function fmtBytes(n) {
  if (n == null || Number.isNaN(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 && i ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function fmtNum(n, digits = 0) {
  if (n == null || Number.isNaN(Number(n))) return '–';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtTime(unixSeconds) {
  if (!unixSeconds) return '–';
  const d = new Date(Number(unixSeconds) * 1000);
  return d.toLocaleString('en-GB', { hour12: false });
}

// Copies text; answers true when the clipboard took it. The last copied text stays readable for
// people (the status line) and tests (window.dragonUI.lastCopied).
export async function copyText(text) {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); ok = true; }
  } catch { /* fall back below */ }
  if (!ok) {
    const ta = h('textarea', { style: { position: 'fixed', opacity: '0', top: '0', left: '0' }, readonly: true });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
  }
  window.dragonUI.lastCopied = text;
  return ok;
}

// A labelled read-only URL with a copy button and a polite live note.
export function copyField(label, value, testid, hint) {
  const id = uid('copy');
  const note = h('span', { class: 'hint copy-note', role: 'status', 'aria-live': 'polite', dataset: { testid: `${testid}-note` } });
  const input = h('input', { id, type: 'text', readonly: true, value, spellcheck: 'false', dataset: { testid } });
  input.addEventListener('focus', () => input.select());
  const btn = h('button', {
    type: 'button', class: 'small', dataset: { testid: `${testid}-copy` }, 'aria-label': `Copy ${label}`,
    disabled: !value,
    onclick: async () => {
      const ok = await copyText(input.value);
      note.textContent = ok ? 'Copied.' : 'Select the text and copy it.';
      if (!ok) { input.focus(); input.select(); }
      setTimeout(() => { note.textContent = ''; }, 4000);
    },
  }, 'Copy');
  return h('div', { class: 'field copy-field' },
    h('label', { for: id }, label),
    h('div', { class: 'row nowrap' }, input, btn),
    hint ? h('span', { class: 'hint' }, hint) : null,
    note);
}

export function errorBox(err, title) {
  const box = h('div', { class: 'error-box', role: 'alert', dataset: { testid: 'error' } });
  box.append(h('strong', {}, title || (err && err.status ? `Error ${err.status}` : 'Error')));
  const msg = err && err.message ? err.message : String(err);
  box.append(h('p', { dataset: { testid: 'error-message' } }, msg));
  const details = err && err.details;
  if (details && (Array.isArray(details) ? details.length : Object.keys(details).length)) {
    const list = h('ul', { dataset: { testid: 'error-details' } });
    if (Array.isArray(details)) details.forEach((d) => list.append(h('li', {}, typeof d === 'string' ? d : JSON.stringify(d))));
    else Object.entries(details).forEach(([k, v]) => list.append(h('li', {}, h('code', {}, k), ': ', [].concat(v).join('; '))));
    box.append(list);
  }
  return box;
}

export function emptyState(title, text, ...actions) {
  return h('div', { class: 'empty', dataset: { testid: 'empty' } }, h('h2', {}, title), text ? h('p', {}, text) : null,
    actions.length ? h('div', { class: 'row center' }, actions) : null);
}
