#!/bin/sh
# Starts one Redis data node of the Sentinel topology. The LlmApi AppHost ships this file unchanged in the
# Kubernetes output (ConfigMap cache-redis-files) and runs it locally with `Cache:Topology=sentinel`; the tests run it
# too (SentinelFailoverTests). Settings come from the environment:
#   REDIS_PASSWORD    password of clients, replication and sentinels
#   REDIS_PORT        port to listen on (6379)
#   BIND_ADDRESS      address to listen on (all when empty)
#   ANNOUNCE_HOST     the name others reach this node by (default: $(hostname).$SERVICE_DOMAIN, the pod's DNS name)
#   INITIAL_PRIMARY   host:port of the node that is primary while no sentinel knows one (the first deployment)
#   SENTINELS         the sentinels, host:port separated by spaces
#   MASTER_NAME       the name the sentinels watch the primary by (mymaster)
#   DATA_DIR          the append-only file and the node's redis.conf (/data)
#   CONF_DIR          the folder of this script and of redis.conf, the settings every node shares
set -eu
: "${REDIS_PORT:=6379}" "${MASTER_NAME:=mymaster}" "${DATA_DIR:=/data}" "${CONF_DIR:=$(dirname "$0")}" "${BIND_ADDRESS:=}"
: "${ANNOUNCE_HOST:=$(hostname).${SERVICE_DOMAIN:?set SERVICE_DOMAIN or ANNOUNCE_HOST}}"
: "${REDIS_PASSWORD:?set REDIS_PASSWORD}" "${INITIAL_PRIMARY:?set INITIAL_PRIMARY}" "${SENTINELS:?set SENTINELS}"
export REDISCLI_AUTH="$REDIS_PASSWORD"
umask 077

. "$CONF_DIR/common.sh"

# The primary as the sentinels name it now, so that a node restarting after a failover rejoins as a replica of the
# node that took over rather than coming back as a second primary.
primary=$(primary_from_sentinels)
[ -n "$primary" ] || primary="$INITIAL_PRIMARY"

mkdir -p "$DATA_DIR"
conf="$DATA_DIR/redis.conf"
{
  printf '%s\n' "# Written by start-redis.sh at every start; Redis rewrites it when Sentinel reconfigures the node."
  cat "$CONF_DIR/redis.conf"
  printf '%s\n' "port $REDIS_PORT"
  [ -z "$BIND_ADDRESS" ] || printf '%s\n' "bind $BIND_ADDRESS"
  printf '%s\n' "dir $(quote "$DATA_DIR")"
  printf '%s\n' "requirepass $(quote "$REDIS_PASSWORD")"
  printf '%s\n' "masterauth $(quote "$REDIS_PASSWORD")"
  printf '%s\n' "replica-announce-ip $(quote "$ANNOUNCE_HOST")"
  printf '%s\n' "replica-announce-port $REDIS_PORT"
  if [ "$primary" != "$ANNOUNCE_HOST:$REDIS_PORT" ]; then
    printf '%s\n' "replicaof $(quote "${primary%:*}") ${primary##*:}"
  fi
} > "$conf.new"
mv "$conf.new" "$conf"
printf '%s\n' "start-redis.sh: $ANNOUNCE_HOST:$REDIS_PORT starts as $([ "$primary" = "$ANNOUNCE_HOST:$REDIS_PORT" ] && echo primary || printf '%s\n' "replica of $primary")"
exec "${REDIS_SERVER:-redis-server}" "$conf"
