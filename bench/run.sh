#!/usr/bin/env bash
# Benchmarks the core API on loopback (issue 3): GET /api/auth/me against a constant-JSON endpoint (GET /) of the same
# process, and POST /api/auth/login against the machine's bcrypt limit, with /me latency during a login flood.
# Needs wrk and redis-server (apt-get install -y wrk redis-server). Results go to stdout; copy them to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
REDIS_PORT=${REDIS_PORT:-6399}
API_URL=http://127.0.0.1:5099
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; redis-cli -p $REDIS_PORT shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes --dir "$work" >/dev/null
dotnet publish LlmApi.Api -c Release -o "$work/api" --nologo -v q >/dev/null
ConnectionStrings__cache="127.0.0.1:$REDIS_PORT" Jwt__SigningKey="benchmark-signing-key-0123456789abcdef" \
  ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
  dotnet "$work/api/LlmApi.Api.dll" --urls "$API_URL" >"$work/api.log" 2>&1 &
for _ in $(seq 1 100); do curl -fs "$API_URL/alive" >/dev/null && break; sleep 0.2; done

domain="bench-$RANDOM.example.com"
token=$(curl -fs -X POST "$API_URL/api/auth/register" -H 'content-type: application/json' \
  -d "{\"tenantName\":\"Bench\",\"domain\":\"$domain\",\"username\":\"bench\",\"email\":\"bench@$domain\",\"password\":\"benchmark password\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"email":"bench@$domain","password":"benchmark password","domain":"$domain"}'
wrk.headers["Content-Type"] = "application/json"
LUA

echo "== warm-up"
wrk -t2 -c32 -d5s "$API_URL/" >/dev/null
wrk -t2 -c32 -d5s -H "Authorization: Bearer $token" "$API_URL/api/auth/me" >/dev/null

echo "== GET / (constant JSON), wrk -t2 -c32 -d$DURATION"
wrk -t2 -c32 -d"$DURATION" --latency "$API_URL/" | tee "$work/root.txt"
echo "== GET /api/auth/me, wrk -t2 -c32 -d$DURATION"
wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$API_URL/api/auth/me" | tee "$work/me.txt"

echo "== bcrypt limit of this machine"
dotnet run bench/bcrypt-rate.cs -- 5 | tee "$work/bcrypt.txt"

echo "== login flood (wrk -t1 -c32) with GET /api/auth/me alongside (wrk -t1 -c4), $DURATION"
wrk -t1 -c4 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$API_URL/api/auth/me" >"$work/me-flood.txt" &
wrk -t1 -c32 -d"$DURATION" --latency -s "$work/login.lua" "$API_URL/api/auth/login" | tee "$work/login.txt"
wait %?me-flood 2>/dev/null || wait
echo "-- /api/auth/me during the flood:"; cat "$work/me-flood.txt"

rps() { awk '/Requests\/sec/{print $2}' "$1"; }
p99() { awk '$1=="99%"{print $2}' "$1"; }
limit=$(sed -E 's/.*limit \(cores x one-core rate\) ([0-9.]+).*/\1/' "$work/bcrypt.txt")
echo
echo "== summary"
echo "GET / : $(rps "$work/root.txt") req/s, p99 $(p99 "$work/root.txt")"
echo "GET /api/auth/me : $(rps "$work/me.txt") req/s, p99 $(p99 "$work/me.txt") -> $(python3 -c "print(f'{100*$(rps "$work/me.txt")/$(rps "$work/root.txt"):.0f}% of GET /')")"
echo "POST /api/auth/login : $(rps "$work/login.txt") req/s vs bcrypt limit $limit/s -> $(python3 -c "print(f'{100*$(rps "$work/login.txt")/$limit:.0f}%')")"
echo "GET /api/auth/me during the login flood: $(rps "$work/me-flood.txt") req/s, p99 $(p99 "$work/me-flood.txt")"
