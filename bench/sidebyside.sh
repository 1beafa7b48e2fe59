#!/usr/bin/env bash
# Side by side (issue 11): the same OpenAI-format chat call sent straight to a model upstream that answers at once
# (bench/upstream.cs), through Portkey's AI gateway (npm @portkey-ai/gateway, Node, installed into a temporary folder),
# and through this gateway (/v1/chat/completions with an API key and tenant limits set), non-streaming and streaming;
# and GET / and GET /api/auth/me of the API for scale. For each: requests/s, p50, p99, CPU time per request of the
# process that served it (utime + stime from /proc/<pid>/stat over the run, divided by the requests it served), and
# the Redis commands executed per request. One run, one machine: compare within it.
# Needs wrk, redis-server, node and npm, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
# Load before each row is measured: a replica in service has long finished compiling its code. From a cold start the
# chat path's CPU per call kept falling for about a minute of load on this kind of machine (tiered compilation and its
# instrumented tier), so a 10 s warm-up left part of that in the measured window (docs/benchmarks.md).
WARMUP=${WARMUP:-30s}
PORTKEY_VERSION=${PORTKEY_VERSION:-1.15.2}
REDIS_PORT=${REDIS_PORT:-6399}
API_URL=http://127.0.0.1:5099
UPSTREAM_URL=http://127.0.0.1:5199
PORTKEY_URL=http://127.0.0.1:5299
source bench/common.sh
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
redis_calls() { redis-cli -p "$REDIS_PORT" info commandstats | awk -F'[=,]' '/^cmdstat_/ && !/^cmdstat_info/ {s += $2} END {print s + 0}'; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk, Redis, the upstream and the gateways share it"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --dir "$work" >/dev/null
dotnet publish LlmApi.Api -c Release -o "$work/api" --nologo -v q >/dev/null
npm install --prefix "$work/portkey" --no-audit --no-fund --silent "@portkey-ai/gateway@$PORTKEY_VERSION" >/dev/null

dotnet run -c Release bench/upstream.cs -- --urls "$UPSTREAM_URL" >"$work/upstream.log" 2>&1 &
pids+=($!)
(cd "$work" && NODE_ENV=production exec node "$work/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" --port="${PORTKEY_URL##*:}" --headless) >"$work/portkey.log" 2>&1 &
portkey_pid=$!
pids+=($portkey_pid)
# As deployed: Release, Production logging, telemetry on (Prometheus), trace sampling, Redis tracing and GC settings as the
# generated Deployment sets them (read from aspire-manifests/api.yaml), an OpenAI-format upstream.
echo "== API settings from the Deployment: ${deployed[*]}"
run_api "$work/api" "$API_URL" "$REDIS_PORT" "$UPSTREAM_URL" "$work/api.log"
pids+=($api_pid)
wait_for "$UPSTREAM_URL/v1/models"
wait_for "$API_URL/alive"
for _ in $(seq 1 150); do curl -s -o /dev/null "$PORTKEY_URL/" && break; sleep 0.2; done
# `dotnet run` starts the upstream as a child process: measure the one that listens.
upstream_pid=$(ss -ltnpH "sport = :${UPSTREAM_URL##*:}" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)

bench_tenant "$API_URL"

lua() { # name body [header lines]
  local name=$1 body=$2
  shift 2
  { echo 'wrk.method = "POST"'; echo "wrk.body = '$body'"; echo 'wrk.headers["Content-Type"] = "application/json"'; printf '%s\n' "$@"; } >"$work/$name.lua"
}
chat='{"model":"bench","messages":[{"role":"user","content":"hi"}],"max_tokens":16}'
stream='{"model":"bench","messages":[{"role":"user","content":"hi"}],"max_tokens":16,"stream":true}'
portkey_headers=('wrk.headers["x-portkey-provider"] = "openai"' "wrk.headers[\"x-portkey-custom-host\"] = \"$UPSTREAM_URL/v1\"" 'wrk.headers["Authorization"] = "Bearer sk-bench"')
lua direct "$chat"
lua direct-stream "$stream"
lua portkey "$chat" "${portkey_headers[@]}"
lua portkey-stream "$stream" "${portkey_headers[@]}"
chat_lua "$work/gateway.lua" "$key"
chat_lua "$work/gateway-stream.lua" "$key" true

# measure NAME PID CONNECTIONS URL [wrk options...]: one row of the table
rss() { ps -o rss= -p "$api_pid" | awk '{printf "%.0f", $1/1024}'; }
watch_rss() { while kill -0 "$api_pid" 2>/dev/null; do r=$(rss); [ "$r" -gt "$(cat "$work/max_rss" 2>/dev/null || echo 0)" ] && echo "$r" >"$work/max_rss"; sleep 1; done; }
measure() {
  local name=$1 pid=$2 connections=$3 url=$4
  local out="$work/$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_').txt"
  shift 4
  wrk -t2 -c"$connections" -d"$WARMUP" "$@" "$url" >/dev/null
  local ticks redis_before
  ticks=$(cpu_ticks "$pid")
  redis_before=$(redis_calls)
  wrk -t2 -c"$connections" -d"$DURATION" --latency "$@" "$url" >"$out"
  local used=$(($(cpu_ticks "$pid") - ticks)) commands=$(($(redis_calls) - redis_before))
  local requests
  requests=$(awk '/requests in/ {print $1}' "$out")
  printf '| %-26s | %9s | %8s | %8s | %7s us | %5s | %s\n' "$name" "$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$out")" \
    "$(awk '$1=="50%" {print $2}' "$out")" "$(awk '$1=="99%" {print $2}' "$out")" \
    "$((used * TICK_US / requests))" "$(python3 -c "print(f'{$commands / $requests:.1f}')")" \
    "$(grep -h 'Non-2xx' "$out" | xargs || true)"
}

watch_rss &
pids+=($!)
echo "== wrk -t2, $DURATION per row after $WARMUP of the same load; CPU per request of the serving process"
echo "| request                    |     req/s |      p50 |      p99 | CPU/request | Redis cmds/req | errors"
echo "|---|---|---|---|---|---|---|"
measure "GET / (API)" "$api_pid" 32 "$API_URL/"
measure "GET /alive (API)" "$api_pid" 32 "$API_URL/alive"
measure "GET /api/auth/me (API)" "$api_pid" 32 "$API_URL/api/auth/me" -H "Authorization: Bearer $token"
measure "chat: upstream itself" "$upstream_pid" 64 "$UPSTREAM_URL/v1/chat/completions" -s "$work/direct.lua"
measure "chat: Portkey" "$portkey_pid" 64 "$PORTKEY_URL/v1/chat/completions" -s "$work/portkey.lua"
measure "chat: this gateway" "$api_pid" 64 "$API_URL/v1/chat/completions" -s "$work/gateway.lua"
measure "stream: upstream itself" "$upstream_pid" 64 "$UPSTREAM_URL/v1/chat/completions" -s "$work/direct-stream.lua"
measure "stream: Portkey" "$portkey_pid" 64 "$PORTKEY_URL/v1/chat/completions" -s "$work/portkey-stream.lua"
measure "stream: this gateway" "$api_pid" 64 "$API_URL/v1/chat/completions" -s "$work/gateway-stream.lua"
echo "API RSS: at most $(cat "$work/max_rss") MiB during the runs (sampled every second), $(rss) MiB after them"
