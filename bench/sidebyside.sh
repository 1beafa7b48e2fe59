#!/usr/bin/env bash
# Side by side (issue 11): the same OpenAI-format chat call sent straight to a model upstream that answers at once
# (bench/upstream.cs), through Portkey's AI gateway (npm @portkey-ai/gateway, Node, installed into a temporary folder),
# and through this gateway (/v1/chat/completions with an API key and tenant limits set), non-streaming and streaming;
# and GET / and GET /api/auth/me of the API for scale. For each: requests/s, p50, p99, CPU time per request of the
# process that served it (utime + stime from /proc/<pid>/stat over the run, divided by the requests it served), and
# the Redis commands executed and Redis's CPU time per request; then the time to the first streamed token, straight
# and through this gateway (bench/first-token.py). One run, one machine: compare within it.
# Needs wrk, redis-server, node and npm, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
# Load before each row is measured: a replica in service has long finished compiling its code. From a cold start the
# chat path's CPU per call kept falling for about a minute of load on this kind of machine (tiered compilation and its
# instrumented tier), so a 10 s warm-up left part of that in the measured window (docs/benchmarks.md).
WARMUP=${WARMUP:-30s}
# How many times the rows are measured in turn (see below; 1 measures each row once, as the runs before the fifth pass
# of issue 11 did); DURATION is each segment's.
ROUNDS=${ROUNDS:-3}
PORTKEY_VERSION=${PORTKEY_VERSION:-1.15.2}
REDIS_PORT=${REDIS_PORT:-6399}
API_URL=http://127.0.0.1:5099
UPSTREAM_URL=http://127.0.0.1:5199
PORTKEY_URL=http://127.0.0.1:5299
source bench/common.sh
workspace
redis_calls() { redis-cli -p "$REDIS_PORT" info commandstats | awk -F'[=,]' '/^cmdstat_/ && !/^cmdstat_info/ {s += $2} END {print s + 0}'; }

machine "wrk, Redis, the upstream and the gateways"
start_redis
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
redis=$(redis_pid "$REDIS_PORT")
for _ in $(seq 1 150); do curl -s -o /dev/null "$PORTKEY_URL/" && break; sleep 0.2; done
# `dotnet run` starts the upstream as a child process: measure the one that listens.
upstream_pid=$(ss -ltnpH "sport = :${UPSTREAM_URL##*:}" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)

bench_tenant "$API_URL"

portkey_headers=('wrk.headers["x-portkey-provider"] = "openai"' "wrk.headers[\"x-portkey-custom-host\"] = \"$UPSTREAM_URL/v1\"")
chat_lua "$work/direct.lua" false
chat_lua "$work/direct-stream.lua" true
chat_lua "$work/portkey.lua" false sk-bench "${portkey_headers[@]}"
chat_lua "$work/portkey-stream.lua" true sk-bench "${portkey_headers[@]}"
chat_lua "$work/gateway.lua" false "$key"
chat_lua "$work/gateway-stream.lua" true "$key"

# The API's RSS now, and the most it reached (sampled every second into $work/max_rss).
rss() { rss_mib "$api_pid"; }
watch_rss() { while kill -0 "$api_pid" 2>/dev/null; do r=$(rss); [ "$r" -gt "$(cat "$work/max_rss" 2>/dev/null || echo 0)" ] && echo "$r" >"$work/max_rss"; sleep 1; done; }
declare -A names ticks redis_ticks commands requests seconds latencies errors unanswered
# measure ROW NAME PID CONNECTIONS URL [wrk options...]: one segment of a row; warms the row up first in the first round
measure() {
  local row=$1 name=$2 pid=$3 connections=$4 url=$5
  local out="$work/segment.txt"
  shift 5
  names[$row]=$name
  [ "$round" -gt 1 ] || wrk -t2 -c"$connections" -d"$WARMUP" "$@" "$url" >/dev/null
  local before redis_before redis_cpu_before
  before=$(cpu_ticks "$pid")
  redis_before=$(redis_calls)
  redis_cpu_before=$(cpu_ticks "$redis")
  wrk -t2 -c"$connections" -d"$DURATION" --latency "$@" "$url" >"$out"
  ticks[$row]=$(( ${ticks[$row]:-0} + $(cpu_ticks "$pid") - before ))
  redis_ticks[$row]=$(( ${redis_ticks[$row]:-0} + $(cpu_ticks "$redis") - redis_cpu_before ))
  commands[$row]=$(( ${commands[$row]:-0} + $(redis_calls) - redis_before ))
  requests[$row]=$(( ${requests[$row]:-0} + $(wrk_figure "$out" requests) ))
  seconds[$row]="${seconds[$row]:-} $(wrk_figure "$out" seconds)"
  latencies[$row]="${latencies[$row]:-} $(wrk_figure "$out" p50)/$(wrk_figure "$out" p99)"
  errors[$row]=$(( ${errors[$row]:-0} + $(wrk_figure "$out" non2xx) ))
  unanswered[$row]=$(( ${unanswered[$row]:-0} + $(wrk_figure "$out" socket) ))
}

watch_rss &
pids+=($!)
# The rows are measured in turn, ROUNDS times over, and each row's figures are over all its segments: on a shared machine
# a slow minute then falls on every row alike rather than on the one measured in it, and the ratios hold better.
for round in $(seq 1 "$ROUNDS"); do
  measure root "GET / (API)" "$api_pid" 32 "$API_URL/"
  measure alive "GET /alive (API)" "$api_pid" 32 "$API_URL/alive"
  measure me "GET /api/auth/me (API)" "$api_pid" 32 "$API_URL/api/auth/me" -H "Authorization: Bearer $token"
  measure chat-direct "chat: upstream itself" "$upstream_pid" 64 "$UPSTREAM_URL/v1/chat/completions" -s "$work/direct.lua"
  measure chat-portkey "chat: Portkey" "$portkey_pid" 64 "$PORTKEY_URL/v1/chat/completions" -s "$work/portkey.lua"
  measure chat "chat: this gateway" "$api_pid" 64 "$API_URL/v1/chat/completions" -s "$work/gateway.lua"
  measure stream-direct "stream: upstream itself" "$upstream_pid" 64 "$UPSTREAM_URL/v1/chat/completions" -s "$work/direct-stream.lua"
  measure stream-portkey "stream: Portkey" "$portkey_pid" 64 "$PORTKEY_URL/v1/chat/completions" -s "$work/portkey-stream.lua"
  measure stream "stream: this gateway" "$api_pid" 64 "$API_URL/v1/chat/completions" -s "$work/gateway-stream.lua"
done

echo "== wrk -t2, $ROUNDS round(s) of $DURATION per row, each row first loaded for $WARMUP; CPU per request of the serving process"
echo "== p50 and p99: the median of the rows' segments"
echo "| request                    |     req/s |      p50 |      p99 | CPU/request | ratio | Redis cmds/req | Redis CPU/req | errors"
echo "|---|---|---|---|---|---|---|---|---|"
# CPU per request to a tenth of a microsecond, and the ratios from the quotients themselves: at 20 us a request, whole
# microseconds would put up to 5% into a ratio to GET / (43 / 21 is 2.05; 43.2 / 21.9 is 1.97).
us() { us_per_request "${ticks[$1]}" "${requests[$1]}" 1; }
per() { python3 -c "print(f'{(${ticks[$1]} / ${requests[$1]}) / (${ticks[$2]} / ${requests[$2]}):.${3}f}')"; }
for row in root alive me chat-direct chat-portkey chat stream-direct stream-portkey stream; do
  case $row in
    me | chat | stream) ratio="$(per "$row" root 2)x" ;;
    *) ratio="" ;;
  esac
  [ "$row" = chat ] && ratio+=", $(per chat chat-portkey 3) of Portkey's"
  read -r rate p50 p99 < <(python3 - "${requests[$row]}" "${seconds[$row]}" "${latencies[$row]}" <<'PY'
import statistics, sys
def ms(text):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)
requests, seconds, latencies = int(sys.argv[1]), sys.argv[2].split(), [l.split("/") for l in sys.argv[3].split()]
rate = requests / sum(ms(s) / 1000 for s in seconds)
p50 = statistics.median(ms(l[0]) for l in latencies)
p99 = statistics.median(ms(l[1]) for l in latencies)
print(f"{rate:.0f} {p50:.2f}ms {p99:.2f}ms")
PY
)
  # A call fails with an answer that is not 2xx or 3xx, or with none (wrk's socket errors: refused, reset, timed out).
  errs=$(failed_calls "${errors[$row]}" "${unanswered[$row]}")
  # Redis's CPU only where the row used Redis: elsewhere it is Redis's idle timer divided by the row's requests.
  redis_cpu=-
  [ "${commands[$row]}" -eq 0 ] || redis_cpu="$(us_per_request "${redis_ticks[$row]}" "${requests[$row]}" 1) us"
  printf '| %-26s | %9s | %8s | %8s | %7s us | %s | %5s | %8s | %s\n' "${names[$row]}" "$rate" "$p50" "$p99" "$(us "$row")" \
    "$ratio" "$(python3 -c "print(f'{${commands[$row]} / ${requests[$row]}:.1f}')")" "$redis_cpu" "$errs"
done
echo "API RSS: at most $(cat "$work/max_rss") MiB during the runs (sampled every second), $(rss) MiB after them"

# Portkey is left out: its streams fail (docs/benchmarks.md).
echo "== time to the first token, one stream at a time on a kept-alive connection, 1000 each way alternating (bench/first-token.py)"
python3 bench/first-token.py --count 1000 --side "upstream itself" "$UPSTREAM_URL/v1/chat/completions" openai \
  --side "this gateway" "$API_URL/v1/chat/completions" openai "authorization: Bearer $key"
machine_after
