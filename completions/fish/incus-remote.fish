# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_remote_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_remote_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_remote_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_remote_using_subcommand
    set -l cmd (__fish_incus_remote_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-remote -n "__fish_incus_remote_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -s V -l version -d 'Print version'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "add" -d 'Add a remote: NAME [URL|TOKEN] (a join token, an https:// or unix:// URL, a host)'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "list" -d 'List the remotes'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "ls" -d 'List the remotes'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "remove" -d 'Remove remotes'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "rm" -d 'Remove remotes'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "rename" -d 'Rename a remote'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "mv" -d 'Rename a remote'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "switch" -d 'Make a remote the default'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "set-default" -d 'Make a remote the default'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "get-default" -d 'Print the default remote'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "set-url" -d 'Change a remote\'s URL'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "get-client-certificate" -d 'Print the client certificate (made on first use)'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "generate-certificate" -d 'Make the client certificate if there is none'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "version" -d 'Print the client\'s and a server\'s version (`incus version [REMOTE:]`)'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "alias" -d 'Manage command aliases (`incus alias`)'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "expand-alias" -d 'Runs the alias the command line starts with (what `incus` does with an unknown command word)'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "query" -d 'One REST call: [REMOTE:]PATH (what `incus query` runs)'
complete -c incus-remote -n "__fish_incus_remote_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l token -d 'Join token to redeem on a server that does not trust this client yet' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l password -d 'Removed upstream (trust passwords are gone): refused' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l protocol -d 'Server protocol (incus or simplestreams)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l auth-type -d 'Authentication type (only tls)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l remote-project -d 'Project to use on the remote by default (also taken from --project)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l accept-certificate -d 'Accept the server certificate without asking'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -l public -d 'Public image server (no authentication)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand add" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand list" -s c -l columns -d 'Columns (n name, u URL, p protocol, a auth type, P public, s static, g global)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-remote -n "__fish_incus_remote_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand ls" -s c -l columns -d 'Columns (n name, u URL, p protocol, a auth type, P public, s static, g global)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-remote -n "__fish_incus_remote_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand remove" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand remove" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand remove" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand rename" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand rename" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand mv" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand mv" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand switch" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand switch" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand switch" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand set-default" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand set-default" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand set-default" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand get-default" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand get-default" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand get-default" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand set-url" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand set-url" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand set-url" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand get-client-certificate" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand get-client-certificate" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand get-client-certificate" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand generate-certificate" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand generate-certificate" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand generate-certificate" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand version" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand version" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand version" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "add" -d 'Add an alias: NAME TARGET (`@ARGS@`, `@ARG1@`... take the arguments)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "list" -d 'List the aliases'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "ls" -d 'List the aliases'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "remove" -d 'Remove an alias'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "rm" -d 'Remove an alias'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "rename" -d 'Rename an alias'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "mv" -d 'Rename an alias'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and not __fish_seen_subcommand_from add list ls remove rm rename mv help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from add" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from remove" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from rename" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from rename" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from rename" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from mv" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from mv" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from mv" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add an alias: NAME TARGET (`@ARGS@`, `@ARG1@`... take the arguments)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the aliases'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove an alias'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "rename" -d 'Rename an alias'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand alias; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand expand-alias" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand expand-alias" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand expand-alias" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand query" -s X -l request -d 'HTTP method' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand query" -s d -l data -d 'Request body (JSON; `-` reads stdin)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand query" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-remote -n "__fish_incus_remote_using_subcommand query" -l wait -d 'Wait for an asynchronous operation to finish'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand query" -l raw -d 'Print the whole response, not only its metadata'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand query" -s q -l quiet -d 'Print less'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand query" -s h -l help -d 'Print help'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "add" -d 'Add a remote: NAME [URL|TOKEN] (a join token, an https:// or unix:// URL, a host)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "list" -d 'List the remotes'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "remove" -d 'Remove remotes'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "rename" -d 'Rename a remote'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "switch" -d 'Make a remote the default'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "get-default" -d 'Print the default remote'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "set-url" -d 'Change a remote\'s URL'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "get-client-certificate" -d 'Print the client certificate (made on first use)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "generate-certificate" -d 'Make the client certificate if there is none'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "version" -d 'Print the client\'s and a server\'s version (`incus version [REMOTE:]`)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "alias" -d 'Manage command aliases (`incus alias`)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "expand-alias" -d 'Runs the alias the command line starts with (what `incus` does with an unknown command word)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "query" -d 'One REST call: [REMOTE:]PATH (what `incus query` runs)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and not __fish_seen_subcommand_from add list remove rename switch get-default set-url get-client-certificate generate-certificate version alias expand-alias query help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "add" -d 'Add an alias: NAME TARGET (`@ARGS@`, `@ARG1@`... take the arguments)'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "list" -d 'List the aliases'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "remove" -d 'Remove an alias'
complete -c incus-remote -n "__fish_incus_remote_using_subcommand help; and __fish_seen_subcommand_from alias" -f -a "rename" -d 'Rename an alias'
