# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_trust_global_optspecs
    string join \n project= q/quiet h/help V/version
end

function __fish_incus_trust_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_trust_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_trust_using_subcommand
    set -l cmd (__fish_incus_trust_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus-trust -n "__fish_incus_trust_needs_command" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_needs_command" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -s h -l help -d 'Print help'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -s V -l version -d 'Print version'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "add" -d 'Make a single-use join token for a new client'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "add-certificate" -d 'Trust a client certificate (PEM file)'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "list" -d 'List trusted certificates'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "ls" -d 'List trusted certificates'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "show" -d 'Show a trusted certificate'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "remove" -d 'Revoke trust in a certificate'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "rm" -d 'Revoke trust in a certificate'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "list-tokens" -d 'List open join tokens'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "revoke-token" -d 'Revoke a join token (by client name or id)'
complete -c incus-trust -n "__fish_incus_trust_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add" -l projects -d 'Confine the client to these projects (comma separated)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add" -l restricted -d 'Restrict the client to its projects'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add" -s h -l help -d 'Print help'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -l name -d 'Name (default: the start of the fingerprint)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -l type -d 'Certificate type: client or metrics' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -l projects -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -l description -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -l restricted
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand add-certificate" -s h -l help -d 'Print help'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand ls" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-trust -n "__fish_incus_trust_using_subcommand ls" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand ls" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand show" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-trust -n "__fish_incus_trust_using_subcommand show" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand show" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand remove" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand remove" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand remove" -s h -l help -d 'Print help'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand rm" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand rm" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list-tokens" -s f -l format -d 'Output format' -r -f -a "table\t'Bordered table'
csv\t'Comma-separated values, no header'
json\t'The REST objects as JSON'
yaml\t'The REST objects as YAML'
compact\t'Table without borders'"
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list-tokens" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list-tokens" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand list-tokens" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand revoke-token" -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-trust -n "__fish_incus_trust_using_subcommand revoke-token" -s q -l quiet -d 'Print less'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand revoke-token" -s h -l help -d 'Print help'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "add" -d 'Make a single-use join token for a new client'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "add-certificate" -d 'Trust a client certificate (PEM file)'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "list" -d 'List trusted certificates'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "show" -d 'Show a trusted certificate'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "remove" -d 'Revoke trust in a certificate'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "list-tokens" -d 'List open join tokens'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "revoke-token" -d 'Revoke a join token (by client name or id)'
complete -c incus-trust -n "__fish_incus_trust_using_subcommand help; and not __fish_seen_subcommand_from add add-certificate list show remove list-tokens revoke-token help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
