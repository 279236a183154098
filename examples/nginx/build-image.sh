#!/usr/bin/env bash
# Builds a real nginx image from Debian packages, as two layers, and imports it as `nginx`
# (nothing is pulled from a container registry: only Debian's package mirror is used).
#
#   sudo examples/nginx/build-image.sh            # about a minute; needs debootstrap and umoci
#   sudo bin/minipod run -d examples/nginx/ghost.yaml
#
# Layer 1 is a minimal Debian 12 (debootstrap --variant=minbase), layer 2 what
# `apt-get install nginx-light` adds to it; umoci computes the layers and writes an OCI
# image layout with the config nginx's own image has: Cmd ["nginx", "-g", "daemon off;"],
# ExposedPorts 80/tcp, StopSignal SIGQUIT (nginx's graceful stop). `minipod image import`
# stores it as layers shared with any other image on that base.
#
# Environment: WORK (default /var/tmp/minipod-nginx-build, kept: a second run only
# re-imports), MIRROR (default: the first Debian mirror of apt's sources), NAME (default
# nginx), MINIPOD (default: this checkout's bin/minipod), DEBIAN_TREE (an existing
# minbase tree to start from instead of running debootstrap), NO_IMPORT (only build the
# layout: tag `nginx`, and tag `debian` for its base layer alone).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/var/tmp/minipod-nginx-build}
NAME=${NAME:-nginx}
MINIPOD=${MINIPOD:-$here/../../bin/minipod}
PATHENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
log() { printf '[nginx-image] %s\n' "$*" >&2; }
[[ $(id -u) == 0 ]] || { log "needs root (debootstrap, chroot)"; exit 1; }
for t in debootstrap umoci; do
  command -v "$t" >/dev/null || { log "apt-get install debootstrap umoci"; apt-get install -y -qq debootstrap umoci >/dev/null; }
done
mirror() {
  local m=${MIRROR:-$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && !/security/ {print $2; exit}')}
  m=${m:-$(awk '$1 == "deb" && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
  [[ -n $m ]] || { log "no Debian mirror in apt's sources; set MIRROR"; exit 1; }
  echo "$m"
}
L=$WORK/oci B=$WORK/bundle
mkdir -p "$WORK"
if [[ ! -f $WORK/layout.done ]]; then
  base=${DEBIAN_TREE:-$WORK/debian}
  if [[ -z ${DEBIAN_TREE:-} && ! -f $WORK/debian.done ]]; then
    log "debootstrap --variant=minbase bookworm"
    rm -rf "$base"
    debootstrap --variant=minbase bookworm "$base" "$(mirror)" >"$WORK/debootstrap.log" 2>&1 || { log "debootstrap failed: see $WORK/debootstrap.log"; exit 1; }
    rm -rf "$base"/var/cache/apt/archives/*.deb "$base"/var/lib/apt/lists/*
    : >"$base/etc/resolv.conf"
    touch "$WORK/debian.done"
  fi
  rm -rf "$L" "$B"
  umoci init --layout "$L"
  umoci new --image "$L:nginx"
  umoci unpack --image "$L:nginx" "$B" >/dev/null
  log "layer 1: Debian minbase"
  cp -a "$base/." "$B/rootfs/"
  umoci repack --refresh-bundle --image "$L:nginx" "$B" # the next repack is a layer of its own
  umoci config --image "$L:nginx" --tag debian --config.env "$PATHENV" --config.cmd bash # the base alone, as an image too
  log "layer 2: apt-get install nginx-light"
  cp /etc/resolv.conf "$B/rootfs/etc/resolv.conf" # apt in the chroot resolves the mirror as the host does
  printf '#!/bin/sh\nexit 101\n' >"$B/rootfs/usr/sbin/policy-rc.d" # no service starts in the chroot
  chmod 755 "$B/rootfs/usr/sbin/policy-rc.d"
  chroot "$B/rootfs" /usr/bin/env -i "$PATHENV" DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light && apt-get clean && rm -rf /var/lib/apt/lists/*' \
    >"$WORK/apt.log" 2>&1 || { log "apt-get install nginx-light failed: see $WORK/apt.log"; exit 1; }
  rm "$B/rootfs/usr/sbin/policy-rc.d"
  : >"$B/rootfs/etc/resolv.conf"
  # As nginx's own image does: logs to the container's output.
  ln -sf /dev/stdout "$B/rootfs/var/log/nginx/access.log"
  ln -sf /dev/stderr "$B/rootfs/var/log/nginx/error.log"
  umoci repack --image "$L:nginx" "$B"
  rm -rf "$B"
  umoci config --image "$L:nginx" --config.env "$PATHENV" --config.cmd nginx --config.cmd -g --config.cmd 'daemon off;' \
    --config.exposedports 80/tcp --config.stopsignal SIGQUIT --config.workingdir /
  touch "$WORK/layout.done"
fi
[[ -n ${NO_IMPORT:-} ]] && { log "OCI layout in $L (tags nginx, debian)"; exit 0; }
log "importing $WORK/oci as $NAME"
"$MINIPOD" image import "$NAME" "$L"
