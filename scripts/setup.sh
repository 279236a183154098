#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for minipod, from this checkout (as root):
#   1. the Debian packages minipod and its tests use,
#   2. the npm dependencies (npm ci) and the build (addon, pause, supervisor, bundle),
#   3. the busybox:latest image the examples use (built from Debian's busybox-static),
#   4. Debian's nginx package, downloaded into rootfs/debs/ (for the nginx example's test).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) != 0 ]]; then
  # A user with sudo: the same script as root. Without sudo: say what is needed.
  command -v sudo >/dev/null && exec sudo -- "$0" "$@"
  echo "setup: needs root (run it as root; this machine has no sudo)" >&2
  exit 1
fi

# gcc and libc6-dev: the tests build small static attack helpers with `cc -static`;
# umoci and skopeo make the tests' OCI image fixtures, docker-registry serves them on
# loopback; zstd unpacks zstd layers; strace checks which processes a pod's life starts;
# libseccomp-dev: the native layer compiles seccomp filters with libseccomp; containerd
# (Debian's 1.6): a test drives minipod-oci through it with `ctr run`.
pkgs=(iproute2 iptables nftables conntrack busybox-static util-linux procps make gcc g++ libc6-dev python3 zstd umoci skopeo docker-registry strace libseccomp-dev containerd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's docker-registry package enables a system-wide registry on port 5000; the tests
  # start their own on loopback inside their sandbox, so the service stays off.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
  # The same for containerd: the test starts its own, with a throwaway root, in its sandbox.
  if [[ " ${missing[*]} " == *" containerd "* ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now containerd.service >/dev/null 2>&1 || true
  fi
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
  npm ci --no-audit --no-fund
fi
npm run build

# The image the examples name (busybox = busybox:latest).
bash rootfs/build-busybox.sh

# Debian's nginx package, not installed (that would start a web server on the host): the
# tests build an nginx image from it for the seed example (examples/nginx), with no
# network during the tests.
if ! ls rootfs/debs/nginx_*.deb >/dev/null 2>&1; then
  mkdir -p rootfs/debs
  (cd rootfs/debs && { apt-get download nginx 2>/dev/null || { apt-get update -qq && apt-get download nginx; }; }) >/dev/null ||
    echo "setup: could not download Debian's nginx package; the nginx example's test will be skipped" >&2
fi
echo "setup: done. Try: bin/minipod run examples/pod.yaml" >&2
