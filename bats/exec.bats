#!/usr/bin/env bats
# `incus exec` the way scripts use it: the command's exit code comes back, stdin and
# stdout are piped, and a command that cannot run exits 127/126 as a shell would.

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    build_busybox_images
}

teardown_file() {
    remove_busybox_images
}

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
