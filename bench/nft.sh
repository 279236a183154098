#!/usr/bin/env bash
# What one nftables transaction of a pod costs: the `nft -f -` the supervisor runs when a
# pod starts (the bridge's table rewritten + the pod's hostPort element) and the one it runs
# when the pod ends (the element deleted), next to an empty `nft -f` (the process and
# libnftables starting). Also where the time of one goes (strace -T). This is the measure
# behind "one `nft -f` per transaction, not nftables over netlink from C" (README).
#
#   bench/nft.sh      (root; runs in a network namespace of its own: the host's firewall is untouched)
set -euo pipefail
unset NODE_EXTRA_CA_CERTS
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $(id -u) == 0 ]] || { echo "bench/nft.sh: needs root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench/nft.sh: needs hyperfine (bench/peers.sh installs it)" >&2; exit 1; }
if [[ -z ${MINIPOD_BENCH_NETNS:-} ]]; then
  MINIPOD_BENCH_NETNS=1 exec unshare --net "$0" "$@"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ip link add mpbench0 type bridge && ip link set mpbench0 up
cd "$REPO"
# The very scripts the plan carries (src/net/hook.ts: the nft host operation and its undo).
WORK=$WORK node --import tsx -e '
import { writeFileSync } from "node:fs";
import { contributeNetwork } from "./src/net/hook.ts";
const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "b" }, spec: { containers: [{ name: "c", image: "x", ports: [{ containerPort: 80, hostPort: 8888 }] }] } };
const ctx = { pod, uid: "bench", roots: { run: "/run/minipod", lib: "/var/lib/minipod" }, dirs: { run: "/x", lib: "/y" }, network: { bridge: "mpbench0", subnet: "10.251.0.0/24" }, facts: { podIP: "10.251.0.5" }, configMaps: [], secrets: [] };
const op = contributeNetwork(ctx).hostOps.find((o) => o.op === "nft");
writeFileSync(process.env.WORK + "/apply.nft", op.script);
writeFileSync(process.env.WORK + "/undo.nft", op.undo);
writeFileSync(process.env.WORK + "/empty.nft", "");
'
nft -f "$WORK/apply.nft" && nft -f "$WORK/undo.nft"
hyperfine -w 5 -r 40 -N --export-markdown "$WORK/nft.md" \
  -n 'apply: the table rewritten + 1 hostPort element' --prepare "sh -c 'nft -f $WORK/undo.nft || true'" "nft -f $WORK/apply.nft" \
  -n 'undo: 1 element deleted' --prepare "sh -c 'nft -f $WORK/apply.nft || true'" "nft -f $WORK/undo.nft" \
  -n 'empty file: process + libnftables' --prepare true "nft -f $WORK/empty.nft" >/dev/null
cat "$WORK/nft.md"
nft -f "$WORK/apply.nft"
echo
echo "one undo under strace -T, its slowest system calls:"
strace -T -e trace=all nft -f "$WORK/undo.nft" 2>&1 | grep -E '<[0-9.]+>$' | sort -t'<' -k2 -rn | head -3
