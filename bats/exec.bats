#!/usr/bin/env bats
# `incus exec` the way scripts use it: the command's exit code comes back, stdin and
# stdout are piped, and a command that cannot run exits 127/126 as a shell would.

bats_require_minimum_version 1.5.0

load helpers

@test "exec: exit codes, pipes, environment, missing and non-executable commands" {
    need_busybox_image
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias bb >/dev/null
    incus launch bb e1 >/dev/null
    run incus exec e1 -- sh -c 'exit 3'
    assert_status 3
    [ "$(echo hello | incus exec e1 -- sed s/hello/HELLO/)" = HELLO ]
    [ "$(incus exec e1 --env GREETING=hi -- sh -c 'echo $GREETING')" = hi ]
    [ "$(incus exec e1 --cwd /tmp -- pwd)" = /tmp ]
    run -127 --separate-stderr incus exec e1 -- no-such-command
    assert_status 127
    [[ "$stderr" == *"no-such-command: command not found"* ]]
    run -126 --separate-stderr incus exec e1 -- /etc/hostname
    assert_status 126
    [[ "$stderr" == *"Permission denied"* ]]
    incus delete -f e1
}

@test "exec: signals sent to the tool reach the command (TERM, USR1, HUP), with and without a pty" {
    need_busybox_image
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias bb >/dev/null
    incus launch bb e2 >/dev/null
    # The command runs in its own session inside the container: only forwarding gets a
    # signal there. (SIGINT is ignored by a non-interactive shell's background jobs, so
    # it cannot be sent this way.)
    for sig in TERM USR1; do
        out="$TEST_ROOT/out.$sig"
        incus exec e2 -- sh -c "trap 'echo got-$sig; exit 5' $sig; echo ready; sleep 60 >/dev/null & wait" >"$out" &
        pid=$!
        for _ in $(seq 300); do grep -q ready "$out" && break; sleep 0.1; done
        grep -q ready "$out"
        kill -s "$sig" "$pid"
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" = 5 ]
        grep -q "got-$sig" "$out"
    done
    # With a pty (script gives the tool a terminal): SIGHUP ends the shell.
    out="$TEST_ROOT/out.pty"
    script -qfec "incus exec -t e2 -- sh -c 'echo ready; sleep 60 >/dev/null & wait'" /dev/null >"$out" </dev/null &
    pid=$!
    for _ in $(seq 300); do grep -q ready "$out" && break; sleep 0.1; done
    grep -q ready "$out"
    tool=$(pgrep -P "$pid" -f "exec -t e2" | head -1)
    [ -n "$tool" ]
    kill -s HUP "$tool"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 129 ]
    incus delete -f e2
}
