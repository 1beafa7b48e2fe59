# Sourced by the benchmark scripts (bench/*.sh): what they share.

# The runtime settings the generated Deployment gives the API, as NAME=value (see deployed-settings.sh).
source "$(dirname "${BASH_SOURCE[0]}")/deployed-settings.sh"

# usage: prints the calling script's header (its comment lines after the first) and exits 2.
usage() { awk 'NR == 1 { next } /^#/ { print; next } { exit }' "$0"; exit 2; }

# wait_for URL [any]: waits up to a minute (a file-based program may be compiling first) for URL to answer with a
# success, or with `any` for it to answer at all (a server with nothing at that path); else ends the script saying so.
wait_for() {
  local check=(--fail)
  [ "${2:-}" != any ] || check=()
  for _ in $(seq 1 300); do curl -s "${check[@]}" -o /dev/null "$1" && return; sleep 0.2; done
  echo "$1 did not answer"
  exit 1
}

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The pid of the redis-server on PORT, whose CPU per request is reported beside the API's: a change that makes the
# API cheaper by giving Redis more to do (a script for plain reads) shows there. Redis is one thread that every
# replica shares.
redis_pid() { redis-cli -p "$1" info server | awk -F: '/^process_id:/ { print $2 + 0 }'; }

# us_per_request TICKS REQUESTS [DECIMALS]: CPU time per request, in microseconds, from a cpu_ticks difference; whole
# microseconds (the fraction dropped) unless DECIMALS is given.
TICK_US=$((1000000 / $(getconf CLK_TCK)))
us_per_request() {
  if [ -z "${3:-}" ]; then echo $(( $1 * TICK_US / $2 )); return; fi
  awk -v ticks="$1" -v requests="$2" -v tick="$TICK_US" -v decimals="$3" \
    'BEGIN { printf "%." decimals "f\n", ticks * tick / requests }'
}

# wrk_figure FILE WHAT: one figure of a wrk run's output saved in FILE, as wrk prints it: rate (requests/s), requests
# (served in all), seconds (the run's length, e.g. 10.01s), p50 or p99 (e.g. 1.23ms; wrk prints them with --latency), or
# non2xx (answers that were not 2xx or 3xx; 0 when wrk reports none) or socket (calls with no answer: wrk's connect,
# read, write and timeout errors summed; 0 when wrk reports none).
wrk_figure() {
  awk -v what="$2" '
    what == "rate" && /Requests\/sec/ { v = $2 }
    what == "requests" && /requests in/ { v = $1 }
    what == "seconds" && /requests in/ { v = $4; sub(/,$/, "", v) }
    what == "p50" && $1 == "50%" { v = $2 }
    what == "p99" && $1 == "99%" { v = $2 }
    what == "non2xx" && /Non-2xx/ { v = $NF }
    what == "socket" && /Socket errors/ { v = $4 + $6 + $8 + $10 }
    END { print (v == "" && (what == "non2xx" || what == "socket")) ? 0 : v }' "$1"
}

# failed_calls NON2XX UNANSWERED: "N non-2xx, M without an answer", a count of 0 left out; empty when both are 0.
failed_calls() {
  local text=""
  [ "$1" -gt 0 ] && text="$1 non-2xx"
  [ "$2" -gt 0 ] && text+="${text:+, }$2 without an answer"
  echo "$text"
}

# wrk_failures FILE: the failed calls (failed_calls) of a wrk run saved in FILE; empty when none failed.
wrk_failures() { failed_calls "$(wrk_figure "$1" non2xx)" "$(wrk_figure "$1" socket)"; }

# wrk_summary FILE: "R req/s, p50 X, p99 Y" of a `wrk --latency` run's output saved in FILE, and what failed, if anything.
wrk_summary() {
  local failures
  failures=$(wrk_failures "$1")
  echo "$(wrk_figure "$1" rate) req/s, p50 $(wrk_figure "$1" p50), p99 $(wrk_figure "$1" p99)${failures:+, $failures}"
}

# rss_mib PID: a process's resident memory in MiB.
rss_mib() { ps -o rss= -p "$1" | awk '{printf "%.0f", $1/1024}'; }

# run_api DLL_DIR URL REDIS_PORT UPSTREAM_URL LOG [NAME=value...]: starts the API in the background as the benchmarks
# measure it (Release, Production, the Deployment's settings, an OpenAI-format upstream named "bench"); the extra
# settings come last and win. Its process id is in $api_pid.
run_api() {
  local dir=$1 url=$2 redis_port=$3 upstream=$4 log=$5
  shift 5
  env "${deployed[@]}" ConnectionStrings__cache="127.0.0.1:$redis_port" Jwt__SigningKey="benchmark-signing-key-0123456789abcdef" \
    Operator__Key="benchmark-operator-key-0123456789abcdef" Throttling__SessionsPerUser=10000 \
    Llm__Upstreams__bench__Endpoint="$upstream/v1" Llm__Upstreams__bench__Provider=OpenAI \
    ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning "$@" \
    dotnet "$dir/LlmApi.Api.dll" --urls "$url" >"$log" 2>&1 &
  api_pid=$!
}

# For scripts that stop API processes (SIGSTOP) while they probe another. A process stopped while its health probe of
# the upstream is out finds, when it goes on, the probe's 5 s timeout passed before it reads the answer, and by default
# one failed probe takes the upstream out of rotation (Llm:Health:ProbeFailuresToEject): its next calls were refused
# with 503 (a first-token-ab run's log: "failed its health probe: no answer within 5 s", then "out of rotation").
# The stop is the harness's doing, not the upstream's, and at most one probe in a row fails of it: such processes
# take three.
stoppable=(Llm__Health__ProbeFailuresToEject=3)

# bench_tenant URL: registers a tenant whose limits never refuse (they are still checked on every call) and gives it
# an API key; sets $tenant, $token (its admin's) and $key.
bench_tenant() {
  local api=$1 domain="bench-$RANDOM$RANDOM.example.com"
  read -r tenant token < <(curl -fs -X POST "$api/api/auth/register" -H 'content-type: application/json' \
    -d "{\"tenantName\":\"Bench\",\"domain\":\"$domain\",\"username\":\"bench\",\"email\":\"bench@$domain\",\"password\":\"benchmark password\"}" \
    | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["tenant"]["tenantId"], b["token"])')
  curl -fs -o /dev/null -X PATCH "$api/api/admin/tenants/$tenant" -H 'X-Operator-Key: benchmark-operator-key-0123456789abcdef' \
    -H 'content-type: application/json' \
    -d '{"limits":{"requestsPerMinute":100000000,"tokensPerMinute":1000000000,"concurrentRequests":10000,"monthlyTokenBudget":1000000000000}}'
  key=$(curl -fs -X POST "$api/api/keys" -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"name":"bench"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
}

# chat_lua FILE STREAM [BEARER [LINE...]]: a wrk script sending the benchmark's chat call (streaming when STREAM is
# true), with Authorization: Bearer BEARER when one is given and any further wrk lines. One body for every target
# (the upstream itself, Portkey, this gateway), so they are compared on the same call.
chat_lua() {
  local file=$1 stream="" bearer=${3:-}
  [ "$2" = true ] && stream=',"stream":true'
  {
    echo 'wrk.method = "POST"'
    echo "wrk.body = '{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":16$stream}'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    [ -z "$bearer" ] || echo "wrk.headers[\"Authorization\"] = \"Bearer $bearer\""
    [ $# -le 3 ] || printf '%s\n' "${@:4}"
  } >"$file"
}

# Used by the A/B scripts, which compare two builds, and by first-token-steps.sh and warmup.sh. published_api WORK SIDE
# WHAT: the folder of a published API for WHAT, either a folder that already holds LlmApi.Api.dll or a git revision,
# checked out as a worktree under WORK and published there (removed with WORK by end_workspace).
published_api() {
  local work=$1 side=$2 what=$3
  if [ -f "$what/LlmApi.Api.dll" ]; then echo "$what"; return; fi
  git worktree add --detach "$work/src-$side" "$what" >/dev/null 2>&1
  dotnet publish "$work/src-$side/LlmApi.Api" -c Release -o "$work/pub-$side" --nologo -v q >/dev/null
  echo "$work/pub-$side"
}

# workspace: how a benchmark script that starts processes begins: $work, a temporary folder for the run, and $pids, the
# processes it starts, both ended on exit by end_workspace with Redis on $REDIS_PORT.
workspace() {
  work=$(mktemp -d)
  pids=()
  trap 'end_workspace "$work" "$REDIS_PORT" "${pids[@]}"' EXIT
}

# end_workspace WORK REDIS_PORT PID...: the benchmark scripts' exit trap: stops the processes (continuing any that were
# stopped) and Redis, removes the worktrees and WORK; when the script is failing, prints the end of each process's log
# first (WORK/*.log), which goes with WORK.
end_workspace() {
  local status=$? work=$1 redis_port=$2 tree p log
  for p in "${@:3}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then # what the processes said is gone with the folder: the end of each log first
    for log in "$work"/*.log; do
      [ -s "$log" ] && { echo "== the run failed; the end of $(basename "$log"):"; tail -n 20 "$log"; }
    done
  fi
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  for tree in "$work"/src-*; do [ -d "$tree" ] && git worktree remove --force "$tree" >/dev/null 2>&1; done
  rm -rf "$work"
}

# start_ab A B SHARERS: how both A/B scripts begin. Sets work and pids (workspace), dir[A] and dir[B] (published_api)
# and extra[A] and extra[B] (A_ENV, B_ENV); prints the machine (shared with SHARERS), both sides and the Deployment's
# settings; starts Redis on $REDIS_PORT and the benchmark upstream at $UPSTREAM_URL.
start_ab() {
  workspace
  declare -gA dir=([A]=$(published_api "$work" A "$1") [B]=$(published_api "$work" B "$2")) extra=([A]=${A_ENV:-} [B]=${B_ENV:-})
  start_services "$3"
  echo "== A: $1 ${A_ENV:-}"
  echo "== B: $2 ${B_ENV:-}"
  echo "== settings from the Deployment: ${deployed[*]}"
}

# pace: the CPU time, in ms, of a fixed loop (one thread), least and most of five runs: how fast this machine runs code
# when a thread has a CPU. On a shared virtual machine it moves with the host's other guests (caches, memory
# bandwidth, the other hyperthread), which the steal counter does not see: one session measured every process here
# 1.5 to 2 times slower than the day before with 1-2% steal. Comparable across runs on one kind of machine.
pace() {
  python3 - <<'PY'
import time
def once():
    start, x = time.process_time(), 0
    for i in range(1_000_000):
        x += i * i
    return time.process_time() - start
times = [1000 * once() for _ in range(5)]
print(f"{min(times):.0f}-{max(times):.0f}")
PY
}

# machine SHARERS: prints the machine (cores and CPU; shared with SHARERS) and its pace, and notes /proc/stat's
# counters for machine_after.
machine() {
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $1 share it"
  echo "== pace: a fixed loop took $(pace) ms of CPU (bench/common.sh's pace; compare runs by it)"
  machine_stat=$(head -1 /proc/stat)
}

# machine_after: what the machine gave the run since `machine`: the share of all CPU time the hypervisor gave to other
# guests (steal, from /proc/stat) and the pace again. Figures from a run with steal above a few percent, or a pace
# well above the quiet days' (docs/benchmarks.md), are slower throughout; ratios within the run still hold.
machine_after() {
  python3 - "$machine_stat" "$(head -1 /proc/stat)" <<'PY'
import sys
before, after = ([int(v) for v in line.split()[1:]] for line in sys.argv[1:3])
spent = [b - a for a, b in zip(before, after)]  # user nice system idle iowait irq softirq steal (guest time is in user)
print(f"== the host took {100 * spent[7] / max(sum(spent[:8]), 1):.1f}% of the CPU time over the run (steal, /proc/stat)", end="")
PY
  echo "; pace after: $(pace) ms"
}

# start_redis: the benchmarks' Redis on $REDIS_PORT, loopback only, nothing persisted, its files in $work (stopped by
# the script's exit trap); returns once it answers.
start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --dir "$work" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "Redis on port $REDIS_PORT did not answer"
  exit 1
}

# start_services SHARERS: prints the machine (shared with SHARERS: `machine`), starts Redis (start_redis) and the
# benchmark upstream at $UPSTREAM_URL (its `dotnet run` added to pids), and waits for the upstream.
start_services() {
  machine "$1"
  start_redis
  dotnet run -c Release bench/upstream.cs -- --urls "$UPSTREAM_URL" >"$work/upstream.log" 2>&1 &
  pids+=($!)
  wait_for "$UPSTREAM_URL/v1/models"
}
