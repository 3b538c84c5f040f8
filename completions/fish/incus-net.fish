# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_net_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_net_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_net_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_net_using_subcommand
    set -l cmd (__fish_incus_net_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-net -n "__fish_incus_net_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_needs_command" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_needs_command" -s V -l version -d 'Print version'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "create" -d 'Create a network: NAME [KEY=VALUE...]'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "list" -d 'List networks'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "ls" -d 'List networks'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "show" -d 'Show a network'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "info" -d 'Show runtime information of a network'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "get" -d 'Get a network key'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "set" -d 'Set network keys: NETWORK KEY=VALUE... or NETWORK KEY VALUE'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "unset" -d 'Unset a network key'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "edit" -d 'Edit a network as YAML (from stdin when it is not a terminal)'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "rename" -d 'Rename a network (refused while in use)'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "mv" -d 'Rename a network (refused while in use)'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "delete" -d 'Delete networks (refused while in use)'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "rm" -d 'Delete networks (refused while in use)'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "list-leases" -d 'List the DHCP leases of a network'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "attach" -d 'Attach a network to an instance: NETWORK INSTANCE [DEVICE] [INTERFACE]'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "detach" -d 'Detach a network from an instance: NETWORK INSTANCE [DEVICE]'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "attach-profile" -d 'Attach a network to a profile: NETWORK PROFILE [DEVICE] [INTERFACE]'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "detach-profile" -d 'Detach a network from a profile: NETWORK PROFILE [DEVICE]'
complete -c incus-net -n "__fish_incus_net_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-net -n "__fish_incus_net_using_subcommand create" -s t -l type -d 'Network type' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand create" -l description -d 'Description' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand create" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand create" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-net -n "__fish_incus_net_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-net -n "__fish_incus_net_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-net -n "__fish_incus_net_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-net -n "__fish_incus_net_using_subcommand show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-net -n "__fish_incus_net_using_subcommand show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-net -n "__fish_incus_net_using_subcommand info" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand info" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand info" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand get" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand get" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand get" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand set" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand set" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand set" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand unset" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand unset" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand unset" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand edit" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand edit" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand edit" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand rename" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand rename" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand mv" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand mv" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand delete" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand list-leases" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-net -n "__fish_incus_net_using_subcommand list-leases" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand list-leases" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand list-leases" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-net -n "__fish_incus_net_using_subcommand attach" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand attach" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand attach" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand detach" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand detach" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand detach" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand attach-profile" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand attach-profile" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand attach-profile" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand detach-profile" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-net -n "__fish_incus_net_using_subcommand detach-profile" -s q -l quiet -d 'Print less'
complete -c incus-net -n "__fish_incus_net_using_subcommand detach-profile" -s h -l help -d 'Print help'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "create" -d 'Create a network: NAME [KEY=VALUE...]'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "list" -d 'List networks'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "show" -d 'Show a network'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "info" -d 'Show runtime information of a network'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "get" -d 'Get a network key'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "set" -d 'Set network keys: NETWORK KEY=VALUE... or NETWORK KEY VALUE'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "unset" -d 'Unset a network key'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "edit" -d 'Edit a network as YAML (from stdin when it is not a terminal)'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "rename" -d 'Rename a network (refused while in use)'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "delete" -d 'Delete networks (refused while in use)'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "list-leases" -d 'List the DHCP leases of a network'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "attach" -d 'Attach a network to an instance: NETWORK INSTANCE [DEVICE] [INTERFACE]'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "detach" -d 'Detach a network from an instance: NETWORK INSTANCE [DEVICE]'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "attach-profile" -d 'Attach a network to a profile: NETWORK PROFILE [DEVICE] [INTERFACE]'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "detach-profile" -d 'Detach a network from a profile: NETWORK PROFILE [DEVICE]'
complete -c incus-net -n "__fish_incus_net_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit rename delete list-leases attach detach attach-profile detach-profile help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
