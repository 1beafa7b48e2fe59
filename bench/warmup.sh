#!/usr/bin/env bash
# What a new replica costs while the runtime compiles (issue 11, twenty-eighth and twenty-ninth passes). The API is
# started cold, as a pod the autoscaler adds, on one CPU (the Deployment's limit; the runtime sees one CPU, as in the
# pod), and loaded at once with chat calls (wrk -t2 -c64) in successive segments. Prints, per start, the CPU per call,
# the calls served and their p99 latency in each segment, and the time and CPU the API took to answer /alive; then, for
# each start, the calls served in the first minute and their mean CPU, and when it was warm: from when on no two
# segments in a row cost more than 1.5 times its steady cost (the median over the run's second half). Side A runs the
# Deployment's settings; side B, when settings or B_RAMP are given, the same with the settings added and its load
# ramped; the sides start in turns.
#
# usage: bash bench/warmup.sh [REV [NAME=value...]]   REV: a git revision (published into a temporary folder; HEAD by
#        default) or a folder that holds a published LlmApi.Api.dll. Settings: TURNS=2, SEGMENTS=24 of SEGMENT=5s,
#        CPUS=1 (the CPUs the API may use, the last ones; "all" for no limit), B_RAMP=0 (side B's first segments
#        that carry RAMP_CONNECTIONS=4 calls at a time instead of 64: a stand-in for what a load balancer's slow
#        start gives a new endpoint).
# e.g. the runtime's default tiering delay against the Deployment's:
#        bash bench/warmup.sh HEAD DOTNET_TC_CallCountingDelayMs=100
# or a new replica that is sent a few calls at a time for its first 10 s against one loaded at once:
#        B_RAMP=2 bash bench/warmup.sh
# Needs wrk, redis-server, curl, python3, git.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
case ${1:-} in -h | --help) usage ;; esac
TURNS=${TURNS:-2}
SEGMENTS=${SEGMENTS:-24}
SEGMENT=${SEGMENT:-5s}
CPUS=${CPUS:-1}
B_RAMP=${B_RAMP:-0}
RAMP_CONNECTIONS=${RAMP_CONNECTIONS:-4}
REDIS_PORT=${REDIS_PORT:-6395}
UPSTREAM_URL=http://127.0.0.1:5193
API_URL=http://127.0.0.1:5192

workspace
rev=${1:-HEAD}
api=$(published_api "$work" A "$rev")
[ $# -eq 0 ] || shift
declare -A settings=([A]="" [B]="$*") ramp=([A]=0 [B]=$B_RAMP)
sides=(A)
[ $# -eq 0 ] && [ "$B_RAMP" -eq 0 ] || sides+=(B)
all="0-$(($(nproc) - 1))"
pinned=$all
[ "$CPUS" = all ] || pinned="$(($(nproc) - CPUS))-$(($(nproc) - 1))"
[ "${pinned%-*}" != "${pinned#*-}" ] || pinned=${pinned%-*} # one CPU: its number
start_services "wrk, Redis, the upstream and the API (the API held to CPU $pinned)"
echo "== settings from the Deployment: ${deployed[*]}"
echo "== A: $rev as deployed"
[ ${#sides[@]} -eq 1 ] || echo "== B: the same${settings[B]:+ with ${settings[B]}}$(
  [ "$B_RAMP" -eq 0 ] || echo ", its first $((B_RAMP * ${SEGMENT%s})) s of load at $RAMP_CONNECTIONS connections")"

# start SIDE: a cold API with SIDE's settings, on the pinned CPUs (the shell's own CPUs while it starts the process,
# which the process inherits, so the runtime sizes itself by them); its tenant registered. Sets api_pid, ready.
start() {
  local begun
  redis-cli -p "$REDIS_PORT" flushall >/dev/null # a tenant a start: registrations from one address are throttled
  begun=$(date +%s%N)
  taskset -p -c "$pinned" $$ >/dev/null
  # shellcheck disable=SC2086 # the side's settings are words
  run_api "$api" "$API_URL" "$REDIS_PORT" "$UPSTREAM_URL" "$work/api.log" ${settings[$1]}
  taskset -p -c "$all" $$ >/dev/null
  pids+=($api_pid)
  wait_for "$API_URL/alive"
  ready="$(( ($(date +%s%N) - begun) / 1000000 )) ms, $(( $(cpu_ticks "$api_pid") * TICK_US / 1000 )) ms of CPU"
  bench_tenant "$API_URL"
  chat_lua "$work/chat.lua" false "$key"
}

for turn in $(seq 1 "$TURNS"); do
  for side in "${sides[@]}"; do
    start "$side"
    costs=() calls=() tails=()
    for segment in $(seq 1 "$SEGMENTS"); do
      load=(-t2 -c64)
      [ "$segment" -gt "${ramp[$side]}" ] || load=(-t1 -c"$RAMP_CONNECTIONS")
      before=$(cpu_ticks "$api_pid")
      wrk "${load[@]}" --latency -d"$SEGMENT" -s "$work/chat.lua" "$API_URL/v1/chat/completions" >"$work/segment.txt"
      served=$(wrk_figure "$work/segment.txt" requests)
      costs+=("$(us_per_request $(($(cpu_ticks "$api_pid") - before)) "$served")")
      calls+=("$served")
      tails+=("$(wrk_figure "$work/segment.txt" p99)")
    done
    kill "$api_pid"
    wait "$api_pid" 2>/dev/null || true
    unset 'pids[-1]' # stopped: not the exit trap's to stop, whatever process has its number by then
    echo "== $side, turn $turn: /alive after $ready"
    echo "   us of CPU per call: ${costs[*]}"
    echo "   calls:              ${calls[*]}"
    echo "   p99 latency:        ${tails[*]}"
    echo "$side $turn|${costs[*]}|${calls[*]}" >>"$work/runs"
  done
done

# Each start's first minute, and when it was warm. A start's steady cost is the median of its segments' costs over the
# run's second half. On this kind of machine the host's pace moves by up to 2x within a run, so a start is judged by
# its own steady cost, not by the least of any one segment; a start whose steady cost is over 1.5 times the best
# start's was still compiling (both sides run the same code once it is compiled).
python3 - "$SEGMENT" "$work/runs" <<'PY'
import statistics
import sys
segment = float(sys.argv[1].rstrip("s"))
runs = [line.rstrip("\n").split("|") for line in open(sys.argv[2])]
runs = [(name, [int(v) for v in costs.split()], [int(v) for v in calls.split()]) for name, costs, calls in runs]
steady = {name: statistics.median(costs[len(costs) // 2:]) for name, costs, _ in runs}
best = min(steady.values())
minute = int(60 / segment)
print(f"== per start, against the best steady CPU per call (its second half's median), {best:.0f} us:")
for name, costs, calls in runs:
    first = sum(calls[:minute])
    mean = sum(cost * count for cost, count in zip(costs[:minute], calls[:minute])) / max(first, 1)
    own = steady[name]
    if own > 1.5 * best:
        when = f"still compiling: its second half at {own:.0f} us a call ({own / best:.1f}x)"
    else:
        # warm: from this segment on, no two in a row cost more than 1.5 times its steady cost (one slow segment is
        # the shared machine's; compiling keeps the cost up for several)
        high = [cost > 1.5 * own for cost in costs]
        pairs = [high[j] and high[j + 1] for j in range(len(costs) - 1)]
        warm = next((i for i in range(len(costs)) if not high[i] and not any(pairs[i:])), None)
        when = (f"warm after {warm * segment:.0f} s of load, at {own:.0f} us a call" if warm is not None
                else f"its last two segments cost over 1.5 times its steady {own:.0f} us a call")
    turn = name.replace(" ", ", turn ")
    print(f"   {turn}: first minute {first} calls at {mean:.0f} us each ({mean / best:.1f}x); {when}")
PY
machine_after
