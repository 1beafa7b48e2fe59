#!/bin/sh
# Starts one Redis Sentinel of the Sentinel topology. Shipped unchanged in the Kubernetes output (ConfigMap
# cache-sentinel-files), run locally with `Cache:Topology=sentinel`, and by the tests. Settings, from the environment:
#   REDIS_PASSWORD    password of the data nodes, and of this sentinel's clients (other sentinels use it too)
#   SENTINEL_PORT     port to listen on (26379)
#   BIND_ADDRESS      address to listen on (all when empty)
#   ANNOUNCE_HOST     the name others reach this sentinel by (default: $(hostname).$SERVICE_DOMAIN)
#   INITIAL_PRIMARY   host:port of the primary when neither another sentinel nor this one's saved state knows it
#   SENTINELS         all sentinels, host:port separated by spaces
#   MASTER_NAME       the name the primary is watched by (mymaster); QUORUM: sentinels that must agree it is down (2)
#   DATA_DIR          sentinel.conf, which Sentinel rewrites as its state (a volume, so a restart remembers failovers)
#   CONF_DIR          the folder of this script and of sentinel.conf, the timings every sentinel shares
set -eu
: "${SENTINEL_PORT:=26379}" "${MASTER_NAME:=mymaster}" "${QUORUM:=2}" "${DATA_DIR:=/data}" "${CONF_DIR:=$(dirname "$0")}" "${BIND_ADDRESS:=}"
: "${ANNOUNCE_HOST:=$(hostname).${SERVICE_DOMAIN:?set SERVICE_DOMAIN or ANNOUNCE_HOST}}"
: "${REDIS_PASSWORD:?set REDIS_PASSWORD}" "${INITIAL_PRIMARY:?set INITIAL_PRIMARY}" "${SENTINELS:?set SENTINELS}"
export REDISCLI_AUTH="$REDIS_PASSWORD"
umask 077

. "$CONF_DIR/common.sh"

mkdir -p "$DATA_DIR"
conf="$DATA_DIR/sentinel.conf"

# The primary: as the other sentinels name it, else as this sentinel last knew it (Sentinel rewrites its file at
# every failover), else the first deployment's.
primary=$(primary_from_sentinels "$ANNOUNCE_HOST:$SENTINEL_PORT")
if [ -z "$primary" ] && [ -f "$conf" ]; then
  primary=$(awk -v name="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == name { gsub(/"/, "", $4); print $4 ":" $5; exit }' "$conf")
fi
[ -n "$primary" ] || primary="$INITIAL_PRIMARY"

# Sentinel will not start with a primary name it cannot resolve: give a pod that is still being scheduled a minute.
tries=0
until timeout 5 redis-cli -h "${primary%:*}" -p "${primary##*:}" ping >/dev/null 2>&1 || [ $tries -ge 60 ]; do
  tries=$((tries + 1))
  sleep 1
done

# This sentinel's id survives restarts, so the others do not count it twice.
myid=""
[ ! -f "$conf" ] || myid=$(awk '$1 == "sentinel" && $2 == "myid" { print $3; exit }' "$conf")
{
  printf '%s\n' "# Written by start-sentinel.sh at every start; Sentinel rewrites it as its state."
  printf '%s\n' "port $SENTINEL_PORT"
  [ -z "$BIND_ADDRESS" ] || printf '%s\n' "bind $BIND_ADDRESS"
  printf '%s\n' "dir $(quote "$DATA_DIR")"
  printf '%s\n' "requirepass $(quote "$REDIS_PASSWORD")"
  [ -z "$myid" ] || printf '%s\n' "sentinel myid $myid"
  printf '%s\n' "sentinel resolve-hostnames yes"
  printf '%s\n' "sentinel announce-hostnames yes"
  printf '%s\n' "sentinel announce-ip $(quote "$ANNOUNCE_HOST")"
  printf '%s\n' "sentinel announce-port $SENTINEL_PORT"
  printf '%s\n' "sentinel monitor $MASTER_NAME ${primary%:*} ${primary##*:} $QUORUM"
  printf '%s\n' "sentinel auth-pass $MASTER_NAME $(quote "$REDIS_PASSWORD")"
  sed "s/{master}/$MASTER_NAME/g" "$CONF_DIR/sentinel.conf"
} > "$conf.new"
mv "$conf.new" "$conf"
printf '%s\n' "start-sentinel.sh: $ANNOUNCE_HOST:$SENTINEL_PORT watches $primary"
exec "${REDIS_SERVER:-redis-server}" "$conf" --sentinel
