#!/usr/bin/env python3
"""A static HTTPS file server for the image server tests (a simplestreams tree).

usage: https-static.py DIR CERT KEY LOG
Binds 127.0.0.1 on a free port, prints the port on stdout, then serves DIR; every
request path is appended to LOG (one line each, flushed) so that tests can count
downloads. A file PATH.headers next to PATH adds its "Name: value" lines to the
answers for PATH (upstream's `image import URL` reads headers of a HEAD)."""
import os
import functools
import http.server
import ssl
import sys

root, cert, key, log = sys.argv[1:5]


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        extra = self.translate_path(self.path) + ".headers"
        if os.path.isfile(extra):
            for line in open(extra).read().splitlines():
                name, _, value = line.partition(":")
                if value:
                    self.send_header(name.strip(), value.strip())
        super().end_headers()

    def log_message(self, fmt, *args):
        with open(log, "a") as f:
            f.write(self.path + "\n")


server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), functools.partial(Handler, directory=root)
)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
