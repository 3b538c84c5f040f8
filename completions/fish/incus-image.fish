# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_image_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_image_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_image_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_image_using_subcommand
    set -l cmd (__fish_incus_image_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-image -n "__fish_incus_image_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_needs_command" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_needs_command" -s V -l version -d 'Print version'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "import" -d 'Import an image: TARBALL (unified) or METADATA ROOTFS (split), then KEY=VALUE properties'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "list" -d 'List images'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "ls" -d 'List images'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "info" -d 'Show useful information about an image'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "show" -d 'Show an image\'s properties as YAML'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "edit" -d 'Edit an image\'s properties as YAML (from stdin when it is not a terminal)'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "delete" -d 'Delete images'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "rm" -d 'Delete images'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "copy" -d 'Copy an image to another remote: [REMOTE:]IMAGE REMOTE:'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "cp" -d 'Copy an image to another remote: [REMOTE:]IMAGE REMOTE:'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "export" -d 'Export an image\'s files into a directory (current directory by default)'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "get-property" -d 'Get an image property'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "set-property" -d 'Set an image property'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "unset-property" -d 'Unset an image property'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "alias" -d 'Manage image aliases'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "build-busybox" -d 'Build a busybox system-container image from a static busybox (ours, for tests)'
complete -c incus-image -n "__fish_incus_image_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-image -n "__fish_incus_image_using_subcommand import" -l alias -d 'Alias of the new image (repeatable)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand import" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand import" -l public -d 'Make the image public'
complete -c incus-image -n "__fish_incus_image_using_subcommand import" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand import" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand list" -s c -l columns -d 'Columns (upstream letters: l L f F p d a t s u e)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-image -n "__fish_incus_image_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand list" -l all-projects -d 'Show images of all projects'
complete -c incus-image -n "__fish_incus_image_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-image -n "__fish_incus_image_using_subcommand ls" -s c -l columns -d 'Columns (upstream letters: l L f F p d a t s u e)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-image -n "__fish_incus_image_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand ls" -l all-projects -d 'Show images of all projects'
complete -c incus-image -n "__fish_incus_image_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-image -n "__fish_incus_image_using_subcommand info" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand info" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand info" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-image -n "__fish_incus_image_using_subcommand show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-image -n "__fish_incus_image_using_subcommand edit" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand edit" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand edit" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand delete" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand copy" -l alias -d 'Alias of the copy (repeatable)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand copy" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand copy" -l copy-aliases -d 'Give the copy the source image\'s aliases too'
complete -c incus-image -n "__fish_incus_image_using_subcommand copy" -l public -d 'Make the copy public'
complete -c incus-image -n "__fish_incus_image_using_subcommand copy" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand copy" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand cp" -l alias -d 'Alias of the copy (repeatable)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand cp" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand cp" -l copy-aliases -d 'Give the copy the source image\'s aliases too'
complete -c incus-image -n "__fish_incus_image_using_subcommand cp" -l public -d 'Make the copy public'
complete -c incus-image -n "__fish_incus_image_using_subcommand cp" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand cp" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand export" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand export" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand export" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand get-property" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand get-property" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand get-property" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand set-property" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand set-property" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand set-property" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand unset-property" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand unset-property" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand unset-property" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "create" -d 'Create an alias: ALIAS FINGERPRINT'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "delete" -d 'Delete an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "rm" -d 'Delete an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "rename" -d 'Rename an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "mv" -d 'Rename an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "list" -d 'List aliases'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "ls" -d 'List aliases'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and not __fish_seen_subcommand_from create delete rm rename mv list ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from create" -l description -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from create" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from delete" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from rename" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from rename" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from mv" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from mv" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an alias: ALIAS FINGERPRINT'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "rename" -d 'Rename an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "list" -d 'List aliases'
complete -c incus-image -n "__fish_incus_image_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-image -n "__fish_incus_image_using_subcommand build-busybox" -l busybox -d 'Static busybox binary (Debian\'s busybox-static)' -r -F
complete -c incus-image -n "__fish_incus_image_using_subcommand build-busybox" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-image -n "__fish_incus_image_using_subcommand build-busybox" -l split -d 'Build a split image (metadata + rootfs tarballs) instead of a unified one'
complete -c incus-image -n "__fish_incus_image_using_subcommand build-busybox" -s q -l quiet -d 'Print less'
complete -c incus-image -n "__fish_incus_image_using_subcommand build-busybox" -s h -l help -d 'Print help'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "import" -d 'Import an image: TARBALL (unified) or METADATA ROOTFS (split), then KEY=VALUE properties'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "list" -d 'List images'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "info" -d 'Show useful information about an image'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "show" -d 'Show an image\'s properties as YAML'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "edit" -d 'Edit an image\'s properties as YAML (from stdin when it is not a terminal)'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "delete" -d 'Delete images'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "copy" -d 'Copy an image to another remote: [REMOTE:]IMAGE REMOTE:'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "export" -d 'Export an image\'s files into a directory (current directory by default)'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "get-property" -d 'Get an image property'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "set-property" -d 'Set an image property'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "unset-property" -d 'Unset an image property'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "alias" -d 'Manage image aliases'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "build-busybox" -d 'Build a busybox system-container image from a static busybox (ours, for tests)'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and not __fish_seen_subcommand_from import list info show edit delete copy export get-property set-property unset-property alias build-busybox help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "create" -d 'Create an alias: ALIAS FINGERPRINT'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "delete" -d 'Delete an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "rename" -d 'Rename an alias'
complete -c incus-image -n "__fish_incus_image_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "list" -d 'List aliases'
