# Shared set-up of the bats suites: the built tools on PATH, a throwaway installation
# per test (INCUS_DIR and INCUS_RUN_DIR in a temporary directory, removed after the
# test), and a few assertions. Load with `load helpers`.
#
# The tools come from $INCUS_BIN_DIR, else target/debug of this checkout; build them
# first (`cargo build --workspace`, or `make bats`).

INCUS_REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
INCUS_TOOLS_DIR="${INCUS_BIN_DIR:-$INCUS_REPO/target/debug}"

# Puts the tools first on PATH; fails clearly when they are not built.
incus_tools_on_path() {
    if [ ! -x "$INCUS_TOOLS_DIR/incus-instance" ] || [ ! -x "$INCUS_TOOLS_DIR/incus" ]; then
        echo "The incus tools are not built in $INCUS_TOOLS_DIR:" \
            "run 'cargo build --workspace' (or set INCUS_BIN_DIR)" >&2
        return 1
    fi
    case ":$PATH:" in
        *":$INCUS_TOOLS_DIR:"*) ;;
        *) export PATH="$INCUS_TOOLS_DIR:$PATH" ;;
    esac
}

# Builds the busybox test images once per file (into BUSYBOX_DIR) when /bin/busybox
# exists; tests that need them call need_busybox_image.
build_busybox_images() {
    incus_tools_on_path
    BUSYBOX_DIR="$(mktemp -d "${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/incus-bats-busybox.XXXXXX")"
    export BUSYBOX_DIR
    if [ -x /bin/busybox ]; then
        incus-image build-busybox "$BUSYBOX_DIR/unified" >"$BUSYBOX_DIR/unified.list"
        incus-image build-busybox --split "$BUSYBOX_DIR/split" >"$BUSYBOX_DIR/split.list"
    fi
}

remove_busybox_images() {
    if [ -n "${BUSYBOX_DIR:-}" ]; then
        rm -rf "$BUSYBOX_DIR"
    fi
}

# Every suite's set-up: the busybox images once per file, unless the file sets
# INCUS_BATS_NO_IMAGES=1 (they take seconds to build). A file may still define its own.
setup_file() {
    if [ -z "${INCUS_BATS_NO_IMAGES:-}" ]; then
        build_busybox_images
    fi
}

teardown_file() {
    remove_busybox_images
}

# Sets BUSYBOX_UNIFIED, BUSYBOX_META and BUSYBOX_ROOTFS. A missing busybox fails the
# test: make test installs busybox-static, so its absence is a broken machine.
need_busybox_image() {
    if [ ! -s "${BUSYBOX_DIR:-/nonexistent}/unified.list" ]; then
        echo "/bin/busybox is missing: apt-get install busybox-static (make test does)" >&2
        return 1
    fi
    BUSYBOX_UNIFIED="$(cat "$BUSYBOX_DIR/unified.list")"
    BUSYBOX_META="$(sed -n 1p "$BUSYBOX_DIR/split.list")"
    BUSYBOX_ROOTFS="$(sed -n 2p "$BUSYBOX_DIR/split.list")"
}

setup() {
    incus_tools_on_path
    # Searchable by others as /var/lib is: only the modes Incus sets itself (instance
    # volumes 0100, pool type directories 0700) keep host users out of guest files.
    TEST_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/incus-bats.XXXXXX")"
    chmod 711 "$TEST_ROOT"
    export INCUS_DIR="$TEST_ROOT/state"
    export INCUS_RUN_DIR="$TEST_ROOT/run"
    unset INCUS_PROJECT
}

teardown() {
    stop_incus_serve
    if [ -n "${TEST_ROOT:-}" ] && [ -d "$TEST_ROOT" ]; then
        rm -rf "$TEST_ROOT"
    fi
}

# Starts incus-serve on this installation in the background (SERVE_PID, log in
# $TEST_ROOT/serve.log) and waits until it answers GET /1.0 on its unix socket.
start_incus_serve() {
    incus-serve >"$TEST_ROOT/serve.log" 2>&1 &
    SERVE_PID=$!
    local i
    for i in $(seq 200); do
        if curl -sf --unix-socket "$INCUS_DIR/unix.socket" http://incus/1.0 >/dev/null; then
            return 0
        fi
        if ! kill -0 "$SERVE_PID" 2>/dev/null; then
            cat "$TEST_ROOT/serve.log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "incus-serve did not answer" >&2
    return 1
}

# Stops the server start_incus_serve started, if any.
stop_incus_serve() {
    if [ -n "${SERVE_PID:-}" ]; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
        SERVE_PID=
    fi
}

# assert_status N: the last `run` exited N.
assert_status() {
    if [ "$status" -ne "$1" ]; then
        echo "exit status $status, expected $1" >&2
        echo "output: $output" >&2
        return 1
    fi
}

# assert_output TEXT: the last `run` printed exactly TEXT.
assert_output() {
    if [ "$output" != "$1" ]; then
        echo "output:   '$output'" >&2
        echo "expected: '$1'" >&2
        return 1
    fi
}

# assert_contains TEXT: the last `run` printed something containing TEXT.
assert_contains() {
    case "$output" in
        *"$1"*) ;;
        *)
            echo "output does not contain '$1':" >&2
            echo "$output" >&2
            return 1
            ;;
    esac
}

# assert_error N TEXT: the last `run --separate-stderr` exited N, printed nothing on
# stdout and "Error: ..." containing TEXT on stderr.
assert_error() {
    assert_status "$1"
    if [ -n "$output" ]; then
        echo "stdout should be empty, got: $output" >&2
        return 1
    fi
    case "$stderr" in
        "Error: "*"${2:-}"*) ;;
        *)
            echo "stderr should be 'Error: ...${2:-}...', got: $stderr" >&2
            return 1
            ;;
    esac
}

# The names of the instances, one per line, via JSON.
instance_names() {
    incus list -f json | jq -r '.[].name'
}
