complete -c incus-events -l project -d 'Project to act on (default: the current project of the remote, `project switch`)' -r
complete -c incus-events -l type -d 'Event types to show (repeatable: lifecycle, logging, operation); all by default' -r
complete -c incus-events -s f -l format -d 'Output format' -r -f -a "yaml\t''
json\t''
pretty\t'Human-readable: timestamp, type, action and source on one line'"
complete -c incus-events -l since -d 'Also print the last N stored events first (ours)' -r
complete -c incus-events -l count -d 'Exit after printing N events (ours; for scripts and tests)' -r
complete -c incus-events -s q -l quiet -d 'Print less'
complete -c incus-events -s h -l help -d 'Print help (see more with \'--help\')'
complete -c incus-events -s V -l version -d 'Print version'
