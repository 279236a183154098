#!/usr/bin/env bash
# minipod's side-by-side benchmark against podman (crun), crun and runc: the one command.
#
#   bench/run.sh [--quick] [--rows P1,P2,P3,P4,P5,P6] [--out FILE]
#   bench/run.sh --profile [--out FILE]    where minipod's time goes (bench/profile.ts)
#
# Installs what it needs (apt-get: podman crun runc conmon hyperfine ...; npm ci and
# `npm run build` when minipod is not built), prepares the busybox image for every runtime,
# runs every row with minipod and its peers interleaved, prints the table and writes it as
# markdown to bench/results/latest.md (or --out). --quick: fewer rounds, P4 with 1 and 10
# pods only (a few minutes instead of ~25). Everything the run creates (minipod state root,
# podman pods, its network and image, the cgroup fix for crun) is removed at the end, also
# on failure or Ctrl-C. Needs root; the bench pod uses host port 8888.
#
# Node runs without NODE_EXTRA_CA_CERTS: when set, it costs ~80 ms at every Node start, which
# would be measured as minipod's. (sudo drops it too.)
set -euo pipefail
unset NODE_EXTRA_CA_CERTS

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
[[ $(id -u) == 0 ]] || { echo "bench/run.sh: needs root" >&2; exit 1; }
command -v node >/dev/null || { echo "bench/run.sh: node (>= 20) is not installed" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/minipod-bench.XXXXXX)
# The bench's pods make their cgroups under a parent of its own, removed at the end.
export MINIPOD_CGROUP_PARENT=/minipod-bench-$$

cleanup() {
  local rc=$? pods
  set +e
  trap - EXIT INT TERM
  # minipod pods under the bench's own state root (normally already gone)
  pods=$(ls "$WORK/minipod-root/run/pods" "$WORK/minipod-root/lib/pods" 2>/dev/null | grep -v ':$' | sort -u)
  [[ -n $pods ]] && MINIPOD_ROOT=$WORK/minipod-root "$REPO/bin/minipod" rm -f $pods >/dev/null 2>&1
  # the bench's bridge and firewall table (its state root owns them; no pod uses them now)
  [[ -d $WORK/minipod-root ]] && MINIPOD_ROOT=$WORK/minipod-root "$REPO/bin/minipod" network rm >/dev/null 2>&1
  "$HERE/peers.sh" cleanup "$WORK"
  # its cgroup parent, in every hierarchy (empty by now: each pod removed its own)
  for d in /sys/fs/cgroup/*"$MINIPOD_CGROUP_PARENT" /sys/fs/cgroup"$MINIPOD_CGROUP_PARENT"; do
    [[ -d $d && ! -L ${d%"$MINIPOD_CGROUP_PARENT"} ]] && rmdir "$d" 2>/dev/null
  done
  if findmnt -rn -o TARGET | grep -q "^$WORK/"; then
    echo "bench/run.sh: mounts left under $WORK; not deleting it" >&2
  else
    rm -rf --one-file-system "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$REPO"
if [[ ! -d node_modules/tsx ]]; then
  echo "[bench] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
if [[ ! -f dist/minipod.js || ! -f build/Release/minipod.node || ! -f build/Release/minipod-shim ]]; then
  echo "[bench] npm run build" >&2
  npm run build >&2
fi
"$HERE/peers.sh" setup "$WORK"
if [[ ${1:-} == --profile ]]; then
  shift
  node --import tsx "$HERE/profile.ts" --work "$WORK" "$@"
else
  node --import tsx "$HERE/index.ts" --work "$WORK" "$@"
fi
