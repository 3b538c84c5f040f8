#!/bin/bash
# `make compare`: upstream's daemon against ours, side by side on one machine.
# Upstream: the running daemon of INCUS_DIR=$UPSTREAM_DIR (default /var/lib/incus; never
# started, stopped or reset here), driven by upstream's client. It must have a dir pool and
# a managed bridge in its default profile. Ours: a fresh installation in a temp dir on
# the same filesystem (dir pool, a managed bridge in the default profile). The same
# busybox image is imported into both (upstream keeps it only if it had it before).
# ROUNDS=15 by default; instance names are bench-cmp-<pid>-<round>, deleted as they go.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${INCUS_BIN_DIR:-$ROOT/target/release}"
ROUNDS="${ROUNDS:-15}"
UPSTREAM_CLIENT="${UPSTREAM_CLIENT:-/usr/bin/incus}"
UPSTREAM_DIR="${UPSTREAM_DIR:-/var/lib/incus}"
up() { INCUS_DIR="$UPSTREAM_DIR" "$UPSTREAM_CLIENT" "$@"; }

if [ ! -x "$UPSTREAM_CLIENT" ]; then
    echo "upstream's client ($UPSTREAM_CLIENT) is not installed: nothing to compare" >&2
    exit 2
fi
if ! up info >/dev/null 2>&1; then
    echo "upstream's daemon ($UPSTREAM_DIR) does not answer; start it (e.g. upstream-incus.sh start)" >&2
    exit 2
fi

export PATH="$BIN:$PATH"
export INCUS_DIR
# On the filesystem of upstream's directory, as the comparison needs.
INCUS_DIR="$(mktemp -d /var/tmp/incus-compare.XXXXXX)"
chmod 0711 "$INCUS_DIR"
upstream_image_added=""
cleanup() {
    incus stop --all -f >/dev/null 2>&1 || true
    for n in $(incus list --format csv -c n 2>/dev/null); do incus delete -f "$n" >/dev/null 2>&1 || true; done
    for n in $(incus network list -f csv 2>/dev/null | cut -d, -f1); do
        incus network detach-profile "$n" default >/dev/null 2>&1 || true
        incus network delete "$n" >/dev/null 2>&1 || true
    done
    for p in $(incus storage list --format csv 2>/dev/null | cut -d, -f1); do
        incus storage delete "$p" >/dev/null 2>&1 || true
    done
    rm -rf "$INCUS_DIR"
    if [ -n "$upstream_image_added" ]; then up image delete "$upstream_image_added" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

incus admin init --minimal --network >/dev/null
image="$(incus-image build-busybox "$INCUS_DIR/image")"
incus image import "$image" --alias busybox >/dev/null
fingerprint="$(sha256sum "$image" | cut -d' ' -f1)"
if ! up image info "$fingerprint" >/dev/null 2>&1; then
    up image import "$image" >/dev/null
    upstream_image_added="$fingerprint"
fi

echo "== machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ {print $2}') GiB," \
    "kernel $(uname -r), $(df -T "$UPSTREAM_DIR" | awk 'NR==2 {print $2}') under both, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== upstream $(up version 2>/dev/null | sed -n 's/^Server version: //p') vs ours; $ROUNDS rounds, interleaved, medians"
incus-benchmark compare --rounds "$ROUNDS" --upstream-client "$UPSTREAM_CLIENT" \
    --upstream-dir "$UPSTREAM_DIR" --upstream-image "$fingerprint" --image busybox "$@"
