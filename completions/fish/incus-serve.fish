complete -c incus-serve -l socket -d 'Unix socket to listen on (default: $INCUS_DIR/unix.socket)' -r -F
complete -c incus-serve -l https -d 'HTTPS address, overriding core.https_address (ADDR:PORT)' -r
complete -c incus-serve -s h -l help -d 'Print help'
complete -c incus-serve -s V -l version -d 'Print version'
