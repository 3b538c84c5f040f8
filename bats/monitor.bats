#!/usr/bin/env bats
# incus monitor (incus-events): lifecycle events written by any tool, followed live.

bats_require_minimum_version 1.5.0
load helpers
# No busybox images needed here (see setup_file in helpers.bash).
INCUS_BATS_NO_IMAGES=1

@test "monitor: stored and live lifecycle events, as JSON lines and YAML" {
    incus admin init --minimal
    incus profile create p1
    out="$TEST_ROOT/events.json"
    incus monitor --since 1 --count 2 --format json > "$out" &
    pid=$!
    # The first line (p1, already stored) proves the monitor is following.
    for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.1; done
    [ "$(jq -r .metadata.source "$out")" = /1.0/profiles/p1 ]
    incus profile create p2
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    run kill -0 "$pid"
    [ "$status" -ne 0 ] || { kill "$pid"; false; }
    [ "$(jq -r .metadata.action "$out" | tr '\n' ' ')" = "profile-created profile-created " ]
    [ "$(jq -r .metadata.source "$out" | tail -1)" = /1.0/profiles/p2 ]
    [ "$(jq -r .type "$out" | sort -u)" = lifecycle ]

    run incus monitor --since 1 --count 1
    assert_status 0
    assert_contains "action: profile-created"
    run -7 --separate-stderr incus monitor --type nonsense
    assert_error 7 "Invalid event type"
}
