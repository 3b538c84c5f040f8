#!/usr/bin/env bats
# `incus snapshot ...` the way scripts use it: every subcommand through the
# dispatcher, JSON through jq, exit codes, `auto` with an explicit clock, and copy.

bats_require_minimum_version 1.5.0

load helpers

# An initialised installation with the busybox image and a stopped instance c1.
with_c1() {
    need_busybox_image
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias busybox >/dev/null
    incus create busybox c1 >/dev/null
}

rootfs() {
    echo "$INCUS_DIR/storage-pools/default/containers/$1/rootfs"
}

@test "snapshot create, list, show, info, rename, delete" {
    with_c1
    run incus snapshot create c1
    assert_status 0
    assert_contains "snap0"
    incus snapshot create c1 named --description "by hand"
    [ "$(incus snapshot list c1 -f json | jq -r '.[].name' | paste -sd,)" = "snap0,named" ]
    [ "$(incus snapshot list c1 -f csv | cut -d, -f1,4 | paste -sd' ')" = "snap0,NO named,NO" ]
    [ "$(incus snapshot show c1 named -f json | jq -r .description)" = "by hand" ]
    incus snapshot show c1 named | grep -q '^expires_at: '
    run incus snapshot info c1 named
    assert_status 0
    assert_contains "Expires at: never"
    assert_contains "Size: "
    incus snapshot rename c1 named renamed
    [ -d "$INCUS_DIR/storage-pools/default/containers-snapshots/c1/renamed" ]
    incus snapshot delete c1 snap0 renamed
    [ "$(incus snapshot list c1 -f json | jq length)" -eq 0 ]
    [ "$(incus list -f json | jq '.[0].snapshots | length')" -eq 0 ]
}

@test "snapshot restore brings back files and config" {
    with_c1
    echo one >"$(rootfs c1)/root/f"
    incus config set c1 limits.memory=64MiB
    incus snapshot create c1 s0
    echo two >"$(rootfs c1)/root/f"
    incus config set c1 limits.memory=128MiB
    incus snapshot create c1 s1
    uuid="$(incus config get c1 volatile.uuid)"
    run incus snapshot restore c1 s0
    assert_status 0
    [ "$(cat "$(rootfs c1)/root/f")" = one ]
    [ "$(incus config get c1 limits.memory)" = 64MiB ]
    [ "$(incus config get c1 volatile.uuid)" = "$uuid" ]
    [ "$(incus snapshot list c1 -f json | jq -r '.[].name' | paste -sd,)" = "s0,s1" ]
}

@test "snapshot errors: exit codes and nothing changed" {
    with_c1
    incus snapshot create c1 s0
    run --separate-stderr incus snapshot create c1 s0
    assert_error 4 "already exists"
    run --separate-stderr incus snapshot create c1 "a b"
    assert_error 7 "Invalid snapshot name"
    run --separate-stderr incus snapshot create nope
    assert_error 3 "not found"
    run --separate-stderr incus snapshot restore c1 missing
    assert_error 3 "not found"
    run --separate-stderr incus snapshot create c1 --stateful
    assert_error 8 "not supported on this host"
    run --separate-stderr incus config set c1 snapshots.schedule="every day"
    assert_error 7 "snapshots.schedule"
    run --separate-stderr incus config set c1 snapshots.expiry=1q
    assert_error 7 "snapshots.expiry"
    [ "$(incus snapshot list c1 -f csv | wc -l)" -eq 1 ]
    [ -z "$(incus config get c1 snapshots.schedule)" ]
}

@test "snapshot auto takes due snapshots once and prunes expired ones" {
    with_c1
    incus config set c1 snapshots.schedule=@hourly snapshots.schedule.stopped=true snapshots.expiry=2H
    [ "$(incus snapshot auto --now 2031-05-01T10:30:00Z -f json | jq -r '.created[]')" = c1/snap0 ]
    [ "$(incus snapshot auto --now 2031-05-01T10:59:00Z -f json | jq '.created | length')" -eq 0 ]
    [ "$(incus snapshot auto --now 2031-05-01T11:00:00Z -f json | jq -r '.created[]')" = c1/snap1 ]
    [ "$(incus snapshot show c1 snap0 -f json | jq -r .expires_at)" = 2031-05-01T12:30:00Z ]
    out="$(incus snapshot auto --now 2031-05-01T12:45:00Z -f json)"
    [ "$(jq -r '.deleted[]' <<<"$out")" = c1/snap0 ]
    [ "$(jq -r '.created[]' <<<"$out")" = c1/snap2 ]
    [ "$(incus snapshot list c1 -f json | jq -r '.[].name' | paste -sd,)" = "snap1,snap2" ]
}

@test "snapshot timer install and remove under a root" {
    incus admin init --minimal
    root="$TEST_ROOT/sysroot"
    incus snapshot timer install --cron --root "$root"
    grep -q "^\* \* \* \* \* root INCUS_DIR=$INCUS_DIR .*incus-snapshot auto" "$root"/etc/cron.d/*
    incus snapshot timer install --systemd --root "$root"
    ls "$root"/etc/systemd/system/*.timer
    incus snapshot timer remove --root "$root"
    [ -z "$(ls "$root/etc/cron.d")" ]
    ! ls "$root"/etc/systemd/system/*.timer
}

@test "copy an instance and a snapshot" {
    with_c1
    echo snap >"$(rootfs c1)/root/f"
    incus snapshot create c1 s0
    echo live >"$(rootfs c1)/root/f"
    incus copy c1 c2
    incus copy c1/s0 c3
    incus copy c1 c4 --instance-only
    [ "$(cat "$(rootfs c2)/root/f")" = live ]
    [ "$(cat "$(rootfs c3)/root/f")" = snap ]
    [ "$(incus snapshot list c2 -f json | jq length)" -eq 1 ]
    [ "$(incus snapshot list c4 -f json | jq length)" -eq 0 ]
    [ "$(incus config get c2 volatile.uuid)" != "$(incus config get c1 volatile.uuid)" ]
    incus move c4 c5
    [ "$(instance_names | paste -sd,)" = "c1,c2,c3,c5" ]
}
