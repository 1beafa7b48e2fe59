#!/usr/bin/env bash
# Benchmarks what the LLM gateway adds (issue 5), Release build, one run: the same chat request sent straight to a
# model upstream that answers at once (bench/upstream.cs) and through the gateway (/api/llm/chat, same format, an API
# key), at 64 concurrent requests and one at a time; the time to the first streamed token each way, on a kept-alive
# connection and on a new one; and the gateway's memory while it streams 1 MB answers. Needs wrk, redis-server, curl
# and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
DURATION=${DURATION:-15s}
# Load before the gateway is measured: from a cold start a chat call's CPU on this kind of machine kept falling for 30-40 s
# of load (tiered compilation and its instrumented tier; docs/benchmarks.md, issue 11, twenty-seventh pass); a replica in
# service has long finished compiling.
WARMUP=${WARMUP:-60s}
REDIS_PORT=${REDIS_PORT:-6398}
API_URL=http://127.0.0.1:5098
UPSTREAM_URL=http://127.0.0.1:5198
workspace
# quantiles FILE: "p50 X ms, p99 Y ms" of the times (seconds, one a line) in FILE.
quantiles() { python3 -c "v=sorted(float(x) for x in open('$1')); print(f'p50 {1000*v[len(v)//2]:.2f} ms, p99 {1000*v[int(len(v)*0.99)-1]:.2f} ms')"; }

machine "wrk, Redis, the upstream and the gateway"
start_redis
dotnet publish LlmApi.Api -c Release -o "$work/api" --nologo -v q >/dev/null
dotnet run -c Release bench/upstream.cs -- --urls "$UPSTREAM_URL" >"$work/upstream.log" 2>&1 &
pids+=($!)
# Trace sampling, Redis tracing and GC limits as the generated Deployment sets them (bench/common.sh's `deployed`).
env "${deployed[@]}" ConnectionStrings__cache="127.0.0.1:$REDIS_PORT" ConnectionStrings__llm="Endpoint=$UPSTREAM_URL;Provider=Ollama" \
  Jwt__SigningKey="benchmark-signing-key-0123456789abcdef" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
  dotnet "$work/api/LlmApi.Api.dll" --urls "$API_URL" >"$work/api.log" 2>&1 &
api_pid=$!
pids+=($api_pid)
wait_for "$UPSTREAM_URL/api/tags"
wait_for "$API_URL/alive"

domain="gw-$RANDOM.example.com"
read -r tenant token < <(curl -fs -X POST "$API_URL/api/auth/register" -H 'content-type: application/json' \
  -d "{\"tenantName\":\"Bench\",\"domain\":\"$domain\",\"username\":\"bench\",\"email\":\"bench@$domain\",\"password\":\"benchmark password\"}" \
  | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["tenant"]["tenantId"], b["token"])')
key=$(curl -fs -X POST "$API_URL/api/keys" -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"name":"bench"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
body='{"model":"bench","messages":[{"role":"user","content":"hi"}],"stream":false}'
cat >"$work/chat.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["x-tenant-id"] = "$tenant"
LUA

echo "== 1. chat at 64 concurrent requests, wrk -t2 -c64 -d$DURATION"
wrk -t2 -c64 -d5s -s "$work/chat.lua" "$UPSTREAM_URL/api/chat" >/dev/null
wrk -t2 -c64 -d"$WARMUP" -s "$work/chat.lua" "$API_URL/api/llm/chat" >/dev/null
wrk -t2 -c64 -d"$DURATION" --latency -s "$work/chat.lua" "$UPSTREAM_URL/api/chat" >"$work/direct.txt"
wrk -t2 -c64 -d"$DURATION" --latency -s "$work/chat.lua" "$API_URL/api/llm/chat" >"$work/gateway.txt"
for f in direct gateway; do
  echo "$f: $(wrk_summary "$work/$f.txt")"
done

echo "== 1b. chat at 1 request at a time (latency the gateway adds without queueing), wrk -t1 -c1 -d$DURATION"
wrk -t1 -c1 -d"$DURATION" --latency -s "$work/chat.lua" "$UPSTREAM_URL/api/chat" >"$work/direct1.txt"
wrk -t1 -c1 -d"$DURATION" --latency -s "$work/chat.lua" "$API_URL/api/llm/chat" >"$work/gateway1.txt"
for f in direct1 gateway1; do
  echo "$f: $(wrk_summary "$work/$f.txt")"
done

echo "== 1c. a short stream at 1 request at a time on one kept-alive connection (all of it: its first token and the rest)"
sed 's/"stream":false/"stream":true/' "$work/chat.lua" >"$work/stream.lua"
wrk -t2 -c8 -d"$WARMUP" -s "$work/stream.lua" "$API_URL/api/llm/chat" >/dev/null
wrk -t1 -c1 -d"$DURATION" --latency -s "$work/stream.lua" "$UPSTREAM_URL/api/chat" >"$work/stream-direct1.txt"
wrk -t1 -c1 -d"$DURATION" --latency -s "$work/stream.lua" "$API_URL/api/llm/chat" >"$work/stream-gateway1.txt"
for f in stream-direct1 stream-gateway1; do
  echo "$f: $(wrk_summary "$work/$f.txt")"
done

echo "== 1d. time to the first token on a kept-alive connection, one stream at a time (the issue's measure: the rest of"
echo "      the stream, and the gateway's settlement after it, do not count); 1000 streams each way, alternating"
# first_token [OPTIONS]: bench/first-token.py, straight to the upstream and through the gateway, 1000 streams each.
first_token() {
  python3 bench/first-token.py --count 1000 "$@" --side direct "$UPSTREAM_URL/api/chat" ollama \
    --side gateway "$API_URL/api/llm/chat" ollama "authorization: Bearer $key" "x-tenant-id: $tenant"
}
first_token
echo "== 1e. the same with 2 ms before each call: every process is asleep when a call comes, and on a virtual machine each"
echo "      one woken on an idle CPU adds its wake-up (the gateway's call wakes the API, Redis and the upstream in turn)"
first_token --gap 2

echo "== 2. time to first streamed token, 300 sequential streams each way, each on a new connection (curl)"
stream='{"model":"bench","messages":[{"role":"user","content":"hi"}],"stream":true}'
for i in $(seq 1 300); do
  curl -s -o /dev/null -w '%{time_starttransfer}\n' -X POST "$UPSTREAM_URL/api/chat" -d "$stream" >>"$work/ttft-direct.txt"
  curl -s -o /dev/null -w '%{time_starttransfer}\n' -X POST "$API_URL/api/llm/chat" -H "authorization: Bearer $key" \
    -H "x-tenant-id: $tenant" -H 'content-type: application/json' -d "$stream" >>"$work/ttft-gateway.txt"
done
echo "direct:  $(quantiles "$work/ttft-direct.txt")"
echo "gateway: $(quantiles "$work/ttft-gateway.txt")"

echo "== 3. gateway memory while streaming 1 MB answers (400 streams, 8 at a time)"
big='{"model":"big","messages":[{"role":"user","content":"hi"}],"stream":true}'
rss() { rss_mib "$api_pid"; }
echo "RSS before: $(rss) MiB"
(while sleep 0.5; do rss >>"$work/rss.txt"; echo >>"$work/rss.txt"; done) &
sampler=$!
seq 1 400 | xargs -P8 -I{} curl -s -o /dev/null -w '%{size_download}\n' -X POST "$API_URL/api/llm/chat" -H "authorization: Bearer $key" \
  -H "x-tenant-id: $tenant" -H 'content-type: application/json' -d "$big" >"$work/sizes.txt"
kill "$sampler"
echo "streamed $(wc -l <"$work/sizes.txt") answers of $(sort -u "$work/sizes.txt" | head -1) bytes; RSS during: max $(grep -v '^$' "$work/rss.txt" | sort -n | tail -1) MiB; after: $(rss) MiB"
machine_after
