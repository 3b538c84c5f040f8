#!/bin/bash
# Starts and stops a throw-away LXD (Debian's lxd 5.0.2) for the lxd-to-incus tests,
# without a service manager, in its own LXD_DIR (never /var/lib/lxd).
#   lxd.sh start DIR   start LXD on DIR (created), wait until it answers
#   lxd.sh stop DIR    stop its instances and LXD, unmount what it mounted, remove DIR
set -euo pipefail
cmd=${1:?usage: lxd.sh start|stop DIR}
dir=${2:?usage: lxd.sh start|stop DIR}
case "$dir" in /var/lib/lxd|/var/lib/lxd/*|/var/snap/*|/) echo "lxd.sh: refusing $dir" >&2; exit 2;; esac
export LXD_DIR="$dir"
case "$cmd" in
start)
    command -v lxd >/dev/null || { echo "lxd.sh: lxd is not installed (apt-get install lxd)" >&2; exit 3; }
    mkdir -p "$dir"
    chmod 711 "$dir"
    setsid lxd --group lxd --logfile "$dir/lxd.log" </dev/null >"$dir/lxd.out" 2>&1 &
    echo $! >"$dir.pid"
    if ! lxd waitready --timeout 60; then
        cat "$dir/lxd.out" >&2 || true
        exit 1
    fi
    ;;
stop)
    pid=$(cat "$dir.pid" 2>/dev/null || true)
    if [ -S "$dir/unix.socket" ]; then
        # Stops the instances too (LXD's own shutdown).
        timeout 90 lxd shutdown --timeout 60 >/dev/null 2>&1 || true
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    # Whatever LXD left mounted below DIR (shmounts, devlxd, pools), deepest first.
    { grep -F " $dir/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    # Anything still mounted? Do not remove through it.
    if grep -qF " $dir/" /proc/mounts; then
        echo "lxd.sh: mounts remain below $dir" >&2
        exit 1
    fi
    rm -rf "$dir" "$dir.pid"
    ;;
*) echo "usage: lxd.sh start|stop DIR" >&2; exit 2;;
esac
