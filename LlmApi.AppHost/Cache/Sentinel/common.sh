# Shared by start-redis.sh and start-sentinel.sh (sourced; shipped in both ConfigMaps).

# A value as redis.conf and sentinel.conf read it: in double quotes, with backslashes and quotes escaped.
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# Prints host:port of the primary as the first sentinel that answers names it, or nothing when none does.
# $1: a sentinel (host:port) not to ask, the caller itself. Needs SENTINELS, MASTER_NAME and REDISCLI_AUTH.
primary_from_sentinels() {
  for sentinel in $SENTINELS; do
    [ "$sentinel" != "${1:-}" ] || continue
    answer=$(timeout 5 redis-cli -h "${sentinel%:*}" -p "${sentinel##*:}" --raw sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | tr '\n' ' ') || answer=""
    set -- $answer
    if [ $# -eq 2 ] && [ -n "$2" ] && [ -z "$(printf '%s' "$2" | tr -d 0-9)" ]; then
      printf '%s:%s\n' "$1" "$2"
      return
    fi
  done
}
