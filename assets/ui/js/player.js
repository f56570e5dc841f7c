// A player for one process: WebRTC over WHEP first, HLS as the fallback (native HLS where the
// browser has it, else hls.js, loaded on demand). Its figures are on screen and in
// window.dragonPlayer for tests.
import { h, fmtNum } from './util.js';

export class Player {
  // opts: { whepUrl, hlsUrl (or null), token: () => string, mode: 'auto' | 'whep' | 'hls' }
  constructor(opts) {
    this.opts = opts;
    this.session = null;
    this.hls = null;
    this.stats = this.freshStats();
    window.dragonPlayer = this.stats;
    this.el = this.render();
  }

  freshStats() {
    return { tech: null, state: 'idle', framesDecoded: 0, videoCodec: null, audioCodec: null, bitrateKbps: null,
             resolution: null, timeToFirstFrameMs: null, error: null };
  }

  render() {
    this.video = h('video', { muted: true, autoplay: true, playsinline: true, controls: true, dataset: { testid: 'video' },
                              'aria-label': 'Live video' });
    this.video.muted = true;
    this.status = h('p', { class: 'player-status', role: 'status', 'aria-live': 'polite', dataset: { testid: 'player-status' } }, 'Idle');
    this.err = h('div', { class: 'error-box', role: 'alert', hidden: true, dataset: { testid: 'player-error' } });
    const cell = (testid) => h('dd', { dataset: { testid } }, '–');
    this.cells = {
      tech: cell('player-tech'), state: cell('player-state'), vcodec: cell('video-codec'), acodec: cell('audio-codec'),
      res: cell('resolution'), bitrate: cell('bitrate'), frames: cell('frames-decoded'), ttff: cell('time-to-first-frame'),
    };
    const c = this.cells;
    this.modeSel = h('select', { id: 'player-mode', dataset: { testid: 'player-mode' } },
      h('option', { value: 'auto' }, 'WebRTC, else HLS'), h('option', { value: 'whep' }, 'WebRTC (WHEP)'),
      h('option', { value: 'hls', disabled: !this.opts.hlsUrl }, 'HLS'));
    this.modeSel.value = this.opts.mode || 'auto';
    // Switching the source while playing restarts with the new one.
    this.modeSel.addEventListener('change', () => { if (this.session || this.hls) this.play(); });
    this.playBtn = h('button', { type: 'button', class: 'primary', dataset: { testid: 'play' }, onclick: () => this.play() }, 'Play');
    this.stopBtn = h('button', { type: 'button', dataset: { testid: 'stop-player' }, disabled: true, onclick: () => this.stop() }, 'Stop');
    return h('div', { class: 'player' },
      h('div', { class: 'player-layout' },
        h('div', {},
          h('div', { class: 'video-wrap' }, this.video),
          h('div', { class: 'row' }, h('label', { for: 'player-mode', class: 'inline' }, 'Source'), this.modeSel, this.playBtn, this.stopBtn),
          this.status, this.err),
        h('dl', { class: 'stats', 'aria-label': 'Playback statistics' },
          h('dt', {}, 'Technology'), c.tech, h('dt', {}, 'State'), c.state,
          h('dt', {}, 'Video codec'), c.vcodec, h('dt', {}, 'Audio codec'), c.acodec,
          h('dt', {}, 'Resolution'), c.res, h('dt', {}, 'Bitrate'), c.bitrate,
          h('dt', {}, 'Frames decoded'), c.frames, h('dt', {}, 'First frame after'), c.ttff)));
  }

  setState(state, note) {
    this.stats.state = state;
    this.cells.state.textContent = state;
    const labels = { idle: 'Idle', negotiating: 'Sending the WHEP offer…', connecting: 'Connecting…', loading: 'Loading HLS…',
                     playing: 'Playing', stopped: 'Stopped', error: 'Could not play', disconnected: 'Disconnected' };
    this.status.textContent = (labels[state] || state) + (note ? ` — ${note}` : '');
    this.status.className = `player-status state-${state}`;
  }

  showError(msg) {
    this.stats.error = msg || null;
    this.err.hidden = !msg;
    this.err.textContent = msg || '';
  }

  async play() {
    await this.stop(true);
    this.stats = Object.assign(this.stats, this.freshStats());
    Object.values(this.cells).forEach((c) => { c.textContent = '–'; });
    this.showError(null);
    this.playBtn.disabled = true;
    this.stopBtn.disabled = false;
    const mode = this.modeSel.value;
    if (mode !== 'hls') {
      try {
        await this.playWhep();
        return;
      } catch (e) {
        const why = e.message || String(e);
        if (mode === 'whep' || !this.opts.hlsUrl) {
          this.setState('error');
          this.showError(`WebRTC: ${why}`);
          this.playBtn.disabled = false;
          this.stopBtn.disabled = true;
          return;
        }
        this.showError(`WebRTC did not play (${why}); trying HLS.`);
      }
    }
    try {
      await this.playHls();
    } catch (e) {
      this.setState('error');
      this.showError(`HLS: ${e.message || e}`);
      this.playBtn.disabled = false;
      this.stopBtn.disabled = true;
    }
  }

  // ---------- WHEP ----------
  async playWhep() {
    this.stats.tech = 'WebRTC (WHEP)';
    this.cells.tech.textContent = this.stats.tech;
    this.setState('negotiating');
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    const s = this.session = { pc, resourceUrl: null, t0: performance.now(), timer: 0, prev: null, stream: new MediaStream() };
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (ev) => {
      s.stream.addTrack(ev.track);
      if (this.video.srcObject !== s.stream) this.video.srcObject = s.stream;
      this.video.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (this.session !== s) return;
      if (pc.connectionState === 'failed') {
        this.setState('error');
        this.showError('The WebRTC connection failed: no media path to the server (is its WebRTC UDP port reachable?).');
      } else if (pc.connectionState === 'disconnected') this.setState('disconnected');
      else if (pc.connectionState === 'connected' && this.stats.state !== 'playing') this.setState('connecting', 'waiting for the first frame');
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.watchFirstFrame(s);
    let res;
    // 503 + Retry-After: the process has not sent media yet (it just started); wait a little.
    for (let attempt = 0; ; attempt++) {
      const token = this.opts.token();
      try {
        res = await fetch(this.opts.whepUrl, {
          method: 'POST', cache: 'no-store',
          headers: { 'Content-Type': 'application/sdp', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          body: pc.localDescription.sdp,
        });
      } catch (e) {
        this.teardown(s);
        throw new Error(`the server did not answer (${e.message})`);
      }
      if (res.status !== 503 || !res.headers.get('Retry-After') || attempt >= 10 || this.session !== s) break;
      this.setState('negotiating', 'waiting for the stream to start');
      await new Promise((r) => setTimeout(r, 1000 * Math.min(3, Number(res.headers.get('Retry-After')) || 1)));
      if (this.session !== s) throw new Error('stopped');
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      let msg = text;
      try { const j = JSON.parse(text); msg = [j.message, ...(j.details || [])].filter(Boolean).join(': '); } catch { /* text */ }
      this.teardown(s);
      throw new Error(`HTTP ${res.status}${msg ? ` — ${msg}` : ''}`);
    }
    const loc = res.headers.get('Location');
    if (loc) s.resourceUrl = new URL(loc, new URL(this.opts.whepUrl, location.href)).href;
    const answer = await res.text();
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    this.setState('connecting');
    s.timer = setInterval(() => this.tick(s), 1000);
  }

  watchFirstFrame(s) {
    const done = () => {
      if (this.session !== s || this.stats.timeToFirstFrameMs != null) return;
      this.stats.timeToFirstFrameMs = Math.round(performance.now() - s.t0);
      this.cells.ttff.textContent = `${this.stats.timeToFirstFrameMs} ms`;
      this.setState('playing');
    };
    if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) this.video.requestVideoFrameCallback(done);
    else this.video.addEventListener('playing', done, { once: true });
  }

  async tick(s) {
    if (this.session !== s || s.pc.signalingState === 'closed') return;
    const stats = await s.pc.getStats();
    const byId = new Map();
    stats.forEach((r) => byId.set(r.id, r));
    let v = null, a = null;
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') v = r;
      if (r.type === 'inbound-rtp' && r.kind === 'audio') a = r;
    });
    const codec = (r) => { const c = r && r.codecId && byId.get(r.codecId); return c ? c.mimeType.replace(/^(video|audio)\//, '') + (c.sdpFmtpLine ? ` (${c.sdpFmtpLine})` : '') : null; };
    const bytes = (v ? v.bytesReceived : 0) + (a ? a.bytesReceived : 0);
    const now = performance.now();
    if (s.prev) this.stats.bitrateKbps = Math.round(((bytes - s.prev.bytes) * 8) / (now - s.prev.t));
    s.prev = { bytes, t: now };
    this.stats.framesDecoded = (v && v.framesDecoded) || 0;
    this.stats.videoCodec = codec(v) || this.stats.videoCodec;
    this.stats.audioCodec = codec(a) || this.stats.audioCodec;
    this.stats.resolution = v && v.frameWidth ? `${v.frameWidth}×${v.frameHeight}${v.framesPerSecond ? ` @ ${v.framesPerSecond} fps` : ''}` : null;
    if (this.stats.framesDecoded > 0 && this.stats.state !== 'playing' && this.stats.state !== 'error') this.setState('playing');
    this.paint();
  }

  paint() {
    const st = this.stats, c = this.cells;
    c.vcodec.textContent = st.videoCodec || '–';
    c.acodec.textContent = st.audioCodec || '–';
    c.res.textContent = st.resolution || '–';
    c.bitrate.textContent = st.bitrateKbps == null ? '–' : `${fmtNum(st.bitrateKbps)} kbit/s`;
    c.frames.textContent = fmtNum(st.framesDecoded);
  }

  // ---------- HLS ----------
  async playHls() {
    const url = this.opts.hlsUrl;
    this.stats.tech = 'HLS';
    this.cells.tech.textContent = 'HLS';
    this.setState('loading');
    const t0 = performance.now();
    const s = this.session = { hls: true, timer: 0, prev: null, t0 };
    this.watchFirstFrame(s);
    // hls.js wherever Media Source Extensions exist (it plays from the live edge and reports the
    // codecs); the browser's own HLS (Safari on iOS) otherwise.
    let Hls = null;
    try { ({ default: Hls } = await import('/ui/vendor/hls.light.min.mjs')); } catch { Hls = null; }
    if (this.session !== s) return;
    if (Hls && Hls.isSupported()) {
      this.hls = new Hls({ enableWorker: false, lowLatencyMode: true, liveSyncDurationCount: 2 });
      this.hls.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) { this.setState('error'); this.showError(`HLS: ${data.details || data.type}`); }
      });
      this.hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
        const lvl = this.hls.levels[data.level];
        if (lvl) { this.stats.videoCodec = lvl.videoCodec || null; this.stats.audioCodec = lvl.audioCodec || null; }
      });
      this.hls.loadSource(url);
      this.hls.attachMedia(this.video);
      this.stats.tech = 'HLS (hls.js)';
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.video.src = url;
      this.stats.tech = 'HLS (native)';
    } else {
      throw new Error('this browser can play neither WebRTC nor HLS (no Media Source Extensions)');
    }
    this.cells.tech.textContent = this.stats.tech;
    this.video.play().catch(() => {});
    s.timer = setInterval(() => {
      if (this.session !== s) return;
      const q = this.video.getVideoPlaybackQuality ? this.video.getVideoPlaybackQuality() : null;
      this.stats.framesDecoded = q ? q.totalVideoFrames : 0;
      this.stats.resolution = this.video.videoWidth ? `${this.video.videoWidth}×${this.video.videoHeight}` : null;
      if (this.hls) {
        const est = this.hls.bandwidthEstimate;
        const lvl = this.hls.levels && this.hls.levels[this.hls.currentLevel];
        this.stats.bitrateKbps = lvl && lvl.bitrate ? Math.round(lvl.bitrate / 1000) : (est ? Math.round(est / 1000) : null);
      }
      this.paint();
    }, 1000);
  }

  // ---------- stop ----------
  teardown(s) {
    if (!s) return;
    clearInterval(s.timer);
    if (s.pc) { try { s.pc.close(); } catch { /* closed */ } }
    if (this.session === s) this.session = null;
  }

  async stop(quiet = false) {
    const s = this.session;
    if (this.hls) { this.hls.destroy(); this.hls = null; }
    this.video.removeAttribute('src');
    this.video.srcObject = null;
    if (s) {
      this.teardown(s);
      if (s.resourceUrl) {
        const token = this.opts.token();
        await fetch(s.resourceUrl, { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {} }).catch(() => {});
      }
    }
    this.playBtn.disabled = false;
    this.stopBtn.disabled = true;
    if (!quiet) this.setState('stopped');
  }

  // On leaving the page: free the server's viewer at once.
  destroy() {
    const s = this.session;
    if (s && s.resourceUrl) {
      const token = this.opts.token();
      fetch(s.resourceUrl, { method: 'DELETE', keepalive: true, headers: token ? { Authorization: `Bearer ${token}` } : {} }).catch(() => {});
      s.resourceUrl = null;
    }
    this.stop(true);
  }
}
