# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_admin_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_admin_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_admin_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_admin_using_subcommand
    set -l cmd (__fish_incus_admin_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-admin -n "__fish_incus_admin_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -s V -l version -d 'Print version'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "init" -d 'Configure the server: with no option, upstream\'s questions (read from standard input); --auto (upstream\'s defaults: a "default" pool and the bridge incusbr0), --minimal (ours: a dir pool "default" and a root disk in the default profile, no network unless --network), --preseed (YAML on standard input), --dump'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "check" -d 'Check that the database, the disk and the runtime agree (ours; read-only). Lists each disagreement and exits 1 when there is any'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "boot" -d 'After a host boot (ours; run by a boot-time unit): repair what the reboot left and start the instances with boot.autostart (or that were running and have no boot.autostart), by boot.autostart.priority; a second run in the same boot does nothing'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "waitready" -d 'Wait until the server is ready: the state database is usable and, when incus-serve is configured (core.https_address) or listens on its socket, it answers GET /1.0. Exits 1 with what was not ready on timeout'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "shutdown" -d 'Prepare for a host shutdown: stop incus-serve, then every running instance by boot.stop.priority (highest first; boot.host_shutdown_timeout each, default 30 s, then killed), recording them as running so that the next `admin boot` starts them again'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "sql" -d 'Run SQL against the state database, for debugging and repair. Here "local" and "global" are the same database file (a standalone server keeps upstream\'s member and cluster databases in one). QUERY "-" reads standard input; ".dump", ".schema" and ".tables" print the database as SQL text. Read-only unless --write (then all the statements run in one transaction)'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "recover" -d 'Recover instances and custom volumes after the state database was lost or damaged: scans the storage pools (asks for pools that are not in the database, and proposes the ones found under storage-pools/), lists what it found, and re-creates their records from the backup.yaml each keeps. Questions are read from standard input; --pool and --yes answer them'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l storage-backend -d 'With --auto: storage backend to use (btrfs or dir; default dir)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l storage-create-loop -d 'With --auto: create a loop file of this many GiB for the pool' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l storage-create-device -d 'With --auto: use this empty block device for the pool' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l storage-pool -d 'With --auto: an existing source for the pool (a btrfs directory), or the new pool\'s name with --storage-create-loop/-device' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l network-address -d 'With --auto: address to listen on for HTTPS (core.https_address)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l network-port -d 'With --auto: HTTPS port (default 8443)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l minimal -d 'Minimal set-up, no questions, no network'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l preseed -d 'Read a preseed YAML document from standard input'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l auto -d 'Automatic set-up with upstream\'s defaults'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l dump -d 'Print the current configuration as a preseed document'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l network -d 'With --minimal: also create the bridge incusbr0 (ipv4.address=auto, NAT) and eth0 on it in the default profile'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -l force -d 'Run again even if this boot was already handled'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand waitready" -s t -l timeout -d 'Seconds to wait before giving up (0: forever)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand waitready" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand waitready" -l serve -d 'Also wait for incus-serve when it is not configured (ours: for a service manager that has just started it)'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand waitready" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand waitready" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand shutdown" -s t -l timeout -d 'Seconds to wait before giving up (0: no limit); instances still running then are killed and the command exits 1' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand shutdown" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand shutdown" -s f -l force -d 'Kill the instances at once instead of waiting for a clean halt'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand shutdown" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand shutdown" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand sql" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-admin -n "__fish_incus_admin_using_subcommand sql" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand sql" -l write -d 'Allow statements that change the database'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand sql" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand sql" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand recover" -l pool -d 'A pool that is not in the database: NAME,DRIVER,SOURCE[,KEY=VALUE...] (repeatable)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand recover" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand recover" -s y -l yes -d 'Ask nothing: take the proposed pools and recover what is found (missing dependencies are an error)'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand recover" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand recover" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "init" -d 'Configure the server: with no option, upstream\'s questions (read from standard input); --auto (upstream\'s defaults: a "default" pool and the bridge incusbr0), --minimal (ours: a dir pool "default" and a root disk in the default profile, no network unless --network), --preseed (YAML on standard input), --dump'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "check" -d 'Check that the database, the disk and the runtime agree (ours; read-only). Lists each disagreement and exits 1 when there is any'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "boot" -d 'After a host boot (ours; run by a boot-time unit): repair what the reboot left and start the instances with boot.autostart (or that were running and have no boot.autostart), by boot.autostart.priority; a second run in the same boot does nothing'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "waitready" -d 'Wait until the server is ready: the state database is usable and, when incus-serve is configured (core.https_address) or listens on its socket, it answers GET /1.0. Exits 1 with what was not ready on timeout'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "shutdown" -d 'Prepare for a host shutdown: stop incus-serve, then every running instance by boot.stop.priority (highest first; boot.host_shutdown_timeout each, default 30 s, then killed), recording them as running so that the next `admin boot` starts them again'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "sql" -d 'Run SQL against the state database, for debugging and repair. Here "local" and "global" are the same database file (a standalone server keeps upstream\'s member and cluster databases in one). QUERY "-" reads standard input; ".dump", ".schema" and ".tables" print the database as SQL text. Read-only unless --write (then all the statements run in one transaction)'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "recover" -d 'Recover instances and custom volumes after the state database was lost or damaged: scans the storage pools (asks for pools that are not in the database, and proposes the ones found under storage-pools/), lists what it found, and re-creates their records from the backup.yaml each keeps. Questions are read from standard input; --pool and --yes answer them'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot waitready shutdown sql recover help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
