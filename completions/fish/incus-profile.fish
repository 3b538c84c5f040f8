# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_profile_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_profile_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_profile_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_profile_using_subcommand
    set -l cmd (__fish_incus_profile_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-profile -n "__fish_incus_profile_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -s V -l version -d 'Print version'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "create" -d 'Create a profile'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "list" -d 'List profiles'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "ls" -d 'List profiles'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "show" -d 'Show a profile'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "edit" -d 'Edit a profile as YAML (from stdin when it is not a terminal)'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "get" -d 'Get a profile key'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "set" -d 'Set profile keys: PROFILE KEY=VALUE... or PROFILE KEY VALUE'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "unset" -d 'Unset a profile key'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "delete" -d 'Delete profiles'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "rm" -d 'Delete profiles'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "rename" -d 'Rename a profile'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "mv" -d 'Rename a profile'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "copy" -d 'Copy a profile'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "cp" -d 'Copy a profile'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "add" -d 'Add a profile to an instance'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "assign" -d 'Assign a set of comma-separated profiles to an instance (replacing its list)'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "remove" -d 'Remove a profile from an instance'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "device" -d 'Manage profile devices'
complete -c incus-profile -n "__fish_incus_profile_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand create" -l description -d 'Description' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand create" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand create" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-profile -n "__fish_incus_profile_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-profile -n "__fish_incus_profile_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-profile -n "__fish_incus_profile_using_subcommand show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand edit" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand edit" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand edit" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand get" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand get" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand get" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand set" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand set" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand set" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand unset" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand unset" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand unset" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand delete" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand rename" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand rename" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand mv" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand mv" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand copy" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand copy" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand copy" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand cp" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand cp" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand cp" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand add" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand add" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand add" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand assign" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand assign" -l no-profiles -d 'Remove all profiles from the instance'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand assign" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand assign" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand remove" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand remove" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand remove" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "add" -d 'Add a device: NAME DEVICE TYPE [KEY=VALUE...]'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "get" -d 'Get a device key'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "list" -d 'List devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "ls" -d 'List devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "remove" -d 'Remove devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "rm" -d 'Remove devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "set" -d 'Set device keys: NAME DEVICE KEY=VALUE... or NAME DEVICE KEY VALUE'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "show" -d 'Show the devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "unset" -d 'Unset a device key'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and not __fish_seen_subcommand_from add get list ls remove rm set show unset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from add" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from get" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from remove" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from set" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from unset" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'Print less'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a device: NAME DEVICE TYPE [KEY=VALUE...]'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "get" -d 'Get a device key'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "list" -d 'List devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set device keys: NAME DEVICE KEY=VALUE... or NAME DEVICE KEY VALUE'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Unset a device key'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand device; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "create" -d 'Create a profile'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "list" -d 'List profiles'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "show" -d 'Show a profile'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "edit" -d 'Edit a profile as YAML (from stdin when it is not a terminal)'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "get" -d 'Get a profile key'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "set" -d 'Set profile keys: PROFILE KEY=VALUE... or PROFILE KEY VALUE'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "unset" -d 'Unset a profile key'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "delete" -d 'Delete profiles'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "rename" -d 'Rename a profile'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "copy" -d 'Copy a profile'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "add" -d 'Add a profile to an instance'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "assign" -d 'Assign a set of comma-separated profiles to an instance (replacing its list)'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "remove" -d 'Remove a profile from an instance'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "device" -d 'Manage profile devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and not __fish_seen_subcommand_from create list show edit get set unset delete rename copy add assign remove device help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "add" -d 'Add a device: NAME DEVICE TYPE [KEY=VALUE...]'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "get" -d 'Get a device key'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "list" -d 'List devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "remove" -d 'Remove devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "set" -d 'Set device keys: NAME DEVICE KEY=VALUE... or NAME DEVICE KEY VALUE'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "show" -d 'Show the devices'
complete -c incus-profile -n "__fish_incus_profile_using_subcommand help; and __fish_seen_subcommand_from device" -f -a "unset" -d 'Unset a device key'
