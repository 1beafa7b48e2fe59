#!/usr/bin/env bash
# A/B of two builds of the API (issue 11), for deciding whether a change makes a call cheaper: on this shared machine
# the same build measures 10-25% apart between runs, more than most changes move a call, so one side-by-side run
# before and one after decide nothing. Here both builds run at once against one Redis and one upstream, with the
# Deployment's settings, and wrk alternates between them in short segments, so drift falls on both alike; the whole
# is done twice with the ports swapped, because the process started second measures slower whichever build it runs.
# Prints CPU time per request (utime + stime over the requests served) of each build, per order and over both, and
# what each build's requests cost the Redis process in the same segments (wrk loads one build at a time). Both
# builds get the runtime settings of this checkout's Deployment (aspire-manifests/api.yaml), whatever their revision.
# One build against itself came to 0.98-1.03 per row (docs/benchmarks.md, issue 11, twentieth pass): a B / A within 3%
# of 1 is a tie.
#
# usage: bash bench/ab.sh A B    where A and B are git revisions (published into a temporary folder) or folders that
#        hold a published LlmApi.Api.dll. Settings: ROWS="root me chat stream", ROUNDS=6 segment pairs per row and
#        order, SEGMENT=5s, WARMUP=30s per row and build; A_ENV / B_ENV: NAME=value settings for one side only (the
#        same build twice with B_ENV="DOTNET_gcServer=1" measures that setting).
# Needs wrk, redis-server, curl, python3, git.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
[ $# -eq 2 ] || usage
ROWS=${ROWS:-root me chat stream}
ROUNDS=${ROUNDS:-6}
SEGMENT=${SEGMENT:-5s}
WARMUP=${WARMUP:-30s}
REDIS_PORT=${REDIS_PORT:-6398}
UPSTREAM_URL=http://127.0.0.1:5198
PORTS=(5096 5097)
start_ab "$1" "$2" "wrk, Redis, the upstream and both APIs"

load() { # ROW URL DURATION TOKEN LUA_DIR
  case $1 in
    root) wrk -t2 -c32 -d"$3" "$2/" ;;
    me) wrk -t2 -c32 -d"$3" -H "Authorization: Bearer $4" "$2/api/auth/me" ;;
    chat) wrk -t2 -c64 -d"$3" -s "$5/chat.lua" "$2/v1/chat/completions" ;;
    stream) wrk -t2 -c64 -d"$3" -s "$5/stream.lua" "$2/v1/chat/completions" ;;
    *) echo "unknown row $1" >&2; exit 2 ;;
  esac
}

redis=$(redis_pid "$REDIS_PORT")
declare -A ticks requests redis_ticks
for order in 1 2; do
  # order 1: A on the first port, B on the second; order 2 swapped
  sides=(A B); [ $order = 2 ] && sides=(B A)
  declare -A pid url token
  for i in 0 1; do
    side=${sides[$i]}
    url[$side]=http://127.0.0.1:${PORTS[$i]}
    # word splitting of the extra settings is intended: NAME=value pairs
    # shellcheck disable=SC2086
    run_api "${dir[$side]}" "${url[$side]}" "$REDIS_PORT" "$UPSTREAM_URL" "$work/api-$side-$order.log" ${extra[$side]}
    pid[$side]=$api_pid
    pids+=($api_pid)
  done
  for side in A B; do
    wait_for "${url[$side]}/alive"
    bench_tenant "${url[$side]}"
    token[$side]=$token
    mkdir -p "$work/$side"
    chat_lua "$work/$side/chat.lua" false "$key"
    chat_lua "$work/$side/stream.lua" true "$key"
  done
  for row in $ROWS; do
    for side in "${sides[@]}"; do load "$row" "${url[$side]}" "$WARMUP" "${token[$side]}" "$work/$side" >/dev/null; done
    for _ in $(seq 1 "$ROUNDS"); do
      for side in "${sides[@]}"; do
        before=$(cpu_ticks "${pid[$side]}")
        redis_before=$(cpu_ticks "$redis")
        load "$row" "${url[$side]}" "$SEGMENT" "${token[$side]}" "$work/$side" >"$work/segment.txt"
        after=$(cpu_ticks "${pid[$side]}")
        redis_ticks[$side$row$order]=$(( ${redis_ticks[$side$row$order]:-0} + $(cpu_ticks "$redis") - redis_before ))
        failed=$(wrk_failures "$work/segment.txt")
        [ -z "$failed" ] || echo "$side $row: $failed"
        ticks[$side$row$order]=$(( ${ticks[$side$row$order]:-0} + after - before ))
        requests[$side$row$order]=$(( ${requests[$side$row$order]:-0} + $(wrk_figure "$work/segment.txt" requests) ))
      done
    done
  done
  kill "${pid[A]}" "${pid[B]}"
  wait "${pid[A]}" "${pid[B]}" 2>/dev/null || true
  unset pid url token
done

echo "== CPU per request (us): $ROUNDS alternating $SEGMENT segments per build, row and order, after $WARMUP each"
echo "| row | A, order 1 | A, order 2 | A | B, order 1 | B, order 2 | B | B / A |"
echo "|---|---|---|---|---|---|---|---|"
# The requests each build served also divide Redis's CPU in its segments: that table is printed after this one.
declare -A total count redis_spent
redis_rows=()
for row in $ROWS; do
  line="| $row"
  for side in A B; do
    t=0; n=0; r=0
    for order in 1 2; do
      line+=" | $(us_per_request "${ticks[$side$row$order]}" "${requests[$side$row$order]}")"
      t=$((t + ticks[$side$row$order])); n=$((n + requests[$side$row$order]))
      r=$((r + redis_ticks[$side$row$order]))
    done
    line+=" | **$(us_per_request $t $n)**"
    total[$side]=$t; count[$side]=$n; redis_spent[$side]=$(us_per_request $r $n 1)
  done
  echo "$line | $(python3 -c "print(f'{(${total[B]} / ${count[B]}) / (${total[A]} / ${count[A]}):.3f}')") |"
  difference=$(awk -v a="${redis_spent[A]}" -v b="${redis_spent[B]}" 'BEGIN { printf "%+.1f", b - a }')
  redis_rows+=("| $row | ${redis_spent[A]} | ${redis_spent[B]} | $difference |")
done

echo "== Redis's CPU per request (us), over the same segments and both orders"
echo "| row | A | B | B - A |"
echo "|---|---|---|---|"
printf '%s\n' "${redis_rows[@]}"
machine_after
