#!/bin/sh
# Build a minimal busybox root filesystem and import it as the image busybox:latest.
#
#   rootfs/build-busybox.sh [--tar FILE] [--dir DIR] [--no-import] [--name NAME]
#
#   --tar FILE    also write the tree as a tarball (deterministic: sorted, mtime 0, numeric owners)
#   --dir DIR     build the tree in DIR (created, must be empty) and keep it; default: a
#                 temporary directory, removed afterwards
#   --no-import   only build (with --tar and/or --dir); needs no root
#   --name NAME   image name (default busybox:latest)
#
# The tree: the static busybox of Debian's busybox-static package (installed with apt-get when
# missing) as /bin/busybox, a symlink to it for every applet (from `busybox --list-full`, so
# nothing runs inside the tree), /etc/passwd (root, nobody), /etc/group, empty /etc/hosts and
# /etc/resolv.conf (the runtime provides them), /tmp (1777), /proc /sys /dev /root /www /data
# /var /run. The import goes through src/image/import-main.ts (`minipod image import` calls the
# same function) into the store under MINIPOD_ROOT (default /var/lib/minipod). Running it again
# builds the same tree and replaces the image: the result is the same.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
tarball=
dir=
keep=0
import=1
name=busybox:latest

while [ $# -gt 0 ]; do
  case "$1" in
    --tar) tarball=${2:?--tar needs a file}; shift 2 ;;
    --dir) dir=${2:?--dir needs a directory}; keep=1; shift 2 ;;
    --no-import) import=0; shift ;;
    --name) name=${2:?--name needs a value}; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-busybox: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$import" = 0 ] && [ -z "$tarball" ] && [ "$keep" = 0 ]; then
  echo "build-busybox: --no-import without --tar or --dir builds nothing useful" >&2
  exit 2
fi

# The static binary: a dynamically linked busybox would not run inside the image.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  if [ "$(id -u)" != 0 ]; then
    echo "build-busybox: the busybox-static package is not installed (run as root to install it)" >&2
    exit 1
  fi
  echo "build-busybox: installing busybox-static" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2; }
fi
bb=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n 1)
[ -x "$bb" ] || { echo "build-busybox: busybox-static installs no bin/busybox" >&2; exit 1; }

if [ -n "$dir" ]; then
  mkdir -p "$dir"
  if [ -n "$(ls -A "$dir")" ]; then echo "build-busybox: $dir is not empty" >&2; exit 1; fi
  tree=$(cd "$dir" && pwd)
else
  tree=$(mktemp -d "${TMPDIR:-/tmp}/minipod-busybox.XXXXXX")
  trap 'rm -rf "$tree"' EXIT INT TERM
fi
chmod 0755 "$tree"

umask 022
mkdir -p "$tree/bin" "$tree/sbin" "$tree/usr/bin" "$tree/usr/sbin" "$tree/etc" \
  "$tree/proc" "$tree/sys" "$tree/dev" "$tree/www" "$tree/data" "$tree/var/log" "$tree/run"
mkdir -m 0700 "$tree/root"
mkdir -m 1777 "$tree/tmp"
cp "$bb" "$tree/bin/busybox"
chmod 0755 "$tree/bin/busybox"
# Absolute targets, as `busybox --install -s` makes them.
"$bb" --list-full | while read -r applet; do
  case "$applet" in bin/busybox|'') continue ;; esac
  mkdir -p "$tree/$(dirname "$applet")"
  ln -sf /bin/busybox "$tree/$applet"
done

cat >"$tree/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$tree/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
: >"$tree/etc/hosts"
: >"$tree/etc/resolv.conf"

if [ -n "$tarball" ]; then
  tar --create --file="$tarball" --directory="$tree" --sort=name --mtime=@0 \
    --numeric-owner --owner=0 --group=0 --format=gnu .
fi

if [ "$import" = 1 ]; then
  cd "$here"
  node --import tsx src/image/import-main.ts "$name" "$tree" --cmd sh
fi
