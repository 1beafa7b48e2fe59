#!/usr/bin/env bash
# Where the first token's time goes (issue 11), step by step, in this gateway and in the design's floor
# (bench/floor.cs), read off the kernel rather than off a measuring build: perf's system-call tracepoints on the
# process probed while bench/first-token.py sends it one stream at a time. For each call, the times of six system
# calls: the request read from the client's socket, the admission script sent to Redis, its reply read, the model
# server's request sent, the model server's first bytes read, the first piece sent to the client. Prints, per turn and
# for both, the median of each step, so what the gateway adds over the floor shows where it is added. Any revision can
# be measured as it is deployed; the tracepoints cost both sides the same few microseconds a system call.
#
# usage: bash bench/first-token-steps.sh [REV]    REV: a git revision (published into a temporary folder; HEAD by
#        default) or a folder that holds a published LlmApi.Api.dll. Settings: TURNS=3, COUNT=3000 streams a probe
#        (of which TRACE=0.4 seconds are traced), WARMUP=20s of streams per process (wrk -c8) first.
# Needs perf (Debian's linux-perf) with tracepoints, wrk, redis-server, curl, python3, git.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
[ $# -le 1 ] || usage
TURNS=${TURNS:-3}
COUNT=${COUNT:-3000}
TRACE=${TRACE:-0.4}
WARMUP=${WARMUP:-20s}
REDIS_PORT=${REDIS_PORT:-6396}
UPSTREAM_URL=http://127.0.0.1:5196
API_URL=http://127.0.0.1:5195
FLOOR_URL=http://127.0.0.1:5194
perf list 'syscalls:sys_enter_sendto' 2>/dev/null | grep -q sendto || { echo "perf cannot see the syscalls tracepoints here"; exit 1; }

workspace
api=$(published_api "$work" A "${1:-HEAD}")
start_services "the probe, Redis, the upstream, the gateway and the floor"
echo "== gateway: ${1:-HEAD}, with the Deployment's settings: ${deployed[*]}"
env "${deployed[@]}" dotnet run -c Release bench/floor.cs -- --urls "$FLOOR_URL" --Floor:Redis "127.0.0.1:$REDIS_PORT" \
  --Floor:Upstream "$UPSTREAM_URL" >"$work/floor.log" 2>&1 &
pids+=($!)
run_api "$api" "$API_URL" "$REDIS_PORT" "$UPSTREAM_URL" "$work/api.log" "${stoppable[@]}"
pids+=($api_pid)
wait_for "$API_URL/alive"
wait_for "$FLOOR_URL/" any # the floor has nothing at /
bench_tenant "$API_URL"

# The process that listens on a URL's port (`dotnet run` starts the floor as a child).
listener() { ss -ltnpH "sport = :${1##*:}" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
declare -A pid=([gateway]=$api_pid [floor]=$(listener "$FLOOR_URL")) url=([gateway]=$API_URL [floor]=$FLOOR_URL)
pids+=("${pid[floor]}" "$(listener "$UPSTREAM_URL")") # stopped with the rest on exit, not only their `dotnet run`
chat_lua "$work/stream.lua" true "$key"
for side in gateway floor; do
  wrk -t1 -c8 -d"$WARMUP" -s "$work/stream.lua" "${url[$side]}/v1/chat/completions" >/dev/null
done

# fds SIDE PORT: the side's socket descriptors connected to PORT (or, for the API's own port, accepted on it).
fds() {
  local filter="dport = :$2"
  [ "$2" = "${url[$1]##*:}" ] && filter="sport = :$2"
  ss -tnpH state established "( $filter )" | grep -o "pid=${pid[$1]},fd=[0-9]*" | cut -d= -f3 | paste -sd, -
}

# trace SIDE: probes SIDE alone (the other stopped with SIGSTOP), tracing part of it; prints the step medians.
trace() {
  local side=$1 other=floor
  [ "$side" = floor ] && other=gateway
  kill -STOP "${pid[$other]}"
  python3 bench/first-token.py --count "$COUNT" --side direct "$UPSTREAM_URL/v1/chat/completions" openai \
    --side "$side" "${url[$side]}/v1/chat/completions" openai "authorization: Bearer $key" >"$work/probe.txt" &
  local probe=$!
  sleep 1 # past the probe's warm-up; its connections are open
  local client redis upstream
  client=$(fds "$side" "${url[$side]##*:}") redis=$(fds "$side" "$REDIS_PORT") upstream=$(fds "$side" "${UPSTREAM_URL##*:}")
  perf record -q -e 'syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_exit_recvfrom' -p "${pid[$side]}" \
    -o "$work/trace.data" -- sleep "$TRACE" >/dev/null 2>&1
  wait $probe
  kill -CONT "${pid[$other]}"
  perf script -i "$work/trace.data" -F tid,time,event,trace 2>/dev/null >"$work/trace.txt"
  python3 - "$work/trace.txt" "$client" "$redis" "$upstream" "$side" "$(grep -o 'added at p50 [^ ]* ms' "$work/probe.txt")" <<'EOF'
import re, statistics, sys
path, client, redis, upstream, side, probe = sys.argv[1:7]
role = {}
for name, fds in (("client", client), ("redis", redis), ("upstream", upstream)):
    for fd in filter(None, fds.split(",")):
        role[int(fd)] = name
# (time in us, send or recv, role) of every send and every read that returned data, on the three kinds of socket
events, reading = [], {}
for line in open(path):
    m = re.match(r"\s*(\d+)\s+([\d.]+):\s+syscalls:sys_(enter|exit)_(sendto|recvfrom):\s+(.*)", line)
    if not m:
        continue
    tid, at, phase, call, args = m.group(1), float(m.group(2)) * 1e6, m.group(3), m.group(4), m.group(5)
    if call == "sendto":
        fd = int(re.search(r"fd: (0x[0-9a-f]+)", args).group(1), 16)
        if fd in role:
            events.append((at, "send", role[fd]))
    elif phase == "enter":
        reading[tid] = int(re.search(r"fd: (0x[0-9a-f]+)", args).group(1), 16)
    else:
        fd, returned = reading.pop(tid, None), int(args.split()[-1], 16)
        if fd in role and 0 < returned < 2**63:
            events.append((at, "recv", role[fd]))
events.sort()
steps = [("send", "redis"), ("recv", "redis"), ("send", "upstream"), ("recv", "upstream"), ("send", "client")]
calls, i = [], 0
while i < len(events):
    if events[i][1:] != ("recv", "client"):
        i += 1
        continue
    times, j = [events[i][0]], i + 1
    for step in steps:
        while j < len(events) and events[j][1:] != step:
            j += 1
        if j == len(events):
            break
        times.append(events[j][0])
        j += 1
    if len(times) == len(steps) + 1:
        calls.append([b - a for a, b in zip(times, times[1:])] + [times[-1] - times[0]])
    i = j
medians = [statistics.median(c[k] for c in calls) for k in range(len(steps) + 1)] if calls else []
print(side, len(calls), probe.replace("added at p50 ", "").replace(" ms", ""), *(f"{m:.0f}" for m in medians))
EOF
}

echo "== each step's median (us) over the traced calls; first token added as the probe saw it over all $COUNT calls"
echo "| turn | side | calls traced | first token added (ms) | request read -> admission sent | -> its reply read | -> model server asked | -> its first bytes read | -> first piece sent | request read -> first piece sent |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for turn in $(seq 1 "$TURNS"); do
  order=(gateway floor)
  [ $((turn % 2)) -eq 0 ] && order=(floor gateway)
  for side in "${order[@]}"; do
    read -r name calls added s1 s2 s3 s4 s5 total < <(trace "$side")
    echo "| $turn | $name | $calls | $added | ${s1:--} | ${s2:--} | ${s3:--} | ${s4:--} | ${s5:--} | ${total:--} |"
  done
done
machine_after
