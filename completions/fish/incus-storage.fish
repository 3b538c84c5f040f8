# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_storage_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_storage_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_storage_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_storage_using_subcommand
    set -l cmd (__fish_incus_storage_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-storage -n "__fish_incus_storage_needs_command" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -s V -l version -d 'Print version'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "create" -d 'Create a storage pool: NAME DRIVER [KEY=VALUE...]'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "list" -d 'List storage pools'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "ls" -d 'List storage pools'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "show" -d 'Show a storage pool'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "info" -d 'Show usage of a storage pool'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "get" -d 'Get a pool key'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "set" -d 'Set pool keys: POOL KEY=VALUE... or POOL KEY VALUE'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "unset" -d 'Unset a pool key'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "edit" -d 'Edit a pool as YAML (from stdin when it is not a terminal)'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "delete" -d 'Delete storage pools (refused while in use)'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "rm" -d 'Delete storage pools (refused while in use)'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "volume" -d 'Manage storage volumes'
complete -c incus-storage -n "__fish_incus_storage_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand create" -l description -d 'Description' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand create" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand create" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand create" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -s f -l format -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -s f -l format -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -s f -l format -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -l resources -d 'Show the pool\'s resources instead'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -s f -l format -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -l bytes -d 'Print sizes in bytes'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand get" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand get" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand get" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand set" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand set" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand set" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand unset" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand unset" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand unset" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand edit" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand edit" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand edit" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand delete" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand delete" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand rm" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls help" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls help" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls help" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls help" -f -a "list" -d 'List the volumes of a pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls help" -f -a "ls" -d 'List the volumes of a pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -s f -l format -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -s f -l format -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -l project -d 'Project to act on (only `default` exists for now)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the volumes of a pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "create" -d 'Create a storage pool: NAME DRIVER [KEY=VALUE...]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "list" -d 'List storage pools'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "show" -d 'Show a storage pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "info" -d 'Show usage of a storage pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "get" -d 'Get a pool key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "set" -d 'Set pool keys: POOL KEY=VALUE... or POOL KEY VALUE'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "unset" -d 'Unset a pool key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "edit" -d 'Edit a pool as YAML (from stdin when it is not a terminal)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "delete" -d 'Delete storage pools (refused while in use)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "volume" -d 'Manage storage volumes'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and not __fish_seen_subcommand_from create list show info get set unset edit delete volume help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "list" -d 'List the volumes of a pool'
