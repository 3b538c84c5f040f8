#!/usr/bin/env bats
# The client side of remotes: `incus remote add` with a join token against incus-serve
# over HTTPS on a loopback port, then the tools acting on `srv:NAME`. The client has its
# own state (its `local`) and its own INCUS_CONF.

load helpers
bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_https_server() {
    PORT="$(free_port)"
    incus admin init --minimal
    incus config set "core.https_address=127.0.0.1:$PORT"
    start_incus_serve
}

# client ARGS...: incus as the client host (other state, other configuration).
client() {
    INCUS_DIR="$TEST_ROOT/client" INCUS_RUN_DIR="$TEST_ROOT/client-run" \
        INCUS_CONF="$TEST_ROOT/client-conf" incus "$@"
}

enrol() {
    local token
    token="$(incus config trust add client -q)"
    client remote add srv "$token"
}

teardown() {
    if [ -n "${INCUS_DIR:-}" ] && [ -e "$INCUS_DIR/database/local.db" ]; then
        for n in $(incus list -f csv -c n 2>/dev/null); do incus delete -f "$n" >/dev/null 2>&1 || true; done
    fi
    stop_incus_serve
    if [ -n "${TEST_ROOT:-}" ] && [ -d "$TEST_ROOT" ]; then
        rm -rf "$TEST_ROOT"
    fi
}

@test "remote: add by token, list as JSON, query, switch; a replayed token is refused" {
    start_https_server
    token="$(incus config trust add client -q)"
    run client remote add srv "$token"
    assert_status 0
    assert_contains "now trusted by server: srv"
    run client remote list -f json
    assert_status 0
    [ "$(echo "$output" | jq -r .srv.Addr)" = "https://127.0.0.1:$PORT" ]
    [ "$(echo "$output" | jq -r .local.Static)" = true ]
    [ -f "$TEST_ROOT/client-conf/servercerts/srv.crt" ]
    run client query srv:/1.0
    [ "$(echo "$output" | jq -r .auth)" = trusted ]
    # Another client replaying the token.
    run --separate-stderr env INCUS_CONF="$TEST_ROOT/other-conf" incus remote add srv "$token"
    assert_error 6 "certificate"
    run --separate-stderr env INCUS_CONF="$TEST_ROOT/other-conf" incus remote add srv "https://127.0.0.1:$PORT"
    assert_error 6 "fingerprint"
    run --separate-stderr client remote add x "127.0.0.1:$PORT" --password secret
    assert_error 8 "--password"
    client remote switch srv
    run client remote get-default
    assert_output srv
    run client query /1.0/profiles
    assert_contains '"/1.0/profiles/default"'
}

@test "remote: launch, exec, file push, snapshot and delete on srv:; monitor srv: over the websocket" {
    need_busybox_image
    start_https_server
    enrol
    client image import "$BUSYBOX_UNIFIED" srv: --alias bb
    [ "$(client image list srv: -f json | jq length)" = 1 ]
    client launch srv:bb srv:c1
    run client exec srv:c1 -- cat /etc/hostname
    assert_output c1
    run client exec srv:c1 -- sh -c 'exit 3'
    assert_status 3
    echo remote-data >"$TEST_ROOT/f"
    client file push "$TEST_ROOT/f" srv:c1/root/f
    run client exec srv:c1 -- cat /root/f
    assert_output remote-data
    client snapshot create srv:c1 s1
    [ "$(client snapshot list srv:c1 -f json | jq -r '.[0].name')" = s1 ]
    # The instance lives on the server only.
    [ "$(incus list -f json | jq -r '.[0].name')" = c1 ]
    [ "$(client list -f json | jq length)" = 0 ]
    run --separate-stderr client copy srv:c1 c2
    assert_error 8 "Mixing remotes"
    # One lifecycle event from the server, followed through /1.0/events.
    client monitor srv: --type lifecycle --format json --count 1 >"$TEST_ROOT/events" &
    mon=$!
    for i in $(seq 100); do
        incus profile create "p$i" >/dev/null
        [ -s "$TEST_ROOT/events" ] && break
        sleep 0.1
    done
    wait "$mon"
    [ "$(jq -r .type "$TEST_ROOT/events")" = lifecycle ]
    client delete -f srv:c1
    [ "$(incus list -f json | jq length)" = 0 ]
}
