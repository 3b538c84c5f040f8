#!/usr/bin/env bats
# `incus file ...` the way scripts use it: push, pull to stdout, recursion, exit codes,
# and `incus admin boot` on a fresh installation.

bats_require_minimum_version 1.5.0

load helpers

setup_instance() {
    need_busybox_image
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias bb >/dev/null
    incus create bb c1 >/dev/null
}

@test "file push then pull to stdout, owner and mode as asked" {
    setup_instance
    printf 'hello\n' >"$TEST_ROOT/f"
    run incus file push "$TEST_ROOT/f" c1/root/f --uid 1000 --gid 1000 --mode 0600
    assert_status 0
    run incus file pull c1/root/f -
    assert_status 0
    assert_output hello
    [ "$(stat -c '%u %g %a' "$INCUS_DIR/storage-pools/default/containers/c1/rootfs/root/f")" = "1000 1000 600" ]
}

@test "file pull of a missing path exits 3, of a directory without -r exits 7" {
    setup_instance
    run --separate-stderr incus file pull c1/no/such "$TEST_ROOT/x"
    assert_error 3 "No such file or directory"
    [ ! -e "$TEST_ROOT/x" ]
    run --separate-stderr incus file pull c1/etc "$TEST_ROOT/x"
    assert_error 7 "use -r"
}

@test "file push -r and pull -r round-trip a tree" {
    setup_instance
    mkdir -p "$TEST_ROOT/tree/a/b"
    printf 'deep\n' >"$TEST_ROOT/tree/a/b/file"
    ln -s a/b/file "$TEST_ROOT/tree/link"
    incus file push -r "$TEST_ROOT/tree" c1/tmp
    mkdir "$TEST_ROOT/out"
    incus file pull -r c1/tmp/tree "$TEST_ROOT/out"
    [ "$(cat "$TEST_ROOT/out/tree/a/b/file")" = deep ]
    [ "$(readlink "$TEST_ROOT/out/tree/link")" = a/b/file ]
    run --separate-stderr incus file delete c1/tmp/tree
    assert_error 7 "non-empty"
    incus file delete -f c1/tmp/tree
    run incus file pull c1/tmp/tree -
    assert_status 3
}

@test "a symlink to / in the guest does not reach the host" {
    setup_instance
    printf 'host\n' >"$TEST_ROOT/canary"
    ln -s / "$INCUS_DIR/storage-pools/default/containers/c1/rootfs/hostroot"
    printf 'guest\n' >"$TEST_ROOT/payload"
    run incus file push -p "$TEST_ROOT/payload" "c1/hostroot$TEST_ROOT/canary"
    [ "$(cat "$TEST_ROOT/canary")" = host ]
    [ "$(cat "$INCUS_DIR/storage-pools/default/containers/c1/rootfs$TEST_ROOT/canary")" = guest ]
}

@test "admin boot twice in one boot: the second does nothing" {
    incus admin init --minimal
    run incus admin boot
    assert_status 0
    run incus admin boot
    assert_status 0
    assert_output "This boot was already handled"
}
