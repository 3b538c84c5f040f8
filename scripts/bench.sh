#!/bin/bash
# `make bench`: the standard benchmark set on a fresh installation in a temp dir:
# busybox image; dir pool (and btrfs on a loop file when the driver is built in);
# 1 and $COUNT instances for the per-operation figures, $LIST_COUNT for list and the
# serve group (REST latency, GET /1.0 requests/s, incus-serve memory).
# Prints tables with the budgets of docs/architecture.md; asserts no timing.
set -euo pipefail
BIN="${INCUS_BIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target/release}"
COUNT="${COUNT:-50}"
LIST_COUNT="${LIST_COUNT:-200}"
export PATH="$BIN:$PATH"
export INCUS_DIR
INCUS_DIR="$(mktemp -d /tmp/incus-bench.XXXXXX)"
cleanup() {
    incus stop --all -f >/dev/null 2>&1 || true
    for n in $(incus list --format csv -c n 2>/dev/null); do incus delete -f "$n" >/dev/null 2>&1 || true; done
    for p in $(incus storage list --format csv 2>/dev/null | cut -d, -f1); do
        incus storage delete "$p" >/dev/null 2>&1 || true
    done
    rm -rf "$INCUS_DIR"
}
trap cleanup EXIT

incus admin init --minimal >/dev/null
incus image import "$(incus-image build-busybox "$INCUS_DIR/image")" --alias busybox >/dev/null

pools="default"
if incus storage create bench-btrfs btrfs size=4GiB >/dev/null 2>&1; then
    pools="default bench-btrfs"
else
    echo "(btrfs pool not available here: dir only)"
fi

for pool in $pools; do
    driver=$(incus storage show "$pool" --format json | jq -r .driver)
    echo "== pool $pool ($driver): one instance, 15 rounds"
    incus-benchmark standard --count 15 -s "$pool" --report-file "${REPORT:-/dev/null}"
    echo "== pool $pool ($driver): $COUNT instances"
    incus-benchmark standard --count "$COUNT" -s "$pool" --report-file "${REPORT:-/dev/null}"
done
echo "== list and incus-serve with $LIST_COUNT running instances"
incus-benchmark serve --count "$LIST_COUNT" --report-file "${REPORT:-/dev/null}"
