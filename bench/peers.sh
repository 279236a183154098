#!/usr/bin/env bash
# The peers of the benchmark (podman, crun, runc) on this kind of host: install, configure,
# prepare their inputs, and undo it all afterwards.
#
#   bench/peers.sh setup WORK      packages, podman config, cgroup fix, podman image, OCI bundle
#   bench/peers.sh versions        one line per tool
#   bench/peers.sh cleanup WORK    remove every pod/container/network the bench left in podman,
#                                  undo the cgroup fix, remove the podman image
#
# WORK is the benchmark's scratch directory (bench/run.sh makes it); the busybox rootfs,
# its tarball and the OCI bundle live there. Needs root.
#
# Host quirks handled here (each one made podman or crun fail on the reference machine):
#  * no systemd as PID 1      -> podman cgroup_manager=cgroupfs, events_logger=file
#  * no CAP_SYS_RESOURCE      -> podman's default container rlimits (nofile/nproc = 1048576)
#                                fail with "setrlimit: Operation not permitted": pin
#                                default_ulimits to the hard limits we have
#  * hybrid cgroups with a controller (hugetlb) left on the v2 mount -> crun 1.8 refuses
#                                ("cgroups in hybrid mode not supported"): bind such
#                                controllers to a v1 hierarchy for the run (undone by cleanup)
#  * no registry               -> the image is imported from the local busybox rootfs; the
#                                pod uses imagePullPolicy: Never; kube play injects no PATH,
#                                so the image carries one
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
IMAGE=localhost/busybox:latest
CONF=/etc/containers/containers.conf.d/50-minipod-bench.conf
REGCONF=/etc/containers/registries.conf.d/99-minipod-bench-offline.conf
PKGS=(podman crun runc conmon catatonit containernetworking-plugins netavark aardvark-dns busybox-static iptables
      nftables hyperfine curl jq iproute2 util-linux)

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

ensure_pkgs() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

have_cap_sys_resource() {
  local eff; eff=$(awk '/^CapEff/{print $2}' /proc/self/status)
  (( (16#$eff >> 24) & 1 ))
}

configure_podman() {
  mkdir -p "$(dirname "$CONF")" "$(dirname "$REGCONF")"
  local ulimits=""
  if ! have_cap_sys_resource; then
    # podman lowers its own RLIMIT_NPROC hard limit to 32768: that is the ceiling
    local nofile nproc
    nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
    [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
    [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
    ulimits="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
  fi
  cat >"$CONF" <<C
# written by minipod's bench/peers.sh (podman on a host without systemd and CAP_SYS_RESOURCE)
[containers]
$ulimits
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
C
  printf '# written by minipod bench/peers.sh: never search remote registries\nunqualified-search-registries = []\n' >"$REGCONF"
}

# crun refuses a hybrid layout while the v2 mount still owns controllers. A controller the
# bench unbound before may also still sit in a v1 hierarchy that is no longer mounted (the
# kernel frees the hierarchy only once its dying cgroups are gone, which can take a minute,
# and the controller then returns to cgroup2 at any moment): mount those too, so that the
# layout stays stable for the whole run.
fix_cgroup_hybrid() {
  local work=$1 v2=/sys/fs/cgroup/unified c hier
  [[ $(stat -f -c %T /sys/fs/cgroup) == tmpfs && -r $v2/cgroup.controllers ]] || return 0
  for c in $(cat "$v2/cgroup.controllers") $(awk 'NR>1 && $2!=0 {print $1}' /proc/cgroups); do
    mountpoint -q "/sys/fs/cgroup/$c" 2>/dev/null && continue
    grep -qw "$c" <(awk '{print $NF}' /proc/self/mountinfo | tr ',' '\n') && continue  # mounted elsewhere (e.g. cpu,cpuacct)
    hier=$(awk -v c="$c" '$1==c {print $2}' /proc/cgroups)
    if [[ $hier == 0 ]] && ! grep -qw "$c" "$v2/cgroup.controllers"; then continue; fi
    log "hybrid cgroups: binding controller '$c' to a v1 hierarchy at /sys/fs/cgroup/$c (crun refuses controllers on cgroup2)"
    mkdir -p "/sys/fs/cgroup/$c"
    mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
    echo "/sys/fs/cgroup/$c" >>"$work/v1-mounts"
  done
}

# Unmount what fix_cgroup_hybrid mounted. The controller goes back to cgroup2 when the kernel
# frees the hierarchy, i.e. once the dying cgroups of the removed containers are released,
# which may be after we exit.
undo_cgroup_hybrid() {
  local work=$1 m c
  [[ -f $work/v1-mounts ]] || return 0
  while read -r m; do
    [[ -n $m ]] || continue
    c=${m##*/}
    find "$m" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
    umount "$m" 2>/dev/null || true
    rmdir "$m" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      grep -qw "$c" /sys/fs/cgroup/unified/cgroup.controllers && break
      sleep 0.5
    done
    grep -qw "$c" /sys/fs/cgroup/unified/cgroup.controllers ||
      log "cgroup controller $c: unmounted; it returns to cgroup2 once the kernel frees its dying cgroups"
  done <"$work/v1-mounts"
  rm -f "$work/v1-mounts"
}

# The busybox tree of rootfs/build-busybox.sh, kept as a directory (OCI bundle root) and a
# tarball (podman import, minipod image import): every runtime runs the same bytes.
build_rootfs() {
  local work=$1
  [[ -x $work/rootfs/bin/busybox && -f $work/busybox.tar ]] && return 0
  rm -rf "$work/rootfs" "$work/busybox.tar"
  "$REPO/rootfs/build-busybox.sh" --no-import --dir "$work/rootfs" --tar "$work/busybox.tar" >/dev/null
}

import_podman_image() {
  local work=$1
  if podman image exists "$IMAGE" &&
     podman image inspect "$IMAGE" --format '{{.Config.Env}}' | grep -q PATH=; then
    return 0
  fi
  log "podman import $work/busybox.tar as $IMAGE"
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  podman import --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$work/busybox.tar" "$IMAGE" >/dev/null
}

# An OCI bundle running `true` in the busybox tree: `crun spec`'s default config
# (read-only root, no terminal), the same file for crun and runc.
make_bundle() {
  local work=$1 b=$1/bundle
  mkdir -p "$b"
  (cd "$b" && rm -f config.json && crun spec)
  jq --arg r "$work/rootfs" '.process.args=["/bin/true"] | .process.terminal=false | .root.path=$r' \
    "$b/config.json" >"$b/config.json.new"
  mv "$b/config.json.new" "$b/config.json"
}

# Wait (<= $1 s) until no live conmon/catatonit/aardvark-dns is left, so that a measurement
# does not overlap the asynchronous exit of the previous pod's helpers.
wait_helpers() {
  local n=$(( ${1:-10} * 10 ))
  while ((n-- > 0)); do
    ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 ~ /^(conmon|catatonit|aardvark-dns)$/' | grep -q . || return 0
    sleep 0.1
  done
}

cleanup() {
  local work=$1 p
  set +e
  if command -v podman >/dev/null; then
    for p in $(podman pod ps -q --filter label=minipod-bench=1 2>/dev/null); do podman pod rm -f "$p" >/dev/null 2>&1; done
    for p in $(podman pod ps --format '{{.Name}}' 2>/dev/null | grep -E '^(web|mpb-[0-9]+)$'); do podman pod rm -f "$p" >/dev/null 2>&1; done
    wait_helpers 15
  fi
  command -v crun >/dev/null && crun delete -f mpb-crun >/dev/null 2>&1
  command -v runc >/dev/null && runc delete -f mpb-runc >/dev/null 2>&1
  if command -v podman >/dev/null && [[ -z $(podman ps -aq 2>/dev/null) ]]; then
    # podman is idle: its kube network, bridge, netns and empty cgroups can go
    podman network rm podman-default-kube-network >/dev/null 2>&1
    ip link show podman1 >/dev/null 2>&1 && ip link del podman1
    for ipt in iptables ip6tables; do
      command -v $ipt >/dev/null || continue
      for t in nat filter; do
        $ipt -t $t -S 2>/dev/null | grep -E '^-A ' | grep -E -- '-j NETAVARK' | grep -v '^-A NETAVARK' |
          while read -r _ chain rest; do eval "$ipt -t $t -D $chain $rest"; done
        for c in $($ipt -t $t -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^NETAVARK/ {print $2}'); do $ipt -t $t -F "$c"; done
        for c in $($ipt -t $t -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^NETAVARK/ {print $2}'); do $ipt -t $t -X "$c"; done
      done
    done
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^netns-/ {print $1}'); do ip netns del "$ns"; done
    find /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent -depth -type d -exec rmdir {} \; 2>/dev/null
    podman rmi -f "$IMAGE" >/dev/null 2>&1
  fi
  undo_cgroup_hybrid "$work"
  return 0
}

versions() {
  echo "podman $(podman --version | awk '{print $3}'), crun $(crun --version | head -1 | awk '{print $3}'), runc $(runc --version | head -1 | awk '{print $3}'), conmon $(conmon --version | head -1 | awk '{print $3}'), netavark $(/usr/lib/podman/netavark --version 2>&1 | awk '{print $2}')"
}

[[ $(id -u) == 0 ]] || { echo "bench/peers.sh: run as root" >&2; exit 1; }
cmd=${1:-}; work=${2:-}
case $cmd in
  setup)
    [[ -n $work ]] || { echo "usage: bench/peers.sh setup WORK" >&2; exit 2; }
    mkdir -p "$work"
    ensure_pkgs
    configure_podman
    fix_cgroup_hybrid "$work"
    build_rootfs "$work"
    import_podman_image "$work"
    make_bundle "$work"
    ;;
  cleanup)
    [[ -n $work ]] || { echo "usage: bench/peers.sh cleanup WORK" >&2; exit 2; }
    cleanup "$work"
    ;;
  wait-helpers) wait_helpers "${2:-10}" ;;
  versions) versions ;;
  *) echo "usage: bench/peers.sh setup|cleanup WORK | versions | wait-helpers [SECONDS]" >&2; exit 2 ;;
esac
