# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_benchmark_global_optspecs
    string join \n count= parallel= image= s/storage= report-file= f/format= direct vm h/help V/version
end

function __fish_incus_benchmark_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_benchmark_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_benchmark_using_subcommand
    set -l cmd (__fish_incus_benchmark_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -s V -l version -d 'Print version'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "init" -d 'Create benchmark-1..N (not started)'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "launch" -d 'Create and start benchmark-1..N'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "start" -d 'Start every benchmark-N instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "stop" -d 'Stop (-f) every benchmark-N instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "delete" -d 'Delete (-f) every benchmark-N instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "exec" -d '`exec -- true`, --count times, in one running instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "list" -d '`list --format json` with --count running instances'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "config" -d 'Live `config set limits.memory`, --count times, on one running instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "snapshot" -d 'Snapshot create and restore (running), --count times'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "standard" -d 'The standard set: launch, stop, start, exec, config, list, snapshot, delete'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "serve" -d 'incus-serve with --count running instances: REST list latency, `GET /1.0` requests/s (unix socket; HTTPS with wrk when installed), idle memory, `list`'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "compare" -d 'Upstream\'s daemon (through upstream\'s client) against ours, the same chain of operations interleaved A B / B A, medians and ratios upstream/ours (`make compare`)'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "scale" -d 'Launch N running instances (--parallel at a time), then time `list -f csv`, `list -f json` and `exec true` among them, measure host memory per instance (MemAvailable before and after), and delete them all'
complete -c incus-benchmark -n "__fish_incus_benchmark_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand init" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand launch" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand start" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand stop" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand exec" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand list" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand config" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand snapshot" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand standard" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand serve" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l rounds -d 'Rounds (one instance per side goes through the whole chain in each)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l upstream-client -d 'Upstream\'s client' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l upstream-dir -d 'Upstream daemon\'s directory (INCUS_DIR of upstream\'s client)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l upstream-image -d 'Image upstream launches (default: --image)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l prefix -d 'Instance name prefix (the process id and round are appended)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand compare" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -l instances -d 'Running instances to launch' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -l count -d 'Number of instances (or repetitions, for exec/config/list/snapshot)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -l parallel -d 'Operations run at the same time' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -l image -d 'Image alias or fingerprint' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -s s -l storage -d 'Storage pool for new instances (default: the default profile\'s)' -r
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -l report-file -d 'Append one CSV line per operation to this file (header when new)' -r -F
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -s f -l format -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -l direct -d 'Call the tools directly (incus-instance ...) instead of through `incus`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -l vm -d 'Create virtual machines (`--vm`; the image must be a VM image)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand scale" -s h -l help -d 'Print help'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "init" -d 'Create benchmark-1..N (not started)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "launch" -d 'Create and start benchmark-1..N'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "start" -d 'Start every benchmark-N instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "stop" -d 'Stop (-f) every benchmark-N instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "delete" -d 'Delete (-f) every benchmark-N instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "exec" -d '`exec -- true`, --count times, in one running instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "list" -d '`list --format json` with --count running instances'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "config" -d 'Live `config set limits.memory`, --count times, on one running instance'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "snapshot" -d 'Snapshot create and restore (running), --count times'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "standard" -d 'The standard set: launch, stop, start, exec, config, list, snapshot, delete'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "serve" -d 'incus-serve with --count running instances: REST list latency, `GET /1.0` requests/s (unix socket; HTTPS with wrk when installed), idle memory, `list`'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "compare" -d 'Upstream\'s daemon (through upstream\'s client) against ours, the same chain of operations interleaved A B / B A, medians and ratios upstream/ours (`make compare`)'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "scale" -d 'Launch N running instances (--parallel at a time), then time `list -f csv`, `list -f json` and `exec true` among them, measure host memory per instance (MemAvailable before and after), and delete them all'
complete -c incus-benchmark -n "__fish_incus_benchmark_using_subcommand help; and not __fish_seen_subcommand_from init launch start stop delete exec list config snapshot standard serve compare scale help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
