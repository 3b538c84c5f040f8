#!/usr/bin/env bats
# incus network (incus-net) the way scripts use it: managed bridges with real
# dnsmasq and nftables, a busybox container with a DHCP lease, exit codes, and
# nothing left on the host after delete (or after a failing test: see teardown).

bats_require_minimum_version 1.5.0

load helpers

setup() {
    incus_tools_on_path
    # Containers' mapped root must traverse to the rootfs: not under bats' 0700
    # run directory.
    TEST_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/incus-bats-net.XXXXXX")"
    chmod 755 "$TEST_ROOT"
    export INCUS_DIR="$TEST_ROOT/state"
    export INCUS_RUN_DIR="$TEST_ROOT/run"
    unset INCUS_PROJECT
    incus admin init --minimal
}

# Host names of this installation: the prefix hashes INCUS_DIR, the bridge the name.
prefix() { printf 'ix%s' "$(printf '%s' "$INCUS_DIR" | sha256sum | cut -c1-6)"; }
bridge_of() { printf '%sn%s' "$(prefix)" "$(printf '%s\0' "$1" | sha256sum | cut -c1-6)"; }
table_of() { printf '%s_%s' "$(prefix)" "$(bridge_of "$1")"; }

host_clean() {
    local br table pidarg
    br="$(bridge_of "$1")"
    table="$(table_of "$1")"
    pidarg="--pid-file=$INCUS_RUN_DIR/networks/$1/dnsmasq.pid"
    [ ! -e "/sys/class/net/$br" ] || { echo "bridge $br left" >&2; return 1; }
    ! nft list tables | grep -qw "$table" || { echo "table $table left" >&2; return 1; }
    ! grep -qsF -- "$pidarg" /proc/[0-9]*/cmdline || { echo "dnsmasq left" >&2; return 1; }
}

teardown() {
    if [ -n "${INCUS_DIR:-}" ] && [ -d "$INCUS_DIR" ]; then
        incus stop --all -f >/dev/null 2>&1 || true
        for i in $(incus list -c n -f csv 2>/dev/null); do incus delete -f "$i" >/dev/null 2>&1 || true; done
        for n in $(incus network list -f csv 2>/dev/null | cut -d, -f1); do
            incus network detach-profile "$n" default >/dev/null 2>&1 || true
            incus network delete "$n" >/dev/null 2>&1 || true
        done
    fi
    if [ -n "${TEST_ROOT:-}" ] && [ -d "$TEST_ROOT" ]; then
        rm -rf "$TEST_ROOT"
    fi
}

@test "network create, list and show through jq; delete leaves nothing" {
    run incus network create bnet0 --description "bats bridge"
    assert_status 0
    assert_output "Network bnet0 created"
    [ "$(incus network list -f json | jq -r '.[0].name')" = bnet0 ]
    [ "$(incus network show bnet0 -f json | jq -r '.config."ipv4.nat"')" = true ]
    addr="$(incus network get bnet0 ipv4.address)"
    [[ "$addr" == 10.*.1/24 ]]
    ip -4 -o addr show dev "$(bridge_of bnet0)" | grep -qF "$addr"
    nft list tables | grep -qw "$(table_of bnet0)"
    # csv has no header: NAME,TYPE,MANAGED,IPV4,...
    [ "$(incus network list -f csv | cut -d, -f1-4)" = "bnet0,bridge,YES,$addr" ]
    [ "$(incus network list-leases bnet0 -f json | jq -r '.[0].type')" = gateway ]
    run incus network delete bnet0
    assert_status 0
    host_clean bnet0
    [ "$(incus network list -f json | jq length)" -eq 0 ]
}

@test "bad input: clear errors, right exit codes, nothing made" {
    run -7 --separate-stderr incus network create waytoolongnetname
    assert_error 7 "15 characters"
    run -7 --separate-stderr incus network create bad1 ipv4.address=10.1.2.300/24
    assert_error 7 "Invalid IPv4"
    run -7 --separate-stderr incus network create bad2 fan.type=vxlan
    assert_error 7 "removed"
    run -7 --separate-stderr incus network create bad3 bridge.mode=fan
    assert_error 7 "removed"
    incus network create good
    sub="$(incus network get good ipv4.address)"
    run -4 --separate-stderr incus network create bad4 "ipv4.address=${sub%.1/24}.7/25"
    assert_error 4 "overlaps"
    run -3 --separate-stderr incus network show nope
    assert_error 3 "not found"
    for n in bad1 bad2 bad3 bad4; do host_clean "$n"; done
    [ "$(incus network list -f csv | wc -l)" -eq 1 ]
    incus network attach-profile good default eth0 eth0
    run -4 --separate-stderr incus network delete good
    assert_error 4 "in use"
    incus network detach-profile good default
    incus network delete good
    host_clean good
}

@test "incus launch -n NET: a DHCP lease, shown by incus list" {
    need_busybox_image
    incus image import "$BUSYBOX_UNIFIED" --alias bb
    incus network create lan
    gw="$(incus network get lan ipv4.address)"
    gw="${gw%/*}"
    incus launch bb c1 -n lan
    [ "$(incus config device get c1 eth0 network)" = lan ]
    # The image's init runs udhcpc at boot: poll for the lease (deadline 20 s).
    ip4=""
    for _ in $(seq 1 80); do
        ip4="$(incus list c1 -f json | jq -r '.[0].state.network.eth0.addresses[]? | select(.family=="inet") | .address')"
        [ -n "$ip4" ] && break
        sleep 0.25
    done
    [[ "$ip4" == "${gw%.1}".* ]]
    [ "$(incus list -c 4 -f csv)" = "$ip4 (eth0)" ]
    incus exec c1 -- ping -c 1 -W 2 "$gw"
    [ "$(incus network list-leases lan -f json | jq -r '.[] | select(.type=="dynamic") | .hostname')" = c1 ]
    incus delete -f c1
    incus network delete lan
    host_clean lan
}

@test "ipv6.address=auto: a SLAAC address shown by incus list -c 6; bad prefixes refused" {
    need_busybox_image
    incus image import "$BUSYBOX_UNIFIED" --alias bb
    incus network create lan6 ipv6.address=auto
    gw6="$(incus network get lan6 ipv6.address)"
    [[ "$gw6" == fd42:*::1/64 ]]
    [ "$(incus network get lan6 ipv6.nat)" = true ]
    ip -6 -o addr show dev "$(bridge_of lan6)" | grep -qF "$gw6"
    [ "$(incus network list -f csv | cut -d, -f5)" = "$gw6" ]
    run -4 --separate-stderr incus network create bad6 "ipv6.address=${gw6%::1/64}::9/64"
    assert_error 4 "overlaps"
    run -7 --separate-stderr incus network create bad7 ipv6.address=fd42:1:2:3:4::1/80
    assert_error 7 "SLAAC"
    run -7 --separate-stderr incus network create bad8 ipv6.address=fd42::1
    assert_error 7 "Invalid IPv6"
    for n in bad6 bad7 bad8; do host_clean "$n"; done
    incus launch bb c6 -n lan6
    # The kernel does SLAAC from dnsmasq's router advertisements: poll (deadline 20 s).
    ip6=""
    for _ in $(seq 1 80); do
        ip6="$(incus list c6 -f json | jq -r '.[0].state.network.eth0.addresses[]? | select(.family=="inet6" and .scope=="global") | .address')"
        [ -n "$ip6" ] && break
        sleep 0.25
    done
    [ -n "$ip6" ]
    [ "$(incus list -c 6 -f csv)" = "$ip6 (eth0)" ]
    incus delete -f c6
    incus network delete lan6
    host_clean lan6
}
