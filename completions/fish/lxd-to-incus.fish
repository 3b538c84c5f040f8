complete -c lxd-to-incus -l source-dir -d 'LXD\'s daemon directory (LXD_DIR), instead of looking for the snap (/var/snap/lxd/common/lxd) and Debian (/var/lib/lxd) layouts (ours; for tests)' -r -F
complete -c lxd-to-incus -l yes -d 'Migrate without prompting'
complete -c lxd-to-incus -l ignore-version-check -d 'Bypass the source version check (LXD newer than 5.18)'
complete -c lxd-to-incus -l dry-run -d 'Print the plan and exit, changing nothing (ours)'
complete -c lxd-to-incus -l dump-state -d 'Print what LXD\'s API answered (JSON) and exit (ours; records the unit tests\' fixtures)'
complete -c lxd-to-incus -l purge -d 'After a successful migration, remove what is left of LXD (its database, logs and cache); alone, on a host already migrated (ours)'
complete -c lxd-to-incus -s h -l help -d 'Print help'
complete -c lxd-to-incus -s V -l version -d 'Print version'
