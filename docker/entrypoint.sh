#!/bin/sh
# Container entrypoint: a proxy must advertise an address other pods can reach, which Docker only
# knows at run time. With STRAIT_POD_HOST set, the text {pod-ip} in STRAIT_ADDRESS and
# STRAIT_STATS_ADDRESS is replaced by that name's address on the mesh network.
set -eu

if [ -n "${STRAIT_POD_HOST:-}" ]; then
  pod_ip=""
  tries=0
  while [ -z "$pod_ip" ]; do
    pod_ip=$(getent hosts "$STRAIT_POD_HOST" | awk '{ print $1; exit }') || true
    tries=$((tries + 1))
    if [ -z "$pod_ip" ]; then
      if [ "$tries" -ge 30 ]; then
        echo "strait-entrypoint: cannot resolve $STRAIT_POD_HOST" >&2
        exit 1
      fi
      sleep 1
    fi
  done
  for name in STRAIT_ADDRESS STRAIT_STATS_ADDRESS; do
    eval "value=\${$name:-}"
    case "$value" in
      *'{pod-ip}'*)
        value=$(printf '%s' "$value" | sed "s/{pod-ip}/$pod_ip/g")
        export "$name=$value"
        ;;
    esac
  done
fi

exec "$@"
