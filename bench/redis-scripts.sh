#!/usr/bin/env bash
# Where Redis's CPU per chat call goes (issue 11): Redis is one thread that every replica shares, so what a call costs
# it bounds the calls per second of the whole deployment, however many replicas stand in front of it. A side-by-side
# run reports the total (bench/sidebyside.sh's "Redis CPU/req"); this splits it. The admission and settlement scripts
# are taken from LlmApi.Api/Llm/UsageLimiter.cs as they stand in this checkout and run by redis-benchmark against a
# tenant and an API key laid out as the API lays them out (RedisKeys.cs), 16 calls pipelined on each of 4
# connections, so what is measured is the script and not the round trip; beside them a PING, a script that does
# nothing with admission's keys and arguments (what every script call costs before its first command), settlement
# without metering (ARGV[5] = 0), and settlement metering only the finest dimension (a key's calls to one model) where
# the API meters four: what a stored format that summed the coarser ones when read would write.
# Prints Redis's CPU (utime + stime) per call of each, over ROUNDS rounds of N calls each, taken in turn.
#
# usage: bash bench/redis-scripts.sh    Settings: N=200000 calls per variant and round, ROUNDS=3, REDIS_PORT=6397.
# Needs redis-server and redis-benchmark (Debian's redis-tools), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
[ $# -eq 0 ] || usage
N=${N:-200000}
ROUNDS=${ROUNDS:-3}
REDIS_PORT=${REDIS_PORT:-6397}
workspace
machine "redis-benchmark and Redis"
start_redis
redis=$(redis_pid "$REDIS_PORT")
cli() { redis-cli -p "$REDIS_PORT" "$@"; }

# The script named NAME (a C# raw string constant), as Redis receives it; refuses a script the C# interpolates into.
script_of() {
  python3 - "$1" <<'PY'
import re, sys
source = open("LlmApi.Api/Llm/UsageLimiter.cs").read()
found = re.search(r"const string " + sys.argv[1] + r' = """\n(.*?)\n( *)""";', source, re.S)
if not found or "{{" in found.group(1):
    sys.exit(f"{sys.argv[1]} is not a plain raw string in UsageLimiter.cs")
indent = len(found.group(2))
print("\n".join(line[indent:] for line in found.group(1).split("\n")))
PY
}

admit=$(cli script load "$(script_of AdmitScript)")
settle=$(cli script load "$(script_of SettleScript)")
nothing=$(cli script load "return {}")

# A tenant with limits that never refuse (still checked on every call, as bench_tenant sets them) and a key without
# limits of its own, as in the side-by-side run.
tenant=0193f0c4-7b1e-7c3a-9d2e-1f2a3b4c5d6e
keyid=0193f0c4-8c2f-7d4b-8e3f-2a3b4c5d6e7f
secret=3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a
limits='{"requestsPerMinute":100000000,"tokensPerMinute":1000000000,"concurrentRequests":10000,"monthlyTokenBudget":1000000000000}'
cli hset "tenant:{$tenant}" id "$tenant" name Bench domain bench.example.com status active limits "$limits" rev 1 >/dev/null
# A key's limits as the API stores them when none is set (UsageLimits.ToJson): every one null.
unset_limits='{"requestsPerMinute":null,"tokensPerMinute":null,"concurrentRequests":null,"monthlyTokenBudget":null}'
cli hset "tenant:{$tenant}:apikey:{$keyid}" id "$keyid" tenantId "$tenant" name bench models '[]' limits "$unset_limits" \
  secretHash "$secret" >/dev/null
minute=$(date -u +%Y%m%d%H%M)
month=$(date -u +%Y-%m)
day=$(date -u +%Y-%m-%d)
now=$(date +%s%3N)
t="tenant:{$tenant}"
k="tenant:{$tenant}:apikey:{$keyid}"
# KEYS and ARGV as UsageLimiter sends them for an API key's call in steady state: the key taken from the replica's
# cache, so the script checks that its secret's hash and the tenant's status are still what they were. The calls of a
# variant share one lease id, and 63 other calls are in flight, as at the side-by-side run's 64 connections.
lease=0193f0c4-9d30-7e5c-9f40-3b4c5d6e7f80
for i in $(seq 1 63); do cli zadd "$t:limit:inflight" $((now + 900000)) "in-flight-$i" >/dev/null; done
counters=("$t:limit:rpm:$minute" "$t:limit:tpm:$minute" "$t:limit:budget:$month" "$t:limit:inflight"
  "$k:limit:rpm:$minute" "$k:limit:tpm:$minute" "$k:limit:budget:$month")
admit_call=(9 "${counters[@]}" "$t" "$k" 1 1 "$secret" 1016 "$lease" "$now" $((now + 900000)) 60 2592000)
settle_keys=(8 "${counters[@]}" "$t:usage:$day")
dimensions=(t m:bench "k:$keyid" "k:$keyid:m:bench")

# One admission first, which must admit (an empty reply), or the runs below would measure a refusal.
admitted=$(cli evalsha "$admit" "${admit_call[@]}")
[ -z "$admitted" ] || { echo "the admission script refused the benchmark's call: $admitted"; exit 1; }

declare -A ticks
variants=(ping nothing admit settle-bare settle settle-finest)
declare -A described=(
  [ping]="PING"
  [nothing]="a script that does nothing, admission's 9 keys and 9 arguments"
  [admit]="admission (AdmitScript)"
  [settle-bare]="settlement without metering"
  [settle]="settlement, metering 4 dimensions (as the API does)"
  [settle-finest]="settlement, metering the finest dimension only"
)
# call_of VARIANT: sets $call to the variant's command (an array).
call_of() {
  case $1 in
    ping) call=(PING) ;;
    nothing) call=(EVALSHA "$nothing" "${admit_call[@]}") ;;
    admit) call=(EVALSHA "$admit" "${admit_call[@]}") ;;
    settle-bare) call=(EVALSHA "$settle" "${settle_keys[@]}" 1 1016 30 "$lease" 0 20 10) ;;
    settle) call=(EVALSHA "$settle" "${settle_keys[@]}" 1 1016 30 "$lease" 1 20 10 "${dimensions[@]}") ;;
    settle-finest) call=(EVALSHA "$settle" "${settle_keys[@]}" 1 1016 30 "$lease" 1 20 10 "k:$keyid:m:bench") ;;
  esac
}
for _ in $(seq 1 "$ROUNDS"); do
  for variant in "${variants[@]}"; do
    call_of "$variant"
    before=$(cpu_ticks "$redis")
    redis-benchmark -p "$REDIS_PORT" -n "$N" -c 4 -P 16 -q "${call[@]}" >/dev/null
    ticks[$variant]=$(( ${ticks[$variant]:-0} + $(cpu_ticks "$redis") - before ))
  done
done
# What the runs left, as a check that the scripts ran as the API runs them: the 63 other calls still in flight (the
# variants' own lease ended by each settlement), and each settlement that meters the tenant counted in its day.
echo "== after the runs: calls in flight $(cli zcard "$t:limit:inflight") (63 expected), the day's calls metered $(cli hget "$t:usage:$day" t:r) ($((ROUNDS * N)) expected)"
echo "== Redis's CPU per call (utime + stime of redis-server over $ROUNDS rounds of $N calls, 4 connections, 16 pipelined)"
echo "| call | Redis CPU per call |"
echo "|---|---|"
for variant in "${variants[@]}"; do
  echo "| ${described[$variant]} | $(us_per_request "${ticks[$variant]}" $((ROUNDS * N)) 2) us |"
done
machine_after
