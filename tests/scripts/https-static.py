#!/usr/bin/env python3
"""A static HTTPS file server for the image server tests (a simplestreams tree).

usage: https-static.py DIR CERT KEY LOG
Binds 127.0.0.1 on a free port, prints the port on stdout, then serves DIR; every
request path is appended to LOG (one line each, flushed) so that tests can count
downloads."""
import functools
import http.server
import ssl
import sys

root, cert, key, log = sys.argv[1:5]


class Handler(http.server.SimpleHTTPRequestHandler):
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
