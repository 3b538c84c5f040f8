# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_snapshot_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_snapshot_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_snapshot_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_snapshot_using_subcommand
    set -l cmd (__fish_incus_snapshot_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -s V -l version -d 'Print version'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "create" -d 'Create an instance snapshot (named from snapshots.pattern, snap%d, when NAME is omitted)'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "delete" -d 'Delete instance snapshots'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "rm" -d 'Delete instance snapshots'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "list" -d 'List instance snapshots'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "ls" -d 'List instance snapshots'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "rename" -d 'Rename an instance snapshot'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "mv" -d 'Rename an instance snapshot'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "restore" -d 'Restore an instance from a snapshot (a running instance is stopped and started again)'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "show" -d 'Show an instance snapshot (the REST InstanceSnapshot)'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "info" -d 'Show a summary of an instance snapshot (size on disk included)'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "auto" -d 'Take every due scheduled snapshot and delete every expired one (all instances)'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "timer" -d 'Install or remove the timer that runs `auto` every minute'
complete -c incus-snapshot -n "__fish_incus_snapshot_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand create" -l description -d 'Snapshot description' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand create" -l stateful -d 'Whether or not to snapshot the instance\'s running state (needs CRIU)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand create" -l no-expiry -d 'Ignore any configured auto-expiry for the snapshot'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand create" -l reuse -d 'If the snapshot name already exists, delete and create a new one'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand create" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand create" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand delete" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand list" -s c -l columns -d 'Columns (n name, T taken at, E expires at, s stateful)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand ls" -s c -l columns -d 'Columns (n name, T taken at, E expires at, s stateful)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand rename" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand rename" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand mv" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand mv" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand restore" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand restore" -l stateful -d 'Whether or not to restore the instance\'s running state from snapshot (needs CRIU)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand restore" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand restore" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand info" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand info" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand info" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand auto" -l now -d 'The time to act as of (RFC 3339), instead of the clock' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand auto" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand auto" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand auto" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand auto" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and not __fish_seen_subcommand_from install remove help" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and not __fish_seen_subcommand_from install remove help" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and not __fish_seen_subcommand_from install remove help" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and not __fish_seen_subcommand_from install remove help" -f -a "install" -d 'Write a systemd service and timer (default when systemd runs) or a cron.d line'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and not __fish_seen_subcommand_from install remove help" -f -a "remove" -d 'Remove what `timer install` wrote'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and not __fish_seen_subcommand_from install remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from install" -l root -d 'Write under this root instead of /' -r -F
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from install" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from install" -l systemd -d 'A systemd service + timer pair'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from install" -l cron -d 'A line in /etc/cron.d'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from remove" -l root -d 'Remove under this root instead of /' -r -F
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from remove" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print less'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from help" -f -a "install" -d 'Write a systemd service and timer (default when systemd runs) or a cron.d line'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove what `timer install` wrote'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand timer; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "create" -d 'Create an instance snapshot (named from snapshots.pattern, snap%d, when NAME is omitted)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "delete" -d 'Delete instance snapshots'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "list" -d 'List instance snapshots'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "rename" -d 'Rename an instance snapshot'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "restore" -d 'Restore an instance from a snapshot (a running instance is stopped and started again)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "show" -d 'Show an instance snapshot (the REST InstanceSnapshot)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "info" -d 'Show a summary of an instance snapshot (size on disk included)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "auto" -d 'Take every due scheduled snapshot and delete every expired one (all instances)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "timer" -d 'Install or remove the timer that runs `auto` every minute'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and not __fish_seen_subcommand_from create delete list rename restore show info auto timer help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and __fish_seen_subcommand_from timer" -f -a "install" -d 'Write a systemd service and timer (default when systemd runs) or a cron.d line'
complete -c incus-snapshot -n "__fish_incus_snapshot_using_subcommand help; and __fish_seen_subcommand_from timer" -f -a "remove" -d 'Remove what `timer install` wrote'
