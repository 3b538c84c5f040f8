#!/usr/bin/env bats
# incus-benchmark: the scenarios run, the report names every operation with its
# budget, JSON and CSV are well formed. No timing is asserted (noisy machines).

bats_require_minimum_version 1.5.0
load helpers

bench_teardown() {
    incus stop --all -f >/dev/null 2>&1 || true
}

@test "benchmark: upstream's init/start/stop/delete chain on benchmark-N" {
    need_busybox_image
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias busybox
    run incus-benchmark init --count 2
    assert_status 0
    assert_contains "init"
    [ "$(incus list -f json | jq -r '[.[].name] | sort | join(",")')" = "benchmark-1,benchmark-2" ]
    run incus-benchmark start --parallel 2
    assert_status 0
    [ "$(incus list -f json | jq -r '[.[] | select(.status == "Running")] | length')" = 2 ]
    run incus-benchmark stop -f json
    assert_status 0
    [ "$(echo "$output" | jq -r '.operations[0].operation')" = stop ]
    [ "$(echo "$output" | jq -r '.operations[0].count')" = 2 ]
    [ "$(echo "$output" | jq -r '.operations[0].budget_ms')" = 15 ]
    run incus-benchmark delete --report-file "$TEST_ROOT/r.csv"
    assert_status 0
    [ "$(incus list -f json | jq length)" = 0 ]
    [ "$(head -1 "$TEST_ROOT/r.csv" | cut -d, -f2)" = operation ]
    [ "$(sed -n 2p "$TEST_ROOT/r.csv" | cut -d, -f2,3)" = "delete,2" ]
    bench_teardown
}

@test "benchmark: exec, config and list scenarios clean up after themselves" {
    need_busybox_image
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias busybox
    run incus-benchmark exec --count 3 -f json
    assert_status 0
    [ "$(echo "$output" | jq -r '.operations[0].count')" = 3 ]
    [ "$(echo "$output" | jq -r '.monitor_memory')" = null ]
    run incus-benchmark config --count 2
    assert_status 0
    assert_contains "config"
    run incus-benchmark list --count 2
    assert_status 0
    assert_contains "list"
    [ "$(incus list -f json | jq length)" = 0 ]
    bench_teardown
}

@test "benchmark: serve group reports REST latency, requests/s and memory" {
    need_busybox_image
    command -v wrk >/dev/null || { echo "wrk is missing: make deps installs it" >&2; return 1; }
    incus admin init --minimal
    incus image import "$BUSYBOX_UNIFIED" --alias busybox
    run --separate-stderr incus-benchmark serve --count 2 -f json --report-file "$TEST_ROOT/s.csv"
    assert_status 0
    [ "$(echo "$output" | jq -r '[.operations[].operation] | join(",")')" = "api-root,api-list,api-full,list" ]
    [ "$(echo "$output" | jq -r '.operations[2] | "\(.instances) \(.count) \(.budget_ms) \(.upstream_ms)"')" = "2 21 30 null" ]
    [ "$(echo "$output" | jq -r '.operations[3].budget_ms')" = 20 ]
    [ "$(echo "$output" | jq -r '[.serve.throughput[].transport] | join(",")')" = "unix,https" ]
    [ "$(echo "$output" | jq -r '[.serve.throughput[] | .requests > 0 and .rps > 0 and .budget_rps == 500] | all')" = true ]
    [ "$(echo "$output" | jq -r '.serve.memory | .idle_rss_kib > 0 and .busy_rss_kib > 0 and .budget_kib == 20480')" = true ]
    [ "$(echo "$output" | jq -r '[.serve.cpu[] | "\(.operation):\(.requests):\(.cpu_ms_per_request >= 0)"] | join(",")')" = "api-root:51:true,api-list:21:true,api-full:21:true" ]
    # The instances it made are gone, and so is the server.
    [ "$(incus list -f json | jq length)" = 0 ]
    [ "$(cut -d, -f2 "$TEST_ROOT/s.csv" | tr '\n' ' ')" = "operation api-root api-list api-full list api-root-rps-unix api-root-rps-https serve-memory " ]
    run incus-benchmark serve --count 1
    assert_status 0
    assert_contains "GET /1.0 over unix:"
    assert_contains "incus-serve RSS: idle"
    assert_contains "incus-serve CPU time per request"
    bench_teardown
}

@test "benchmark: bad input and missing instances are errors" {
    incus admin init --minimal
    run -7 --separate-stderr incus-benchmark exec --count 0
    assert_error 7 "at least 1"
    run -3 --separate-stderr incus-benchmark start
    assert_error 3 "No benchmark-N instances"
    run -2 --separate-stderr incus-benchmark frobnicate
    assert_status 2
}
