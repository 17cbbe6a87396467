#!/usr/bin/env bash
# rootfs.sh — builds the runtime image's root filesystem from image/runtime.list.
#
#   image/rootfs.sh BINARY OUT_DIR
#
# Writes OUT_DIR (which must not exist) and prints its manifest (one `MODE PATH` line per
# file, sorted) on stdout. Run by the Dockerfile's builder stage and by scripts/image.sh, so the
# two images hold the same files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: rootfs.sh BINARY OUT_DIR}
out=${2:?usage: rootfs.sh BINARY OUT_DIR}
die() { printf '[rootfs.sh] ERROR: %s\n' "$*" >&2; exit 1; }
[ -x "$bin" ] || die "no executable at $bin"
[ ! -e "$out" ] || die "$out already exists"
command -v ldd >/dev/null || die "ldd not found (Debian package libc-bin)"
mkdir -p "$out"

put() {  # SOURCE PATH MODE: a regular file (symlinks resolved) at PATH in the root
  [ -f "$1" ] || die "missing $1"
  install -D -m "$3" "$(readlink -f "$1")" "$out$2"
}

while read -r kind path arg; do
  case "$kind" in
    '' | '#'*) continue ;;
    binary) put "$bin" "$path" "$arg" ;;
    libs)
      # `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, `/lib64/ld-linux-x86-64.so.2 (0x...)`;
      # the vDSO has no file. A static binary ("not a dynamic executable") needs none.
      ldd "$bin" | grep -q 'not found' && die "ldd cannot resolve every library of $bin"
      for lib in $(ldd "$bin" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
        put "$lib" "$lib" 0755
      done
      ;;
    file) put "$path" "$path" "$arg" ;;
    user)
      mkdir -p "$out/etc"
      printf '%s:x:%s:%s:%s:/:/sbin/nologin\n' "$path" "$arg" "$arg" "$path" >"$out/etc/passwd"
      printf '%s:x:%s:\n' "$path" "$arg" >"$out/etc/group"
      chmod 0644 "$out/etc/passwd" "$out/etc/group"
      ;;
    *) die "unknown entry '$kind' in $here/runtime.list" ;;
  esac
done <"$here/runtime.list"

(cd "$out" && find . -type f -printf '%m /%P\n' | sort -k2)
