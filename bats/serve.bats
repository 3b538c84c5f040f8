#!/usr/bin/env bats
# incus-serve over its unix socket with curl, and incus-trust through the dispatcher.

load helpers
# No busybox images needed here (see setup_file in helpers.bash).
INCUS_BATS_NO_IMAGES=1
bats_require_minimum_version 1.5.0

@test "serve: GET /1.0 is a sync envelope, /1.0/containers is a 404 envelope" {
    incus admin init --minimal
    start_incus_serve
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
    start_incus_serve
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
