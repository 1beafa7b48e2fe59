#!/usr/bin/env bash
# A/B of the time to first token (issue 11) between two builds or two settings of one build. On this kind of machine
# two API processes of one build, started the same way, can differ by 0.1-0.2 ms in the first token for minutes on end
# (docs/benchmarks.md, issue 11, nineteenth pass), which is as much as anything tried has moved it, so one process a
# side decides nothing: a side's "gain" may be the luck of its process. Here each side runs several processes, started
# alternately, every process is probed alone (the others stopped with SIGSTOP, since an idle neighbour slows the one
# probed), in an order that rotates each turn, by bench/first-token.py against the upstream itself; each probe also
# reports the API process's CPU per streamed call. Prints every probe, each process's median, and per turn the
# difference of the two sides' medians.
#
# usage: bash bench/first-token-ab.sh A B    where A and B are git revisions (published into a temporary folder) or
#        folders that hold a published LlmApi.Api.dll. Settings: PROCESSES=3 per side, TURNS=8, COUNT=1000 streams a
#        side per probe, WARMUP=20s of streams per process (wrk -c8) before the first turn; A_ENV / B_ENV: NAME=value
#        settings for one side only (the same build twice with B_ENV="DOTNET_GCgen0size=0x100000" measures that setting).
# Needs wrk, redis-server, curl, python3, git.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
[ $# -eq 2 ] || usage
PROCESSES=${PROCESSES:-3}
TURNS=${TURNS:-8}
COUNT=${COUNT:-1000}
PROBE_WARMUP=50 # calls a side before each probe's measured ones; the API serves them too
WARMUP=${WARMUP:-20s}
REDIS_PORT=${REDIS_PORT:-6397}
UPSTREAM_URL=http://127.0.0.1:5197
FIRST_PORT=5180
start_ab "$1" "$2" "the probe, Redis, the upstream and the APIs"

# Processes named A1, B1, A2, B2, ... and started in that order, so that neither side is always the older.
names=()
declare -A pid port
for i in $(seq 1 "$PROCESSES"); do
  for side in A B; do
    name=$side$i
    port[$name]=$((FIRST_PORT + ${#names[@]}))
    # word splitting of the extra settings is intended: NAME=value pairs
    # shellcheck disable=SC2086
    run_api "${dir[$side]}" "http://127.0.0.1:${port[$name]}" "$REDIS_PORT" "$UPSTREAM_URL" "$work/api-$name.log" "${stoppable[@]}" ${extra[$side]}
    pid[$name]=$api_pid
    pids+=($api_pid)
    names+=("$name")
    wait_for "http://127.0.0.1:${port[$name]}/alive"
  done
done
# One tenant and key for all: they share Redis, and a key works on every replica.
bench_tenant "http://127.0.0.1:${port[A1]}"
chat_lua "$work/stream.lua" true "$key"
for name in "${names[@]}"; do
  wrk -t1 -c8 -d"$WARMUP" -s "$work/stream.lua" "http://127.0.0.1:${port[$name]}/v1/chat/completions" >/dev/null
done

# probe NAME: the first token added at p50 (ms) and the process's CPU per call (us), each process probed alone
probe() {
  local name=$1 other before after added
  for other in "${names[@]}"; do [ "$other" = "$name" ] || kill -STOP "${pid[$other]}"; done
  before=$(cpu_ticks "${pid[$name]}")
  added=$(python3 bench/first-token.py --count "$COUNT" --warmup "$PROBE_WARMUP" \
    --side direct "$UPSTREAM_URL/v1/chat/completions" openai \
    --side gateway "http://127.0.0.1:${port[$name]}/v1/chat/completions" openai "authorization: Bearer $key" \
    | sed -nE 's/.*added at p50 \+?(-?[0-9.]+) ms.*/\1/p')
  after=$(cpu_ticks "${pid[$name]}")
  for other in "${names[@]}"; do [ "$other" = "$name" ] || kill -CONT "${pid[$other]}"; done
  echo "$added $(us_per_request $((after - before)) $((COUNT + PROBE_WARMUP)))"
}

results=$work/results.txt
echo "== first token added at p50 (ms) and CPU per streamed call (us), $COUNT streams a probe, each process alone"
for turn in $(seq 1 "$TURNS"); do
  line="turn $turn:"
  n=${#names[@]}
  for i in $(seq 0 $((n - 1))); do
    name=${names[$(( (i + turn) % n ))]}
    probe "$name" >"$work/probe.txt" # not in a subshell: a failed probe ends the script (set -e)
    read -r added cpu <"$work/probe.txt"
    [ -n "$added" ] || { echo "no first token from $name; its log ends:"; tail -5 "$work/api-$name.log"; exit 1; }
    echo "$turn $name $added $cpu" >>"$results"
    line+=" $name +$added ($cpu us)"
  done
  echo "$line"
done

python3 - "$results" <<'EOF'
import statistics, sys
# turn, process (its side is its first letter), first token added (ms), CPU per call (us)
rows = [line.split() for line in open(sys.argv[1])]
print("| process | first token added, median | CPU per call, median |")
print("|---|---|---|")
for name in sorted({r[1] for r in rows}, key=lambda n: (n[1:], n[0])):
    mine = [r for r in rows if r[1] == name]
    print(f"| {name} | +{statistics.median(float(r[2]) for r in mine):.3f} ms | {statistics.median(int(r[3]) for r in mine):.0f} us |")
for side in "AB":
    mine = [r for r in rows if r[1][0] == side]
    print(f"{side}: median of all probes +{statistics.median(float(r[2]) for r in mine):.3f} ms, "
          f"{statistics.median(int(r[3]) for r in mine):.0f} us CPU per call")
turns = sorted({int(r[0]) for r in rows})
diffs = [statistics.median(float(r[2]) for r in rows if int(r[0]) == t and r[1][0] == "B")
         - statistics.median(float(r[2]) for r in rows if int(r[0]) == t and r[1][0] == "A") for t in turns]
print("B - A per turn (ms): " + ", ".join(f"{d:+.3f}" for d in diffs) + f"; median {statistics.median(diffs):+.3f}, "
      f"B lower in {sum(d < 0 for d in diffs)} of {len(diffs)}")
EOF
machine_after
