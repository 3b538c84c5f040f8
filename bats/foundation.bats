#!/usr/bin/env bats
# The foundation (init, pools, profiles, images, instances, config) used the way
# scripts use it: exit codes, JSON through jq, csv through the shell.

bats_require_minimum_version 1.5.0

load helpers

@test "admin init --minimal twice is idempotent" {
    run incus admin init --minimal
    assert_status 0
    run incus admin init --minimal
    assert_status 0
    [ "$(incus storage list -f json | jq length)" -eq 1 ]
    [ "$(incus storage list -f json | jq -r '.[0].name')" = default ]
    [ "$(incus storage list -f json | jq -r '.[0].driver')" = dir ]
    [ "$(incus profile list -f json | jq -r '.[].name')" = default ]
    [ "$(incus profile show default -f json | jq -c '.devices.root')" = '{"path":"/","pool":"default","type":"disk"}' ]
    [ -d "$INCUS_DIR/storage-pools/default" ]
    run incus admin init --dump
    assert_status 0
    assert_contains "storage_pools:"
    assert_contains "name: default"
}

@test "admin init --preseed from stdin" {
    mkdir "$TEST_ROOT/pool"
    run incus admin init --preseed <<EOF
config:
  core.https_address: 127.0.0.1:8443
storage_pools:
- name: data
  driver: dir
  config:
    source: $TEST_ROOT/pool
profiles:
- name: default
  devices:
    root:
      path: /
      pool: data
      type: disk
EOF
    assert_status 0
    [ "$(incus config get core.https_address)" = 127.0.0.1:8443 ]
    [ "$(incus storage get data source)" = "$TEST_ROOT/pool" ]
    [ "$(incus profile show default -f json | jq -r .devices.root.pool)" = data ]
}

@test "storage pool create, list, show, set, get, unset, delete" {
    incus admin init --minimal
    mkdir "$TEST_ROOT/p2"
    run incus storage create p2 dir "source=$TEST_ROOT/p2" --description "second pool"
    assert_status 0
    run -4 --separate-stderr incus storage create p2 dir
    assert_error 4 "already exists"
    run -8 --separate-stderr incus storage create p3 zfs
    assert_error 8

    [ "$(incus storage list -f json | jq -r '.[].name' | sort | tr '\n' ' ')" = "default p2 " ]
    run incus storage list -f csv
    assert_status 0
    assert_contains "p2,dir,second pool,0,CREATED"
    run incus storage list -c nS -f csv
    assert_contains "p2,$TEST_ROOT/p2"
    [ "$(incus storage show p2 -f json | jq -r .driver)" = dir ]
    [ "$(incus storage show p2 -f json | jq -r .status)" = Created ]
    run incus storage show p2
    assert_status 0
    assert_contains "name: p2"

    incus storage set p2 user.owner=ops
    [ "$(incus storage get p2 user.owner)" = ops ]
    incus storage set p2 user.other value
    [ "$(incus storage show p2 -f json | jq -r '.config["user.other"]')" = value ]
    incus storage unset p2 user.owner
    [ "$(incus storage get p2 user.owner)" = "" ]
    run -3 --separate-stderr incus storage unset p2 user.owner
    assert_error 3

    # A pool in use cannot be deleted.
    incus create --empty c1 -s p2
    [ "$(incus list c1 -c b -f csv)" = p2 ]
    [ -d "$TEST_ROOT/p2/containers/c1" ]
    run -4 --separate-stderr incus storage delete p2
    assert_error 4 "in use"
    incus storage show p2 >/dev/null
    [ "$(incus storage show p2 -f json | jq -r '.used_by[]')" = /1.0/instances/c1 ]
    [ "$(incus storage volume list p2 -f json | jq -r '.[].name')" = c1 ]

    incus delete c1
    run incus storage delete p2
    assert_status 0
    run -3 --separate-stderr incus storage show p2
    assert_error 3 "not found"
    run -3 --separate-stderr incus storage delete p2
    assert_error 3
}

@test "profile lifecycle, devices, and the expanded config of an instance" {
    incus admin init --minimal
    run incus profile create web --description "web servers"
    assert_status 0
    run -4 --separate-stderr incus profile create web
    assert_error 4
    incus profile set web limits.cpu=2
    incus profile set web user.tier front
    [ "$(incus profile get web limits.cpu)" = 2 ]
    [ "$(incus profile get web user.tier)" = front ]
    run -7 --separate-stderr incus profile set web bogus.key=1
    assert_error 7

    run incus profile device add web eth0 nic nictype=bridged parent=br0
    assert_status 0
    [ "$(incus profile device list web)" = eth0 ]
    [ "$(incus profile device get web eth0 parent)" = br0 ]
    run -4 --separate-stderr incus profile device add web eth0 nic nictype=bridged parent=br1
    assert_error 4

    incus create --empty c1 -p default -p web
    # A cell with several lines is quoted in csv.
    [ "$(incus list c1 -c P -f csv)" = "$(printf '"default\nweb"')" ]
    # Expanded config shows the profile's keys and devices; the local one does not.
    run incus config show c1 --expanded
    assert_status 0
    assert_contains "limits.cpu: '2'"
    assert_contains "eth0:"
    run incus config show c1
    assert_status 0
    [[ "$output" != *"limits.cpu"* ]]
    [ "$(incus config show c1 --expanded -f json | jq -r '.config["limits.cpu"]')" = 2 ]
    [ "$(incus config get c1 limits.cpu --expanded)" = 2 ]
    [ "$(incus config get c1 limits.cpu)" = "" ]
    [ "$(incus profile show web -f json | jq -r '.used_by[]')" = /1.0/instances/c1 ]

    # A profile in use cannot be deleted; its device can go.
    run -4 --separate-stderr incus profile delete web
    assert_error 4 "in use"
    incus profile device remove web eth0
    [ "$(incus config show c1 --expanded -f json | jq -r '.devices | keys | join(",")')" = root ]
    incus profile unset web limits.cpu
    [ "$(incus config get c1 limits.cpu --expanded)" = "" ]

    # Copy, rename, edit through stdin.
    incus profile copy web web-copy
    [ "$(incus profile get web-copy user.tier)" = front ]
    incus profile rename web-copy web2
    run -3 --separate-stderr incus profile show web-copy
    assert_error 3
    printf 'config:\n  user.a: b\ndescription: via edit\ndevices: {}\n' | incus profile edit web2
    [ "$(incus profile show web2 -f json | jq -c '[.description, .config]')" = '["via edit",{"user.a":"b"}]' ]
    incus profile delete web2
    [ "$(incus profile list -f json | jq -r '.[].name' | sort | tr '\n' ' ')" = "default web " ]

    # The default profile stays.
    run -6 --separate-stderr incus profile delete default
    assert_error 6
    run -6 --separate-stderr incus profile rename default other
    assert_error 6
    incus profile show default >/dev/null
}

@test "image import and jq pipelines" {
    need_busybox_image
    incus admin init --minimal
    run incus image import "$BUSYBOX_UNIFIED" --alias busybox
    assert_status 0
    fp="$(incus image list -f json | jq -r '.[0].fingerprint')"
    [ "$fp" = "$(sha256sum "$BUSYBOX_UNIFIED" | cut -d' ' -f1)" ]
    assert_contains "$fp"
    [ "$(incus image list -f json | jq -r '.[0].aliases[0].name')" = busybox ]
    [ "$(incus image list -f json | jq -r '.[0].properties.os')" = busybox ]
    [ "$(incus image show busybox -f json | jq -r .fingerprint)" = "$fp" ]
    [ "$(incus image list -c f -f csv)" = "${fp:0:12}" ]

    # Split image: fingerprint of metadata then rootfs.
    incus image import "$BUSYBOX_META" "$BUSYBOX_ROOTFS" --alias busybox-split
    split_fp="$(cat "$BUSYBOX_META" "$BUSYBOX_ROOTFS" | sha256sum | cut -d' ' -f1)"
    [ "$(incus image list -f json | jq -r '.[] | select(.aliases[0].name == "busybox-split") | .fingerprint')" = "$split_fp" ]
    [ "$(incus image list -f json | jq length)" -eq 2 ]

    run -4 --separate-stderr incus image import "$BUSYBOX_UNIFIED"
    assert_error 4

    # Aliases.
    incus image alias create bb "${fp:0:12}"
    [ "$(incus image alias list -f json | jq -r '.[] | select(.name == "bb") | .target')" = "$fp" ]
    incus image alias delete bb

    # Export, delete, re-import: same fingerprint.
    mkdir "$TEST_ROOT/export"
    incus image export busybox "$TEST_ROOT/export"
    incus image delete busybox
    [ "$(incus image list -f json | jq length)" -eq 1 ]
    incus image import "$TEST_ROOT"/export/* --alias again
    [ "$(incus image show again -f json | jq -r .fingerprint)" = "$fp" ]

    # A bad file is refused and leaves nothing.
    head -c 4096 /dev/urandom >"$TEST_ROOT/garbage.tar"
    run -7 --separate-stderr incus image import "$TEST_ROOT/garbage.tar" --alias garbage
    assert_error 7 "Invalid image"
    [ "$(incus image list -f json | jq length)" -eq 2 ]
    [ "$(ls -A "$INCUS_DIR/images" | wc -l)" -eq 3 ]
}

@test "instance create, list as JSON, status Stopped" {
    incus admin init --minimal
    run incus create --empty c1
    assert_status 0
    [ "$(incus list -f json | jq -r '.[0].status')" = Stopped ]
    [ "$(incus list -f json | jq '.[0].status_code')" -eq 102 ]
    [ "$(incus list -f json | jq -r '.[0].type')" = container ]
    [ "$(incus list -c ns -f csv)" = "c1,STOPPED" ]
    [ -d "$INCUS_DIR/storage-pools/default/containers/c1/rootfs" ]
    [ "$(incus-instance list -f json)" = "$(incus list -f json)" ]
    # As upstream's client, "Creating NAME" comes before the request (-q silences it).
    run -4 --separate-stderr incus create --empty c1
    [ "$output" = "Creating c1" ]
    run -4 --separate-stderr incus create -q --empty c1
    assert_error 4 "already exists"
    run -3 --separate-stderr incus create -q no-such-image c2
    assert_error 3
    [ "$(instance_names)" = c1 ]
}

@test "instance from the busybox image has its rootfs" {
    need_busybox_image
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias busybox
    run incus create busybox c1
    assert_status 0
    assert_contains "Creating c1"
    rootfs="$INCUS_DIR/storage-pools/default/containers/c1/rootfs"
    [ -x "$rootfs/bin/busybox" ]
    cmp "$rootfs/bin/busybox" /bin/busybox
    [ -f "$INCUS_DIR/storage-pools/default/containers/c1/metadata.yaml" ]
    [ "$(incus list c1 -f json | jq -r '.[0].config["volatile.base_image"]')" = "$(incus image list -f json | jq -r '.[0].fingerprint')" ]
    [ "$(incus list -f json | jq -r '.[0].status')" = Stopped ]
}

@test "config set, get, unset on an instance and on the server" {
    incus admin init --minimal
    incus create --empty c1
    incus config set c1 user.role=db
    incus config set c1 limits.memory 256MiB
    [ "$(incus config get c1 user.role)" = db ]
    [ "$(incus config get c1 limits.memory)" = 256MiB ]
    [ "$(incus list c1 -f json | jq -r '.[0].config["user.role"]')" = db ]
    [ "$(incus list user.role=db -c n -f csv)" = c1 ]
    incus config unset c1 user.role
    [ "$(incus config get c1 user.role)" = "" ]
    run -7 --separate-stderr incus config set c1 bogus.key=1
    assert_error 7
    run -7 --separate-stderr incus config set c1 limits.memory=lots
    assert_error 7
    [ "$(incus config get c1 limits.memory)" = 256MiB ]
    # Values from stdin, as upstream's `-`.
    echo "from stdin" | incus config set c1 user.note -
    [ "$(incus config get c1 user.note)" = "from stdin" ]

    # The server.
    run incus config set core.https_address 127.0.0.1:8443
    assert_status 0
    [ "$(incus config get core.https_address)" = 127.0.0.1:8443 ]
    [ "$(incus config show -f json | jq -r '.config["core.https_address"]')" = 127.0.0.1:8443 ]
    incus config unset core.https_address
    [ "$(incus config get core.https_address)" = "" ]
    [ "$(incus config show -f json | jq -c .config)" = "{}" ]
    run -7 --separate-stderr incus config set core.trust_password secret
    assert_error 7 "removed"
    run -7 --separate-stderr incus config set candid.api.url https://example.invalid
    assert_error 7 "removed"

    # config edit through stdin.
    incus config show c1 | sed 's/^description: .*/description: edited/' | incus config edit c1
    [ "$(incus list c1 -f json | jq -r '.[0].description')" = edited ]
}

@test "instance devices" {
    incus admin init --minimal
    incus create --empty c1
    incus config device add c1 data disk source=/tmp path=/mnt
    [ "$(incus config device list c1)" = data ]
    [ "$(incus config device get c1 data path)" = /mnt ]
    incus config device set c1 data readonly=true
    [ "$(incus list c1 -f json | jq -r '.[0].devices.data.readonly')" = true ]
    run -7 --separate-stderr incus config device remove c1 root
    assert_error 7 "profile"
    incus config device override c1 root size=1GiB
    [ "$(incus list c1 -f json | jq -r '.[0].devices.root.size')" = 1GiB ]
    incus config device remove c1 data
    [ "$(incus list c1 -f json | jq -c '.[0].devices | keys')" = '["root"]' ]
}

@test "invalid instance names are refused with exit 7 and nothing is created" {
    incus admin init --minimal
    long="$(printf 'a%.0s' $(seq 64))"
    for name in 1234 foo.bar a_b "$long" "ab-" "with space" "é"; do
        run -7 --separate-stderr incus create -q --empty "$name"
        assert_error 7 "Invalid instance name"
    done
    [ "$(incus list -f json | jq length)" -eq 0 ]
    [ -z "$(ls -A "$INCUS_DIR/storage-pools/default/containers" 2>/dev/null)" ]
    [ -z "$(ls -A "$INCUS_DIR/containers" 2>/dev/null)" ]
    # 63 characters is fine.
    run incus create --empty "${long:1}"
    assert_status 0
    [ "$(instance_names)" = "${long:1}" ]
}

@test "rename" {
    incus admin init --minimal
    incus create --empty c1
    incus create --empty other
    run incus rename c1 c2
    assert_status 0
    [ "$(instance_names | tr '\n' ' ')" = "c2 other " ]
    [ -d "$INCUS_DIR/storage-pools/default/containers/c2" ]
    [ ! -e "$INCUS_DIR/storage-pools/default/containers/c1" ]
    [ "$(readlink "$INCUS_DIR/containers/c2")" = "$INCUS_DIR/storage-pools/default/containers/c2" ]
    [ ! -e "$INCUS_DIR/containers/c1" ]
    run -4 --separate-stderr incus rename c2 other
    assert_error 4
    run -3 --separate-stderr incus rename c1 c3
    assert_error 3
    run -7 --separate-stderr incus rename c2 foo.bar
    assert_error 7
    [ "$(instance_names | tr '\n' ' ')" = "c2 other " ]
}

@test "delete" {
    incus admin init --minimal
    for n in c1 c2 c3 c4; do incus create --empty "$n"; done
    run incus delete c1
    assert_status 0
    incus delete c2 c3
    [ "$(instance_names)" = c4 ]
    [ "$(ls "$INCUS_DIR/storage-pools/default/containers")" = c4 ]
    run -3 --separate-stderr incus delete c1
    assert_error 3 "not found"
    incus config set c4 security.protection.delete=true
    run -6 --separate-stderr incus delete c4
    assert_error 6
    incus config unset c4 security.protection.delete
    incus rm c4
    [ "$(incus list -f json)" = "[]" ]
    [ -z "$(ls -A "$INCUS_DIR/storage-pools/default/containers")" ]
}

@test "errors: usage 2, unknown command 2, missing tool 8" {
    run -2 --separate-stderr incus list --format xml
    assert_status 2
    run -2 --separate-stderr incus no-such-command
    assert_error 2 "unknown command"
    # The dispatcher alone, so every tool is missing whatever is installed.
    lone="$BATS_TEST_TMPDIR/lone"
    mkdir -p "$lone"
    cp "$(command -v incus)" "$lone/incus"
    run -8 --separate-stderr env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$lone/incus" network list
    assert_error 8 "incus-net"
    run incus --help
    assert_status 0
    assert_contains "Usage:"
}

@test "csv through the shell" {
    incus admin init --minimal
    for n in a1 a2 b1; do incus create --empty "$n"; done
    incus config set a2 user.role=web
    count=0
    while IFS=, read -r name state; do
        [ "$state" = STOPPED ]
        count=$((count + 1))
    done < <(incus list -c ns -f csv)
    [ "$count" -eq 3 ]
    [ "$(incus list a -c n -f csv | tr '\n' ' ')" = "a1 a2 " ]
    [ "$(incus list user.role=web -c n -f csv)" = a2 ]
    # The table has a header, csv does not.
    [ "$(incus list | grep -c NAME)" -eq 1 ]
    [ "$(incus list -f csv | grep -c NAME || true)" -eq 0 ]
}
