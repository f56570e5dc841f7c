#!/usr/bin/python3
"""A WHEP viewer built on aiortc (Debian's python3-aiortc): an independent WebRTC stack that
receives and decodes what dragon-core sends. Run with /usr/bin/python3 (aiortc is a Debian package).

Prints one JSON line: {"ok", "video_frames", "audio_frames", "first_frame_ms", "video_codec",
"audio_codec", "status", "error", "deleted"}. Exit code 0 when the frame targets were met.

Only loopback is used: aiortc's host candidates are limited to 127.0.0.1 and no STUN server is set.
"""
import argparse
import asyncio
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice

# aioice skips loopback when gathering host candidates; the test network is loopback only.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.rtcrtpsender import RTCRtpSender  # noqa: E402


def http(method, url, body=None, headers=None, timeout=15):
    req = urllib.request.Request(url, data=body.encode() if isinstance(body, str) else body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def codec_of(answer, kind):
    m = re.search(r"m=" + kind + r" (\d+) \S+ (\d+)(.*?)(?=\r\nm=|\Z)", answer, re.S)
    if not m or m.group(1) == "0":
        return None
    pt = m.group(2)
    rtpmap = re.search(r"a=rtpmap:" + pt + r" ([^\r\n]+)", m.group(0))
    fmtp = re.search(r"a=fmtp:" + pt + r" ([^\r\n]+)", m.group(0))
    return (rtpmap.group(1) if rtpmap else "?") + ((";" + fmtp.group(1)) if fmtp else "")


async def run(args):
    result = {"ok": False, "video_frames": 0, "audio_frames": 0, "first_frame_ms": None, "video_frames_last_3s": 0,
              "video_codec": None, "audio_codec": None, "status": None, "error": None, "deleted": None}
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video = pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    if args.video_codec:
        caps = RTCRtpSender.getCapabilities("video").codecs
        want = [c for c in caps if c.mimeType.lower() == "video/" + args.video_codec.lower()]
        video.setCodecPreferences(want)
    done = asyncio.Event()
    started = time.monotonic()
    frame_times = []

    async def consume(track):
        try:
            while True:
                await track.recv()
                if track.kind == "video":
                    frame_times.append(time.monotonic())
                    if result["video_frames"] == 0:
                        result["first_frame_ms"] = round((time.monotonic() - started) * 1000)
                    result["video_frames"] += 1
                else:
                    result["audio_frames"] += 1
                if result["video_frames"] >= args.frames and result["audio_frames"] >= args.audio_frames:
                    done.set()
        except Exception:  # the track ended
            pass

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(consume(track))

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if args.token:
        headers["Authorization"] = "Bearer " + args.token
    started = time.monotonic()
    status, resp_headers, body = await asyncio.get_event_loop().run_in_executor(
        None, lambda: http("POST", args.url, pc.localDescription.sdp, headers))
    result["status"] = status
    if status != 201:
        result["error"] = body.strip()
        await pc.close()
        return result
    location = urllib.parse.urljoin(args.url, resp_headers.get("Location", ""))
    result["video_codec"] = codec_of(body, "video")
    result["audio_codec"] = codec_of(body, "audio")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    try:
        await asyncio.wait_for(done.wait(), timeout=args.timeout)
        result["ok"] = True
    except asyncio.TimeoutError:
        result["error"] = f"timeout after {args.timeout}s"
    if args.hold:
        print(json.dumps({"holding": True, **result}), flush=True)
        await asyncio.sleep(args.hold)
    now = time.monotonic()
    result["video_frames_last_3s"] = sum(1 for t in frame_times if now - t <= 3.0)
    if not args.no_delete:
        s, _, _ = await asyncio.get_event_loop().run_in_executor(None, lambda: http("DELETE", location))
        result["deleted"] = s
    await pc.close()
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="WHEP endpoint, e.g. http://127.0.0.1:8080/api/v3/whep/ID")
    p.add_argument("--token", default="")
    p.add_argument("--frames", type=int, default=100, help="video frames to decode")
    p.add_argument("--audio-frames", type=int, default=20)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--video-codec", default="", help="offer only this video codec (H264, VP8)")
    p.add_argument("--hold", type=float, default=0, help="stay connected this long after the targets")
    p.add_argument("--no-delete", action="store_true")
    args = p.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
