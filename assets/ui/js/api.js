// The API client: JWT login, refresh with the refresh token, logout, and JSON requests whose errors
// carry the API's {code, message, details} (or the config's {"key": ["reason"]}).

const KEY = 'dragon-core-ui';

export class ApiError extends Error {
  constructor(status, message, details, body) {
    super(message);
    this.status = status;
    this.details = details;
    this.body = body;
  }
}

function decodeJwt(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
  } catch { return {}; }
}

async function errorFrom(res) {
  const text = await res.text().catch(() => '');
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    if (typeof body.message === 'string') {
      return new ApiError(res.status, body.message, body.details || [], body);
    }
    // Config validation (409): {"rtmp.address": ["reason", ...], ...}
    const keys = Object.keys(body);
    if (keys.length && keys.every((k) => Array.isArray(body[k]))) {
      return new ApiError(res.status, `The configuration has ${keys.length} invalid value${keys.length > 1 ? 's' : ''}.`, body, body);
    }
  }
  return new ApiError(res.status, text.trim() || `${res.status} ${res.statusText}`, [], body);
}

class Api {
  constructor() {
    this.access = null;
    this.refresh = null;
    this.user = null;
    this.authRequired = true;
    this.onLogout = () => {};
    this.refreshTimer = 0;
    this.refreshing = null;
    try {
      const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
      if (saved) { this.access = saved.access; this.refresh = saved.refresh; this.user = saved.user; }
    } catch { /* nothing saved */ }
  }

  get loggedIn() { return !this.authRequired || !!this.access; }

  save() {
    if (this.access) sessionStorage.setItem(KEY, JSON.stringify({ access: this.access, refresh: this.refresh, user: this.user }));
    else sessionStorage.removeItem(KEY);
  }

  // GET /api without a token: does this server want a login at all?
  async about() {
    const res = await fetch('/api', { headers: this.access ? { Authorization: `Bearer ${this.access}` } : {} });
    if (!res.ok) throw await errorFrom(res);
    const about = await res.json();
    this.authRequired = Array.isArray(about.auths) ? about.auths.length > 0 : true;
    return about;
  }

  async login(username, password) {
    const res = await fetch('/api/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
    });
    if (!res.ok) throw await errorFrom(res);
    const j = await res.json();
    this.access = j.access_token;
    this.refresh = j.refresh_token;
    this.user = username;
    this.save();
    this.scheduleRefresh();
  }

  logout(reason) {
    this.access = null;
    this.refresh = null;
    clearTimeout(this.refreshTimer);
    this.save();
    this.onLogout(reason);
  }

  // Renews the access token a minute before it expires (and on a 401).
  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    if (!this.access) return;
    const exp = decodeJwt(this.access).exp;
    if (!exp) return;
    const ms = Math.max(5000, exp * 1000 - Date.now() - 60000);
    this.refreshTimer = setTimeout(() => this.renew().catch(() => {}), ms);
  }

  async renew() {
    if (!this.refresh) throw new ApiError(401, 'Not logged in', []);
    if (!this.refreshing) {
      this.refreshing = (async () => {
        const res = await fetch('/api/login/refresh', { headers: { Authorization: `Bearer ${this.refresh}` } });
        if (!res.ok) throw await errorFrom(res);
        const j = await res.json();
        this.access = j.access_token;
        this.save();
        this.scheduleRefresh();
      })().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  // A JSON request; `raw` answers the Response instead of parsed JSON.
  async request(method, path, body, { raw = false, retry = true, headers = {} } = {}) {
    const init = { method, headers: { ...headers }, cache: 'no-store' };
    if (this.access) init.headers.Authorization = `Bearer ${this.access}`;
    if (body !== undefined) {
      if (typeof body === 'string') init.body = body;
      else { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
      if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, `The server did not answer (${e.message}). Is it running?`, []);
    }
    if (res.status === 401 && retry && this.refresh) {
      try {
        await this.renew();
      } catch {
        this.logout('Your session expired. Please log in again.');
        throw new ApiError(401, 'Your session expired. Please log in again.', []);
      }
      return this.request(method, path, body, { raw, retry: false, headers });
    }
    if (res.status === 401 && this.authRequired) {
      this.logout('Please log in.');
      throw await errorFrom(res);
    }
    if (!res.ok) throw await errorFrom(res);
    if (raw) return res;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  get(path) { return this.request('GET', path); }
  put(path, body) { return this.request('PUT', path, body); }
  post(path, body) { return this.request('POST', path, body); }
  del(path) { return this.request('DELETE', path); }
}

export const api = new Api();
