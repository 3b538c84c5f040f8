#!/usr/bin/env bats
# Storage as scripts use it: btrfs loop pools, custom volumes, snapshots, quotas,
# attach/detach, exit codes and JSON through jq.

bats_require_minimum_version 1.5.0

load helpers

# Deletes instances and unmounts the pools of this test before its directory goes.
teardown() {
    if [ -n "${TEST_ROOT:-}" ] && [ -d "$TEST_ROOT" ]; then
        for n in $(incus list -f json 2>/dev/null | jq -r '.[].name' 2>/dev/null); do
            incus delete --force "$n" >/dev/null 2>&1 || true
        done
        awk -v root="$TEST_ROOT" 'index($2, root) == 1 { print $2 }' /proc/self/mounts |
            sort -r | while read -r m; do umount -l "$m" || true; done
        rm -rf "$TEST_ROOT"
    fi
}

need_btrfs() {
    command -v mkfs.btrfs >/dev/null || {
        echo "mkfs.btrfs is missing: apt-get install btrfs-progs (make test does)" >&2
        return 1
    }
}

@test "btrfs pool: bad input is refused with exit 7 and leaves nothing" {
    need_btrfs
    incus admin init --minimal
    run --separate-stderr incus storage create p btrfs size=1MiB
    assert_error 7 "too small"
    run --separate-stderr incus storage create p btrfs source=/nonexistent
    assert_error 7 "unusable"
    run --separate-stderr incus storage create p btrfs "source=$TEST_ROOT"
    assert_error 7 "not on a btrfs filesystem"
    run --separate-stderr incus storage create p btrfs foo=bar
    assert_error 7 "Invalid option"
    run --separate-stderr incus storage create p zfs
    assert_error 8 "not available"
    [ ! -e "$INCUS_DIR/storage-pools/p" ]
    [ ! -e "$INCUS_DIR/disks/p.img" ]
    [ "$(incus storage list -f csv | wc -l)" -eq 1 ]
}

@test "custom volumes: create, set, snapshot, restore, copy, delete" {
    need_btrfs
    incus admin init --minimal
    incus storage create bt btrfs size=300MiB volume.size=50MiB
    [ "$(incus storage show bt -f json | jq -r .driver)" = btrfs ]
    incus storage volume create bt v user.k=1
    [ "$(incus storage volume get bt v size)" = 50MiB ]
    [ "$(incus storage volume list bt -f json | jq -r '.[] | "\(.type)/\(.name)"')" = custom/v ]
    incus storage volume set bt v user.k=2
    [ "$(incus storage volume show bt v -f json | jq -r '.config["user.k"]')" = 2 ]
    echo old > "$INCUS_DIR/storage-pools/bt/custom/v/f"
    incus storage volume snapshot create bt v s0
    echo new > "$INCUS_DIR/storage-pools/bt/custom/v/f"
    [ "$(incus storage volume snapshot list bt v -f csv | cut -d, -f1)" = s0 ]
    incus storage volume snapshot restore bt v s0
    [ "$(cat "$INCUS_DIR/storage-pools/bt/custom/v/f")" = old ]
    run --separate-stderr incus storage volume set bt v size=1KiB
    assert_error 7 "below"
    incus storage volume copy bt/v bt/w
    [ "$(cat "$INCUS_DIR/storage-pools/bt/custom/w/f")" = old ]
    incus storage volume delete bt v w
    [ "$(incus storage volume list bt -f json | jq length)" -eq 0 ]
    run --separate-stderr incus storage volume delete bt v
    assert_error 3 "not found"
    incus storage delete bt
    [ ! -e "$INCUS_DIR/disks/bt.img" ]
}

@test "attach a custom volume to a running container: seen inside, delete refused" {
    need_btrfs
    need_busybox_image
    incus admin init --minimal
    incus storage create bt btrfs size=300MiB
    incus image import "$BUSYBOX_UNIFIED" --alias bb
    incus launch bb c1 -s bt
    incus storage volume create bt data
    echo hello > "$INCUS_DIR/storage-pools/bt/custom/data/greeting"
    incus storage volume attach bt data c1 /mnt/data
    run incus exec c1 -- cat /mnt/data/greeting
    assert_status 0
    assert_output hello
    [ "$(incus storage volume show bt data -f json | jq -r '.used_by[0]')" = /1.0/instances/c1 ]
    run --separate-stderr incus storage volume delete bt data
    assert_error 4 "in use"
    incus storage volume detach bt data c1
    incus storage volume delete bt data
    incus delete --force c1
}
