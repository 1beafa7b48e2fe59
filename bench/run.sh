#!/usr/bin/env bash
# Benchmarks the core API on loopback (issue 3), Release build, all in one run so the figures compare as ratios:
#  1. GET /api/auth/me against GET / (constant JSON: the route table, built once) of the same process, with every
#     request traced (as the AppHost runs it) and with 10% trace sampling (as production would);
#  2. POST /api/auth/login alone, against this machine's bcrypt limit (cores x cost-10 verifications/s on one core);
#  3. GET /api/auth/me latency while logins flood the same process.
# Needs wrk and redis-server (apt-get install -y wrk redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
DURATION=${DURATION:-15s}
# Load before each measurement: from a cold start the API's CPU per request on this kind of machine kept falling for
# 10-15 s of load (tiered compilation and its instrumented tier); a replica in service has long finished compiling.
WARMUP=${WARMUP:-30s}
REDIS_PORT=${REDIS_PORT:-6399}
API_URL=http://127.0.0.1:5099
work=$(mktemp -d)
api_pid=
stop_api() { if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; api_pid=; fi; }
trap 'stop_api; redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

start_api() {
  stop_api
  # One account signs in thousands of times: lift the per-user session cap, or the flood would end the session whose
  # token the /api/auth/me measurements use.
  env "$@" ConnectionStrings__cache="127.0.0.1:$REDIS_PORT" Jwt__SigningKey="benchmark-signing-key-0123456789abcdef" \
    Throttling__SessionsPerUser=10000 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
    dotnet "$work/api/LlmApi.Api.dll" --urls "$API_URL" >>"$work/api.log" 2>&1 &
  api_pid=$!
  for _ in $(seq 1 100); do curl -fs "$API_URL/alive" >/dev/null && return; sleep 0.2; done
  echo "the API did not start"; cat "$work/api.log"; exit 1
}
# percent_of A B: A as a whole percentage of B.
percent_of() { python3 -c "print(f'{100*$1/$2:.0f}%')"; }

machine "wrk, redis-server and the API"
start_redis
dotnet publish LlmApi.Api -c Release -o "$work/api" --nologo -v q >/dev/null

start_api
domain="bench-$RANDOM.example.com"
token=$(curl -fs -X POST "$API_URL/api/auth/register" -H 'content-type: application/json' \
  -d "{\"tenantName\":\"Bench\",\"domain\":\"$domain\",\"username\":\"bench\",\"email\":\"bench@$domain\",\"password\":\"benchmark password\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"email":"bench@$domain","password":"benchmark password","domain":"$domain"}'
wrk.headers["Content-Type"] = "application/json"
LUA

compare() { # label, then env for the API
  local label=$1; shift
  start_api "$@"
  wrk -t2 -c32 -d"$WARMUP" "$API_URL/" >/dev/null
  wrk -t2 -c32 -d"$WARMUP" -H "Authorization: Bearer $token" "$API_URL/api/auth/me" >/dev/null
  wrk -t2 -c32 -d"$DURATION" --latency "$API_URL/" >"$work/root-$label.txt"
  wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$API_URL/api/auth/me" >"$work/me-$label.txt"
  local root="$work/root-$label.txt" me="$work/me-$label.txt"
  echo "[$label] GET / $(wrk_figure "$root" rate) req/s (p99 $(wrk_figure "$root" p99)); GET /api/auth/me $(wrk_summary "$me")" \
    "= $(percent_of "$(wrk_figure "$me" rate)" "$(wrk_figure "$root" rate)") of GET /"
}

echo "== 1. GET /api/auth/me vs GET /, wrk -t2 -c32 -d$DURATION"
compare all-traced
compare sampled-10pct OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1

echo "== 2. POST /api/auth/login alone, wrk -t2 -c32 -d$DURATION"
start_api
dotnet run bench/bcrypt-rate.cs -- 5 | tee "$work/bcrypt.txt"
limit=$(sed -E 's/.*limit \(cores x one-core rate\) ([0-9.]+).*/\1/' "$work/bcrypt.txt")
# 32 sign-ins at a time queue for the bcrypt threads for 32 / (logins per second) seconds: past wrk's default 2 s timeout
# on a slower machine, wrk gave up on calls whose hash was under way, and the API's throughput was measured short of what
# it did. LOGIN_TIMEOUT waits for every answer.
LOGIN_TIMEOUT=${LOGIN_TIMEOUT:-30s}
# Warm-up: bcrypt's loop starts in tier-0 JIT code; measure the steady state, as a long-running replica sees it.
wrk -t2 -c32 -d10s --timeout "$LOGIN_TIMEOUT" -s "$work/login.lua" "$API_URL/api/auth/login" >/dev/null
wrk -t2 -c32 -d"$DURATION" --timeout "$LOGIN_TIMEOUT" --latency -s "$work/login.lua" "$API_URL/api/auth/login" >"$work/login.txt"
echo "POST /api/auth/login $(wrk_figure "$work/login.txt" rate) logins/s = $(percent_of "$(wrk_figure "$work/login.txt" rate)" "$limit") of the bcrypt limit $limit/s"

echo "== 3. GET /api/auth/me (wrk -t1 -c4) during a login flood (wrk -t1 -c32), $DURATION"
wrk -t1 -c4 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$API_URL/api/auth/me" >"$work/me-flood.txt" &
me_pid=$!
wrk -t1 -c32 -d"$DURATION" --timeout "$LOGIN_TIMEOUT" --latency -s "$work/login.lua" "$API_URL/api/auth/login" >"$work/login-flood.txt"
wait "$me_pid"
echo "GET /api/auth/me $(wrk_summary "$work/me-flood.txt") while logins ran at $(wrk_figure "$work/login-flood.txt" rate)/s"
# What failed in any wrk run above, named by its run: GET / and the sign-in runs print no summary of their own, so their
# failures show only here (those of the /me runs also show beside their figures above).
for f in "$work"/*.txt; do
  failures=$(wrk_failures "$f")
  [ -z "$failures" ] || echo "$(basename "$f" .txt): $failures"
done
machine_after
