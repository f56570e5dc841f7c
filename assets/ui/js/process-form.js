// The process form's model: a small description of the common cases that turns into an upstream
// process config. The description is kept in the process's metadata ("dragon-ui"), so the form can
// edit what it created; anything else is edited as JSON.

export const META_KEY = 'dragon-ui';

export function defaultForm() {
  return {
    version: 1, id: '', reference: '',
    source: 'testpattern',
    pattern: { size: '1280x720', rate: 25, audio: true },
    url: { address: '', re: false, loop: false },
    stream: { name: '' },
    video: { codec: 'libx264', bitrate_kbps: 2000 },
    outputs: { hls: true, push: false, push_url: '', record: false },
    webrtc: { enabled: true, video_map: '', audio_map: '', force_transcode: false },
    autostart: true, reconnect: true, reconnect_delay_seconds: 5, stale_timeout_seconds: 30,
  };
}

// Problems the API would refuse less clearly; the API still has the last word.
export function checkForm(f) {
  const errors = {};
  if (!f.id.trim()) errors.id = 'Give the process an ID.';
  else if (!/^[A-Za-z0-9_.:-]+$/.test(f.id.trim())) errors.id = 'Use letters, digits, and _ . : - only.';
  if (f.source === 'url' && !/^(rtsps?|rtmps?|srt|https?|udp|rtp|file):\/\/|^\//i.test(f.url.address.trim())) {
    errors['url.address'] = 'Enter an rtsp://, rtmp://, srt://, http(s):// (HLS) URL, or an absolute file path.';
  }
  if ((f.source === 'rtmp' || f.source === 'srt') && !/^[A-Za-z0-9_.-]+$/.test(f.stream.name.trim())) {
    errors['stream.name'] = 'Enter a stream name (letters, digits, _ . -).';
  }
  if (f.outputs.push && !/^(rtmps?|srt):\/\//i.test(f.outputs.push_url.trim())) {
    errors['outputs.push_url'] = 'Enter an rtmp://, rtmps:// or srt:// URL.';
  }
  if (!f.outputs.hls && !f.outputs.push && !f.outputs.record && !f.webrtc.enabled) {
    errors.outputs = 'Choose at least one output, or turn WebRTC on.';
  }
  return errors;
}

export function formToConfig(f) {
  const id = f.id.trim();
  const inputs = [];
  let vmap = '0:v:0', amap = '0:a:0?';
  let hasAudio = true;
  switch (f.source) {
    case 'testpattern': {
      const rate = Number(f.pattern.rate) || 25;
      inputs.push({ id: 'video', address: `testsrc2=size=${f.pattern.size}:rate=${rate}`, options: ['-re', '-f', 'lavfi'] });
      if (f.pattern.audio) {
        inputs.push({ id: 'audio', address: 'sine=frequency=440:sample_rate=48000', options: ['-re', '-f', 'lavfi'] });
        amap = '1:a:0';
      } else hasAudio = false;
      break;
    }
    case 'url': {
      const addr = f.url.address.trim();
      const opts = [];
      if (/^rtsps?:/i.test(addr)) opts.push('-rtsp_transport', 'tcp');
      if (f.url.re) opts.push('-re');
      if (f.url.loop) opts.push('-stream_loop', '-1');
      inputs.push({ id: 'in', address: addr, options: opts });
      break;
    }
    case 'rtmp':
      inputs.push({ id: 'in', address: `{rtmp,name=${f.stream.name.trim()}}`, options: [] });
      break;
    case 'srt':
      inputs.push({ id: 'in', address: `{srt,name=${f.stream.name.trim()}}`, options: [] });
      break;
    default:
      throw new Error(`unknown source ${f.source}`);
  }
  const rate = f.source === 'testpattern' ? Number(f.pattern.rate) || 25 : 25;
  const maps = ['-map', vmap, ...(hasAudio ? ['-map', amap] : [])];
  const video = f.video.codec === 'copy' || (f.source !== 'testpattern' && f.video.codec === 'copy')
    ? ['-c:v', 'copy']
    : ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', String(rate * 2),
       '-b:v', `${Number(f.video.bitrate_kbps) || 2000}k`];
  const audio = hasAudio ? ['-c:a', 'aac', '-b:a', '128k', '-ar', '48000'] : [];
  const enc = [...maps, ...video, ...audio];
  const outputs = [];
  if (f.outputs.hls) {
    outputs.push({
      id: 'hls', address: '{memfs}/{processid}.m3u8',
      options: [...enc, '-f', 'hls', '-hls_time', '2', '-hls_list_size', '6', '-hls_flags', 'delete_segments+independent_segments',
                '-hls_segment_filename', '{memfs}/{processid}_%04d.ts', '-method', 'PUT'],
      cleanup: [{ pattern: 'memfs:/{processid}*', purge_on_delete: true }],
    });
  }
  if (f.outputs.push) {
    const url = f.outputs.push_url.trim();
    outputs.push({ id: 'push', address: url, options: [...enc, '-f', /^srt:/i.test(url) ? 'mpegts' : 'flv'] });
  }
  if (f.outputs.record) {
    outputs.push({
      id: 'record', address: '{diskfs}/{processid}_%Y-%m-%d_%H-%M-%S.ts',
      options: [...enc, '-f', 'segment', '-segment_time', '3600', '-segment_format', 'mpegts', '-strftime', '1', '-reset_timestamps', '1'],
    });
  }
  if (!outputs.length) {
    // WebRTC only: its legs are added by the server; FFmpeg still needs an output of its own.
    outputs.push({ id: 'null', address: '-', options: ['-map', vmap, '-c:v', 'copy', '-f', 'null'] });
  }
  const cfg = {
    id, type: 'ffmpeg', reference: f.reference.trim(), input: inputs, output: outputs,
    options: ['-loglevel', 'level+info', '-err_detect', 'ignore_err'],
    reconnect: !!f.reconnect, reconnect_delay_seconds: Number(f.reconnect_delay_seconds) || 0,
    autostart: !!f.autostart, stale_timeout_seconds: Number(f.stale_timeout_seconds) || 0,
    webrtc: { enabled: !!f.webrtc.enabled, video_map: f.webrtc.video_map.trim(), audio_map: f.webrtc.audio_map.trim(),
              force_transcode: !!f.webrtc.force_transcode },
  };
  return cfg;
}

// Where a process's HLS playlist is served, if it writes one to memfs (or disk).
export function hlsUrlOf(cfg) {
  if (!cfg) return null;
  for (const o of cfg.output || []) {
    const a = String(o.address || '');
    if (!/\.m3u8$/.test(a)) continue;
    let path = null;
    if (a.startsWith('{memfs}')) path = '/memfs' + a.slice('{memfs}'.length);
    else if (a.startsWith('{diskfs}')) path = a.slice('{diskfs}'.length);
    else if (/^\/memfs\//.test(a)) path = a;
    if (!path) continue;
    return path.replaceAll('{processid}', cfg.id).replaceAll('{reference}', cfg.reference || '');
  }
  return null;
}

// The built-in RTMP/SRT stream names a process uses: [{proto, name, dir: 'input'|'output'}]
export function streamsOf(cfg) {
  const out = [];
  const scan = (list, dir) => (list || []).forEach((io) => {
    const m = /^\{(rtmp|srt),name=([^,}]+)/.exec(String(io.address || ''));
    if (m) out.push({ proto: m[1], name: m[2].replaceAll('{processid}', cfg.id), dir });
  });
  scan(cfg && cfg.input, 'input');
  scan(cfg && cfg.output, 'output');
  return out;
}
