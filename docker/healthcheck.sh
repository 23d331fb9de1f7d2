#!/usr/bin/env bash
# Container health check: `strait-healthcheck http://HOST:PORT/PATH` exits 0 when the URL answers 2xx.
# Bash's /dev/tcp sends the request, so a check costs a few milliseconds of CPU, not a Node start.
set -u
url=${1:-}
pattern='^http://([^/:]+)(:([0-9]+))?(/.*)?$'
if [[ ! $url =~ $pattern ]]; then
  echo "strait-healthcheck: expected http://HOST[:PORT]/PATH, got '$url'" >&2
  exit 2
fi
host=${BASH_REMATCH[1]}
port=${BASH_REMATCH[3]:-80}
path=${BASH_REMATCH[4]:-/}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$path" "$host" "$port" >&3
read -r -t 2 _ status _ <&3 || exit 1
echo "$url: $status"
[[ $status == 2?? ]]
