#!/usr/bin/env bash
# P7, image pull: minipod against podman pull, skopeo copy and umoci unpack, in one run.
#
#   bench/pull.sh [--runs N] [--out FILE]       as root; writes bench/results/pull.md
#
# Installs what is missing (docker-registry, skopeo, umoci, debootstrap, podman through
# bench/peers.sh), builds the images once — a real nginx from Debian packages
# (examples/nginx/build-image.sh, kept in /var/tmp/minipod-nginx-build) and busybox
# (rootfs/build-busybox.sh) — then runs bench/image-pull.ts in a network namespace of its
# own, where the registry listens on 127.0.0.1:5000 and nothing else is reachable. Only
# building nginx talks to the network (Debian's package mirror, once).
set -euo pipefail
unset NODE_EXTRA_CA_CERTS
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
[[ $(id -u) == 0 ]] || { echo "bench/pull.sh: needs root" >&2; exit 1; }
WORK=$(mktemp -d /var/tmp/minipod-pull-bench.XXXXXX)
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  "$HERE/peers.sh" cleanup "$WORK" >/dev/null 2>&1
  if findmnt -rn -o TARGET | grep -q "^$WORK/"; then echo "bench/pull.sh: mounts left under $WORK; not deleting it" >&2; else rm -rf --one-file-system "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
missing=()
for p in docker-registry skopeo umoci debootstrap jq curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian starts its own registry service on port 5000; the bench runs one of its own.
command -v systemctl >/dev/null && systemctl disable --now docker-registry >/dev/null 2>&1 || true
"$HERE/peers.sh" setup "$WORK"
NGINX_WORK=${NGINX_WORK:-/var/tmp/minipod-nginx-build}
NO_IMPORT=1 WORK=$NGINX_WORK "$REPO/examples/nginx/build-image.sh"
# busybox: the bench's busybox tree as a one-layer OCI layout
B=$WORK/busybox-bundle L=$WORK/busybox-oci
umoci init --layout "$L"; umoci new --image "$L:busybox"; umoci unpack --image "$L:busybox" "$B" >/dev/null
cp -a "$WORK/rootfs/." "$B/rootfs/"; umoci repack --image "$L:busybox" "$B"; umoci config --image "$L:busybox" --config.cmd sh; rm -rf "$B"
cd "$REPO"
unshare --net --mount --fork --propagation private bash -c '
  ip link set lo up; mount -t sysfs sysfs /sys
  exec node --import tsx bench/image-pull.ts --work "$0/run" --image busybox="$1:busybox" --image debian="$2:debian" --image nginx="$2:nginx" --base debian "${@:3}"
' "$WORK" "$L" "$NGINX_WORK/oci" "$@"
