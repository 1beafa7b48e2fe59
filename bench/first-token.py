#!/usr/bin/env python3
"""Time to the first token, one stream at a time, each side on its own kept-alive connection (issue 11's measure).

Used by bench/gateway.sh and bench/sidebyside.sh. Each side is sent the same streamed chat call in turn, so a slow
moment of a shared machine falls on every side alike; the time runs from sending the request to the arrival of the
first piece that carries generated content, and the stream is then read to its end before the next call (the rest of
the stream, and whatever the gateway does after it, do not count). The first side is the baseline the others are
compared with at p50.

    first-token.py --count 1000 \
        --side direct http://127.0.0.1:5199/v1/chat/completions openai \
        --side gateway http://127.0.0.1:5099/v1/chat/completions openai 'authorization: Bearer sk-...'

FORMAT is openai (server-sent events of chat.completion.chunk) or ollama (one JSON object per line).
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--count", type=int, default=1000, help="measured calls per side")
parser.add_argument("--warmup", type=int, default=50, help="calls per side before the measured ones")
parser.add_argument("--model", default="bench")
parser.add_argument("--gap", type=float, default=0.0, help="ms to wait before each call")
parser.add_argument("--side", nargs="+", action="append", required=True, metavar="NAME URL FORMAT [HEADER]",
                    help="a side: its name, the URL of its chat route, openai or ollama, and any 'name: value' headers")
options = parser.parse_args()


def openai_content(line):
    if not line.startswith(b"data: {"):
        return None
    choices = json.loads(line[6:]).get("choices") or [{}]
    return (choices[0].get("delta") or {}).get("content")


def ollama_content(line):
    return (json.loads(line).get("message") or {}).get("content")


class Side:
    def __init__(self, name, url, form, *headers):
        if form not in ("openai", "ollama"):
            sys.exit(f"{name}: format {form!r} is neither openai nor ollama")
        address = urllib.parse.urlsplit(url)
        self.name, self.form, self.path = name, form, address.path
        self.content = openai_content if form == "openai" else ollama_content
        self.connection = http.client.HTTPConnection(address.hostname, address.port)
        self.headers = {"content-type": "application/json"}
        for header in headers:
            key, _, value = header.partition(":")
            self.headers[key.strip().lower()] = value.strip()
        call = {"model": options.model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        if form == "openai":
            call["max_tokens"] = 16
        # Compact, as every other client of the benchmarks sends it (the benchmark upstream looks for "stream":true).
        self.body = json.dumps(call, separators=(",", ":"))
        self.times = []

    def call(self):
        start = time.perf_counter()
        self.connection.request("POST", self.path, self.body, self.headers)
        response = self.connection.getresponse()
        if response.status != 200:
            sys.exit(f"{self.name}: answered {response.status}: {response.read()[:200]!r}")
        first, pieces = None, 0
        for line in iter(response.readline, b""):
            line = line.strip()
            try:
                content = line and self.content(line)
            except ValueError:
                sys.exit(f"{self.name}: a line that is not {self.form}: {line[:80]!r}")
            if content:
                pieces += 1
                if first is None:
                    first = time.perf_counter() - start
        if first is None:
            sys.exit(f"{self.name}: no piece carried content")
        if pieces < 2:
            sys.exit(f"{self.name}: answered in one piece, not as a stream")
        return first


if any(len(side) < 3 for side in options.side):
    parser.error("each --side needs a name, a URL and a format")
sides = [Side(*side) for side in options.side]
for i in range(options.warmup + options.count):
    for side in sides:
        if options.gap:
            time.sleep(options.gap / 1000)
        first = side.call()
        if i >= options.warmup:
            side.times.append(first)

baseline = None
for side in sides:
    side.times.sort()
    p50 = side.times[len(side.times) // 2] * 1000
    p99 = side.times[int(len(side.times) * 0.99) - 1] * 1000
    added = "" if baseline is None else f", added at p50 {p50 - baseline:+.3f} ms"
    baseline = p50 if baseline is None else baseline
    print(f"{side.name}: p50 {p50:.3f} ms, p99 {p99:.3f} ms{added}")
