# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_incus_global_optspecs
    string join \n project= h/help V/version
end

function __fish_incus_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_incus_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_incus_using_subcommand
    set -l cmd (__fish_incus_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c incus -n "__fish_incus_needs_command" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus -n "__fish_incus_needs_command" -s V -l version -d 'Print version'
complete -c incus -n "__fish_incus_needs_command" -f -a "launch" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "create" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "init" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "list" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "ls" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "start" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "stop" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "restart" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "pause" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "freeze" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "resume" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "unfreeze" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "delete" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "rm" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "rename" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "exec" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "console" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "info" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "show" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "copy" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "cp" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "move" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "mv" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "file" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "export" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "import" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "publish" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "rebuild" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_needs_command" -f -a "snapshot" -d 'Runs incus-snapshot'
complete -c incus -n "__fish_incus_needs_command" -f -a "image" -d 'Runs incus-image'
complete -c incus -n "__fish_incus_needs_command" -f -a "storage" -d 'Runs incus-storage'
complete -c incus -n "__fish_incus_needs_command" -f -a "network" -d 'Runs incus-net'
complete -c incus -n "__fish_incus_needs_command" -f -a "profile" -d 'Runs incus-profile'
complete -c incus -n "__fish_incus_needs_command" -f -a "project" -d 'Runs incus-project'
complete -c incus -n "__fish_incus_needs_command" -f -a "admin" -d 'Runs incus-admin'
complete -c incus -n "__fish_incus_needs_command" -f -a "remote" -d 'Runs incus-remote'
complete -c incus -n "__fish_incus_needs_command" -f -a "operation" -d 'Runs incus-operation'
complete -c incus -n "__fish_incus_needs_command" -f -a "monitor" -d 'Runs incus-events'
complete -c incus -n "__fish_incus_needs_command" -f -a "warning" -d 'Runs incus-warning'
complete -c incus -n "__fish_incus_needs_command" -f -a "cluster" -d 'Runs incus-cluster'
complete -c incus -n "__fish_incus_needs_command" -f -a "config" -d 'Runs incus-instance config, or incus-trust for `config trust`'
complete -c incus -n "__fish_incus_needs_command" -f -a "query" -d 'Runs incus-remote query'
complete -c incus -n "__fish_incus_needs_command" -f -a "alias" -d 'Runs incus-remote alias'
complete -c incus -n "__fish_incus_needs_command" -f -a "version" -d 'Prints the version'
complete -c incus -n "__fish_incus_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c incus -n "__fish_incus_using_subcommand launch" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand launch" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand create" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand create" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand init" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand init" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand list" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand list" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand ls" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand ls" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand start" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand start" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand stop" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand stop" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand restart" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand restart" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand pause" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand pause" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand freeze" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand freeze" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand resume" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand resume" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand unfreeze" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand unfreeze" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand delete" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand delete" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand rm" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand rm" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand rename" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand rename" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand exec" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand exec" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand console" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand console" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand info" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand info" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand show" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand show" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand copy" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand copy" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand cp" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand cp" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand move" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand move" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand mv" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand mv" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand file" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand file" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand export" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand export" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand import" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand import" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand publish" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand publish" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand rebuild" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand rebuild" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand snapshot" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand snapshot" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand image" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand image" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand storage" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand storage" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand network" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand network" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand profile" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand profile" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand project" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand project" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand admin" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand admin" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand remote" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand remote" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand operation" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand operation" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand monitor" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand monitor" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand warning" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand warning" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand cluster" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand cluster" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand config" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand config" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand query" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand query" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand alias" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand alias" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand version" -l project -d 'Project to act on' -r
complete -c incus -n "__fish_incus_using_subcommand version" -s h -l help -d 'Print help'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "launch" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "create" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "init" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "list" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "ls" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "start" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "stop" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "restart" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "pause" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "freeze" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "resume" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "unfreeze" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "delete" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "rm" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "rename" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "exec" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "console" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "info" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "show" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "copy" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "cp" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "move" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "mv" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "file" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "export" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "import" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "publish" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "rebuild" -d 'Runs incus-instance'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "snapshot" -d 'Runs incus-snapshot'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "image" -d 'Runs incus-image'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "storage" -d 'Runs incus-storage'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "network" -d 'Runs incus-net'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "profile" -d 'Runs incus-profile'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "project" -d 'Runs incus-project'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "admin" -d 'Runs incus-admin'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "remote" -d 'Runs incus-remote'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "operation" -d 'Runs incus-operation'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "monitor" -d 'Runs incus-events'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "warning" -d 'Runs incus-warning'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "cluster" -d 'Runs incus-cluster'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "config" -d 'Runs incus-instance config, or incus-trust for `config trust`'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "query" -d 'Runs incus-remote query'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "alias" -d 'Runs incus-remote alias'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "version" -d 'Prints the version'
complete -c incus -n "__fish_incus_using_subcommand help; and not __fish_seen_subcommand_from launch create init list ls start stop restart pause freeze resume unfreeze delete rm rename exec console info show copy cp move mv file export import publish rebuild snapshot image storage network profile project admin remote operation monitor warning cluster config query alias version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
