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

complete -c incus-storage -n "__fish_incus_storage_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
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
complete -c incus-storage -n "__fish_incus_storage_using_subcommand create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand create" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand create" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -s c -l columns -d 'Columns (n name, D driver, d description, S source, u used by, s state)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -s c -l columns -d 'Columns (n name, D driver, d description, S source, u used by, s state)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -l resources -d 'Show the pool\'s resources instead'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -l bytes -d 'Print sizes in bytes'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand get" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand get" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand get" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand set" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand set" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand set" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand unset" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand unset" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand unset" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand edit" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand edit" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand edit" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand delete" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "list" -d 'List the volumes of a pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "ls" -d 'List the volumes of a pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "create" -d 'Create a custom volume: POOL VOLUME [KEY=VALUE...] (pool volume.* keys are defaults)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "show" -d 'Show a volume: POOL [TYPE/]VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "get" -d 'Get a volume key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "set" -d 'Set volume keys: POOL VOLUME KEY=VALUE... or KEY VALUE'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "unset" -d 'Unset a volume key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "edit" -d 'Edit a volume as YAML (from stdin when it is not a terminal)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "delete" -d 'Delete custom volumes (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "rm" -d 'Delete custom volumes (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "rename" -d 'Rename a custom volume (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "mv" -d 'Rename a custom volume (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "copy" -d 'Copy a volume: SRCPOOL/VOLUME[/SNAPSHOT] DSTPOOL/VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "export" -d 'Export a custom volume as a backup tarball (upstream\'s format): POOL VOLUME [FILE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "import" -d 'Import a custom volume from a backup tarball: POOL FILE [NAME]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "move" -d 'Move or rename a volume: SRCPOOL/VOLUME DSTPOOL/VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "attach" -d 'Attach a volume to an instance: POOL VOLUME INSTANCE [DEVICE] PATH'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "attach-profile" -d 'Attach a volume to a profile: POOL VOLUME PROFILE [DEVICE] PATH'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "detach" -d 'Detach a volume from an instance: POOL VOLUME INSTANCE [DEVICE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "detach-profile" -d 'Detach a volume from a profile: POOL VOLUME PROFILE [DEVICE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "info" -d 'Show a volume\'s usage'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "snapshot" -d 'Manage volume snapshots'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and not __fish_seen_subcommand_from list ls create show get set unset edit delete rm rename mv copy export import move attach attach-profile detach detach-profile info snapshot help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -s c -l columns -d 'Columns (t type, n name, d description, c content type, u used by)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -s c -l columns -d 'Columns (t type, n name, d description, c content type, u used by)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from create" -l description -d 'Description' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from get" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from set" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from unset" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from edit" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from edit" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from rename" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from rename" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from mv" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from mv" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from copy" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from copy" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from copy" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from export" -l compression -d 'Compression algorithm: gzip (default), xz or none' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from export" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from export" -l volume-only -d 'Back up the volume without its snapshots'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from export" -l optimized-storage -d 'Storage driver optimized format (not supported: refused)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from import" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from move" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from move" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from move" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from attach" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from attach" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from attach" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from attach-profile" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from attach-profile" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from attach-profile" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from detach" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from detach" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from detach" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from detach-profile" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from detach-profile" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from detach-profile" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from info" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from info" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from info" -l bytes -d 'Print sizes in bytes'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from info" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -s q -l quiet -d 'Print less'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -s h -l help -d 'Print help'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "create" -d 'Snapshot a volume: POOL VOLUME [SNAPSHOT]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "list" -d 'List a volume\'s snapshots'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "ls" -d 'List a volume\'s snapshots'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "delete" -d 'Delete a snapshot'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "rm" -d 'Delete a snapshot'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "restore" -d 'Restore a volume from a snapshot (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "rename" -d 'Rename a snapshot'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from snapshot" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the volumes of a pool'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a custom volume: POOL VOLUME [KEY=VALUE...] (pool volume.* keys are defaults)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a volume: POOL [TYPE/]VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "get" -d 'Get a volume key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set volume keys: POOL VOLUME KEY=VALUE... or KEY VALUE'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Unset a volume key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Edit a volume as YAML (from stdin when it is not a terminal)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete custom volumes (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "rename" -d 'Rename a custom volume (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "copy" -d 'Copy a volume: SRCPOOL/VOLUME[/SNAPSHOT] DSTPOOL/VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "export" -d 'Export a custom volume as a backup tarball (upstream\'s format): POOL VOLUME [FILE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import a custom volume from a backup tarball: POOL FILE [NAME]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "move" -d 'Move or rename a volume: SRCPOOL/VOLUME DSTPOOL/VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "attach" -d 'Attach a volume to an instance: POOL VOLUME INSTANCE [DEVICE] PATH'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "attach-profile" -d 'Attach a volume to a profile: POOL VOLUME PROFILE [DEVICE] PATH'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "detach" -d 'Detach a volume from an instance: POOL VOLUME INSTANCE [DEVICE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "detach-profile" -d 'Detach a volume from a profile: POOL VOLUME PROFILE [DEVICE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "info" -d 'Show a volume\'s usage'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand volume; and __fish_seen_subcommand_from help" -f -a "snapshot" -d 'Manage volume snapshots'
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
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "create" -d 'Create a custom volume: POOL VOLUME [KEY=VALUE...] (pool volume.* keys are defaults)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "show" -d 'Show a volume: POOL [TYPE/]VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "get" -d 'Get a volume key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "set" -d 'Set volume keys: POOL VOLUME KEY=VALUE... or KEY VALUE'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "unset" -d 'Unset a volume key'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "edit" -d 'Edit a volume as YAML (from stdin when it is not a terminal)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "delete" -d 'Delete custom volumes (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "rename" -d 'Rename a custom volume (refused while attached)'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "copy" -d 'Copy a volume: SRCPOOL/VOLUME[/SNAPSHOT] DSTPOOL/VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "export" -d 'Export a custom volume as a backup tarball (upstream\'s format): POOL VOLUME [FILE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "import" -d 'Import a custom volume from a backup tarball: POOL FILE [NAME]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "move" -d 'Move or rename a volume: SRCPOOL/VOLUME DSTPOOL/VOLUME'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "attach" -d 'Attach a volume to an instance: POOL VOLUME INSTANCE [DEVICE] PATH'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "attach-profile" -d 'Attach a volume to a profile: POOL VOLUME PROFILE [DEVICE] PATH'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "detach" -d 'Detach a volume from an instance: POOL VOLUME INSTANCE [DEVICE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "detach-profile" -d 'Detach a volume from a profile: POOL VOLUME PROFILE [DEVICE]'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "info" -d 'Show a volume\'s usage'
complete -c incus-storage -n "__fish_incus_storage_using_subcommand help; and __fish_seen_subcommand_from volume" -f -a "snapshot" -d 'Manage volume snapshots'
