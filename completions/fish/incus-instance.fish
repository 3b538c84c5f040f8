# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_instance_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_instance_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_instance_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_instance_using_subcommand
    set -l cmd (__fish_incus_instance_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-instance -n "__fish_incus_instance_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "create" -d 'Create an instance from an image'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "init" -d 'Create an instance from an image'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "launch" -d 'Create and start an instance from an image'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "list" -d 'List instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "ls" -d 'List instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "show" -d 'Show an instance\'s configuration'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "config" -d 'Manage instance and server configuration'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "rename" -d 'Rename an instance'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "start" -d 'Start instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "stop" -d 'Stop instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "restart" -d 'Restart instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "pause" -d 'Pause (freeze) instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "freeze" -d 'Pause (freeze) instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "resume" -d 'Resume (unfreeze) instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "unfreeze" -d 'Resume (unfreeze) instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "exec" -d 'Run a command in an instance'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "console" -d 'Attach to the console of an instance (detach with ctrl+a q)'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "file" -d 'Manage files in instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "info" -d 'Show instance or server information'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "copy" -d 'Copy an instance or one of its snapshots (INSTANCE[/SNAPSHOT]) to a new instance'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "cp" -d 'Copy an instance or one of its snapshots (INSTANCE[/SNAPSHOT]) to a new instance'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "move" -d 'Rename an instance, or move it to another storage pool with -s'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "mv" -d 'Rename an instance, or move it to another storage pool with -s'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "export" -d 'Export an instance as a backup tarball (upstream\'s format)'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "import" -d 'Create an instance from a backup tarball: [REMOTE:] FILE [NAME]'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "publish" -d 'Publish an instance or snapshot as an image: INSTANCE[/SNAPSHOT] [key=value...]'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "rebuild" -d 'Rebuild an instance from an image (or empty), keeping its config: IMAGE NAME'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "delete" -d 'Delete instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "rm" -d 'Delete instances'
complete -c incus-instance -n "__fish_incus_instance_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s c -l config -d 'Config key/value to apply to the new instance' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s p -l profile -d 'Profile to apply to the new instance (repeatable)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s d -l device -d 'New key/value to apply to a specific device (DEVICE,KEY=VALUE)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s n -l network -d 'Network name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s s -l storage -d 'Storage pool name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s t -l type -d 'Instance type (cloud instance types are not supported)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -l description -d 'Instance description' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s e -l ephemeral -d 'Ephemeral instance (deleted when stopped)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -l no-profiles -d 'Create the instance with no profiles applied'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -l empty -d 'Create an empty instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -l vm -d 'Create a virtual machine'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand create" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s c -l config -d 'Config key/value to apply to the new instance' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s p -l profile -d 'Profile to apply to the new instance (repeatable)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s d -l device -d 'New key/value to apply to a specific device (DEVICE,KEY=VALUE)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s n -l network -d 'Network name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s s -l storage -d 'Storage pool name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s t -l type -d 'Instance type (cloud instance types are not supported)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -l description -d 'Instance description' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s e -l ephemeral -d 'Ephemeral instance (deleted when stopped)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -l no-profiles -d 'Create the instance with no profiles applied'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -l empty -d 'Create an empty instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -l vm -d 'Create a virtual machine'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand init" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s c -l config -d 'Config key/value to apply to the new instance' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s p -l profile -d 'Profile to apply to the new instance (repeatable)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s d -l device -d 'New key/value to apply to a specific device (DEVICE,KEY=VALUE)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s n -l network -d 'Network name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s s -l storage -d 'Storage pool name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s t -l type -d 'Instance type (cloud instance types are not supported)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -l description -d 'Instance description' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s e -l ephemeral -d 'Ephemeral instance (deleted when stopped)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -l no-profiles -d 'Create the instance with no profiles applied'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -l empty -d 'Create an empty instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -l vm -d 'Create a virtual machine'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand launch" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -s c -l columns -d 'Columns (upstream letters: n s 4 6 t S a b c d f F l m M N p P u D e)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -l fast -d 'Fast mode (same as -c nsacPt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -l all-projects -d 'Show instances of all projects'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand list" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -s c -l columns -d 'Columns (upstream letters: n s 4 6 t S a b c d f F l m M N p P u D e)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -l fast -d 'Fast mode (same as -c nsacPt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -l all-projects -d 'Show instances of all projects'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand ls" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-instance -n "__fish_incus_instance_using_subcommand show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand show" -l expanded -d 'Show the expanded configuration'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand show" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -f -a "get" -d 'Get a configuration key of an instance, or of the server when no instance is named'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -f -a "set" -d 'Set configuration keys: [INSTANCE] KEY=VALUE... or [INSTANCE] KEY VALUE'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -f -a "unset" -d 'Unset a configuration key: [INSTANCE] KEY'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -f -a "show" -d 'Show the configuration of an instance, or of the server'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -f -a "edit" -d 'Edit the configuration as YAML (from stdin when it is not a terminal)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -f -a "device" -d 'Manage devices of an instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and not __fish_seen_subcommand_from get set unset show edit device help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from get" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from get" -s e -l expanded -d 'Get the key from the expanded configuration'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from get" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from set" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from unset" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from unset" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from unset" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from unset" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from show" -s e -l expanded -d 'Show the expanded configuration'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from edit" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from edit" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from edit" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "add" -d 'Add a device: NAME DEVICE TYPE [KEY=VALUE...]'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "get" -d 'Get a device key'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "list" -d 'List devices'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "ls" -d 'List devices'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "remove" -d 'Remove devices'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "rm" -d 'Remove devices'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "set" -d 'Set device keys: NAME DEVICE KEY=VALUE... or NAME DEVICE KEY VALUE'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "show" -d 'Show the devices'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "unset" -d 'Unset a device key'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "override" -d 'Copy a profile device into the instance, with changes'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from device" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "get" -d 'Get a configuration key of an instance, or of the server when no instance is named'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set configuration keys: [INSTANCE] KEY=VALUE... or [INSTANCE] KEY VALUE'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "unset" -d 'Unset a configuration key: [INSTANCE] KEY'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the configuration of an instance, or of the server'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Edit the configuration as YAML (from stdin when it is not a terminal)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "device" -d 'Manage devices of an instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rename" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rename" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rename" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -l timeout -d 'Seconds to wait for a clean stop before killing (-1: wait forever)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -l all -d 'Act on every instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -s f -l force -d 'Force the stop (kill instead of a clean halt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -l stateful -d 'Stateful stop/start (needs CRIU; not supported)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand start" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -l timeout -d 'Seconds to wait for a clean stop before killing (-1: wait forever)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -l all -d 'Act on every instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -s f -l force -d 'Force the stop (kill instead of a clean halt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -l stateful -d 'Stateful stop/start (needs CRIU; not supported)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand stop" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -l timeout -d 'Seconds to wait for a clean stop before killing (-1: wait forever)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -l all -d 'Act on every instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -s f -l force -d 'Force the stop (kill instead of a clean halt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -l stateful -d 'Stateful stop/start (needs CRIU; not supported)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand restart" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -l timeout -d 'Seconds to wait for a clean stop before killing (-1: wait forever)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -l all -d 'Act on every instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -s f -l force -d 'Force the stop (kill instead of a clean halt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -l stateful -d 'Stateful stop/start (needs CRIU; not supported)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand pause" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -l timeout -d 'Seconds to wait for a clean stop before killing (-1: wait forever)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -l all -d 'Act on every instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -s f -l force -d 'Force the stop (kill instead of a clean halt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -l stateful -d 'Stateful stop/start (needs CRIU; not supported)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand freeze" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -l timeout -d 'Seconds to wait for a clean stop before killing (-1: wait forever)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -l all -d 'Act on every instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -s f -l force -d 'Force the stop (kill instead of a clean halt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -l stateful -d 'Stateful stop/start (needs CRIU; not supported)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand resume" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -l timeout -d 'Seconds to wait for a clean stop before killing (-1: wait forever)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -l all -d 'Act on every instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -s f -l force -d 'Force the stop (kill instead of a clean halt)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -l stateful -d 'Stateful stop/start (needs CRIU; not supported)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand unfreeze" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -l env -d 'Environment variable to set (KEY=VALUE, repeatable)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -l cwd -d 'Directory to run the command in' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -l user -d 'User ID to run the command as' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -l group -d 'Group ID to run the command as' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -l mode -d 'Exec mode: auto, interactive or non-interactive' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -s t -l force-interactive -d 'Force pseudo-terminal allocation'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -s T -l force-noninteractive -d 'Disable pseudo-terminal allocation'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand exec" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand console" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand console" -l show-log -d 'Print the console log instead of attaching'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand console" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand console" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand console" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -f -a "push" -d 'Push files into instances: SOURCE... INSTANCE/PATH'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -f -a "pull" -d 'Pull files from instances: INSTANCE/PATH... TARGET (`-` is standard output)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -f -a "delete" -d 'Delete files in instances: INSTANCE/PATH...'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -f -a "rm" -d 'Delete files in instances: INSTANCE/PATH...'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -f -a "edit" -d 'Edit a file in an instance (standard input when it is not a terminal)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -f -a "create" -d 'Create a file, directory or symlink in an instance: INSTANCE/PATH [SYMLINK-TARGET]'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and not __fish_seen_subcommand_from push pull delete rm edit create help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -l uid -d 'Set the file\'s uid on push (default: the source\'s)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -l gid -d 'Set the file\'s gid on push (default: the source\'s)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -l mode -d 'Set the file\'s permissions on push, in octal (default: the source\'s)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -s r -l recursive -d 'Push directories recursively'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -s p -l create-dirs -d 'Create any missing parent directories'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from push" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from pull" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from pull" -s r -l recursive -d 'Pull directories recursively'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from pull" -s p -l create-dirs -d 'Create any missing parent directories'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from pull" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from pull" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from pull" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from delete" -s f -l force -d 'Delete directories with their contents'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from rm" -s f -l force -d 'Delete directories with their contents'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from edit" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from edit" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from edit" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -l type -d 'The type to create: file, directory or symlink' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -l uid -d 'Set the file\'s uid on push (default: the source\'s)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -l gid -d 'Set the file\'s gid on push (default: the source\'s)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -l mode -d 'Set the file\'s permissions on push, in octal (default: the source\'s)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -s p -l create-dirs -d 'Create any missing parent directories'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -s f -l force -d 'Replace an existing entry'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "push" -d 'Push files into instances: SOURCE... INSTANCE/PATH'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "pull" -d 'Pull files from instances: INSTANCE/PATH... TARGET (`-` is standard output)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete files in instances: INSTANCE/PATH...'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Edit a file in an instance (standard input when it is not a terminal)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a file, directory or symlink in an instance: INSTANCE/PATH [SYMLINK-TARGET]'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand info" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand info" -l show-log -d 'Also print the console log'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand info" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand info" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand info" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -s c -l config -d 'Config key/value to apply to the new instance' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -s p -l profile -d 'Profile to apply to the new instance (repeatable)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -s s -l storage -d 'Storage pool name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -l instance-only -d 'Copy the instance without its snapshots'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -s e -l ephemeral -d 'Ephemeral instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -l no-profiles -d 'Create the instance with no profiles applied'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -l stateless -d 'Copy a stateful instance stateless (the only kind of copy here)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand copy" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -s c -l config -d 'Config key/value to apply to the new instance' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -s p -l profile -d 'Profile to apply to the new instance (repeatable)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -s s -l storage -d 'Storage pool name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -l instance-only -d 'Copy the instance without its snapshots'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -s e -l ephemeral -d 'Ephemeral instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -l no-profiles -d 'Create the instance with no profiles applied'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -l stateless -d 'Copy a stateful instance stateless (the only kind of copy here)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand cp" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand move" -s s -l storage -d 'Storage pool to move the instance to' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand move" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand move" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand move" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand move" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand mv" -s s -l storage -d 'Storage pool to move the instance to' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand mv" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand mv" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand mv" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand export" -l compression -d 'Compression algorithm: gzip (default), xz or none' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand export" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand export" -l instance-only -d 'Back up the instance without its snapshots'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand export" -l optimized-storage -d 'Storage driver optimized format (not supported: refused)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand export" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand export" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand export" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand import" -s s -l storage -d 'Storage pool name' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand import" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand import" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand import" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand import" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -l alias -d 'New alias to define (repeatable)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -l expire -d 'Image expiration date (RFC 3339)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -l compression -d 'Compression algorithm: gzip (default), xz or none' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -l public -d 'Make the image public'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -l reuse -d 'If an alias already exists, move it to the new image (deleting the old one)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -s f -l force -d 'Stop the instance if it is running (it is started again afterwards)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand publish" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rebuild" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rebuild" -l empty -d 'Rebuild as an empty instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rebuild" -s f -l force -d 'If the instance is running, stop it, rebuild it and start it again'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rebuild" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rebuild" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rebuild" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand delete" -s f -l force -d 'Force the removal of running instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand delete" -s i -l interactive -d 'Require confirmation'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand delete" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand delete" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rm" -s f -l force -d 'Force the removal of running instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rm" -s i -l interactive -d 'Require confirmation'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand rm" -s V -l version -d 'Print version'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "create" -d 'Create an instance from an image'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "launch" -d 'Create and start an instance from an image'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "list" -d 'List instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "show" -d 'Show an instance\'s configuration'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "config" -d 'Manage instance and server configuration'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "rename" -d 'Rename an instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "start" -d 'Start instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "stop" -d 'Stop instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "restart" -d 'Restart instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "pause" -d 'Pause (freeze) instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "resume" -d 'Resume (unfreeze) instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "exec" -d 'Run a command in an instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "console" -d 'Attach to the console of an instance (detach with ctrl+a q)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "file" -d 'Manage files in instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "info" -d 'Show instance or server information'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "copy" -d 'Copy an instance or one of its snapshots (INSTANCE[/SNAPSHOT]) to a new instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "move" -d 'Rename an instance, or move it to another storage pool with -s'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "export" -d 'Export an instance as a backup tarball (upstream\'s format)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "import" -d 'Create an instance from a backup tarball: [REMOTE:] FILE [NAME]'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "publish" -d 'Publish an instance or snapshot as an image: INSTANCE[/SNAPSHOT] [key=value...]'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "rebuild" -d 'Rebuild an instance from an image (or empty), keeping its config: IMAGE NAME'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "delete" -d 'Delete instances'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and not __fish_seen_subcommand_from create launch list show config rename start stop restart pause resume exec console file info copy move export import publish rebuild delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "get" -d 'Get a configuration key of an instance, or of the server when no instance is named'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "set" -d 'Set configuration keys: [INSTANCE] KEY=VALUE... or [INSTANCE] KEY VALUE'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "unset" -d 'Unset a configuration key: [INSTANCE] KEY'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Show the configuration of an instance, or of the server'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "edit" -d 'Edit the configuration as YAML (from stdin when it is not a terminal)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "device" -d 'Manage devices of an instance'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "push" -d 'Push files into instances: SOURCE... INSTANCE/PATH'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "pull" -d 'Pull files from instances: INSTANCE/PATH... TARGET (`-` is standard output)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "delete" -d 'Delete files in instances: INSTANCE/PATH...'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "edit" -d 'Edit a file in an instance (standard input when it is not a terminal)'
complete -c incus-instance -n "__fish_incus_instance_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "create" -d 'Create a file, directory or symlink in an instance: INSTANCE/PATH [SYMLINK-TARGET]'
