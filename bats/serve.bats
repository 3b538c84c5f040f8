#!/usr/bin/env bats
# incus-serve over its unix socket with curl, and incus-trust through the dispatcher.

load helpers
bats_require_minimum_version 1.5.0

start_server() {
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

teardown() {
    if [ -n "${SERVE_PID:-}" ]; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    if [ -n "${TEST_ROOT:-}" ] && [ -d "$TEST_ROOT" ]; then
        rm -rf "$TEST_ROOT"
    fi
}

@test "serve: GET /1.0 is a sync envelope, /1.0/containers is a 404 envelope" {
    incus admin init --minimal
    start_server
    run curl -s --unix-socket "$INCUS_DIR/unix.socket" http://incus/1.0
    assert_status 0
    [ "$(echo "$output" | jq -r .type)" = sync ]
    [ "$(echo "$output" | jq -r .metadata.auth)" = trusted ]
    run curl -s -o /dev/null -w '%{http_code}' --unix-socket "$INCUS_DIR/unix.socket" http://incus/1.0/containers
    assert_output 404
    run curl -s --unix-socket "$INCUS_DIR/unix.socket" -X POST -d '{"name":' http://incus/1.0/profiles
    [ "$(echo "$output" | jq -r .error_code)" = 400 ]
}

@test "serve: a second server on the same socket is refused; the socket goes on SIGTERM" {
    incus admin init --minimal
    start_server
    run --separate-stderr incus-serve
    assert_error 4 "Another server"
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    SERVE_PID=
    [ ! -e "$INCUS_DIR/unix.socket" ]
}

@test "config trust: tokens need core.https_address; list, revoke" {
    incus admin init --minimal
    run --separate-stderr incus config trust add laptop
    assert_error 7 "core.https_address"
    incus config set core.https_address=127.0.0.1:8443
    run incus config trust add laptop -q
    assert_status 0
    echo "$output" | base64 -d | jq -e '.client_name == "laptop" and (.secret | length) == 64'
    run incus config trust list-tokens -f csv
    assert_contains laptop
    incus config trust revoke-token laptop
    run incus config trust list-tokens -f csv
    assert_output ""
    run --separate-stderr incus config trust revoke-token laptop
    assert_error 3
}
