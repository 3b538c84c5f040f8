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

complete -c incus-admin -n "__fish_incus_admin_needs_command" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-admin -n "__fish_incus_admin_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -s V -l version -d 'Print version'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "init" -d 'Configure the server: --minimal (a dir pool "default" and a root disk in the default profile) or --preseed (YAML on standard input)'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "check" -d 'Check that the database, the disk and the runtime agree (ours; read-only). Lists each disagreement and exits 1 when there is any'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "boot" -d 'After a host boot (ours; run by a boot-time unit): repair what the reboot left and start the instances with boot.autostart (or that were running and have no boot.autostart), by boot.autostart.priority; a second run in the same boot does nothing'
complete -c incus-admin -n "__fish_incus_admin_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l minimal -d 'Minimal set-up, no questions'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l preseed -d 'Read a preseed YAML document from standard input'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l auto -d 'Automatic set-up (same as --minimal here)'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l dump -d 'Print the current configuration as a preseed document'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -l network -d 'With --minimal/--auto: also create the bridge incusbr0 (ipv4.address=auto, NAT) and eth0 on it in the default profile, as upstream does by default'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand init" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -l force -d 'Run again even if this boot was already handled'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -s q -l quiet -d 'Print less'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand boot" -s h -l help -d 'Print help'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot help" -f -a "init" -d 'Configure the server: --minimal (a dir pool "default" and a root disk in the default profile) or --preseed (YAML on standard input)'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot help" -f -a "check" -d 'Check that the database, the disk and the runtime agree (ours; read-only). Lists each disagreement and exits 1 when there is any'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot help" -f -a "boot" -d 'After a host boot (ours; run by a boot-time unit): repair what the reboot left and start the instances with boot.autostart (or that were running and have no boot.autostart), by boot.autostart.priority; a second run in the same boot does nothing'
complete -c incus-admin -n "__fish_incus_admin_using_subcommand help; and not __fish_seen_subcommand_from init check boot help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
