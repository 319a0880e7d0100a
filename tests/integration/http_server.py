#!/usr/bin/env python3
# The test HTTP server of tests/integration/http.sh (issue 5): listens on
# 127.0.0.1 on a free port, writes the port to PORTFILE, records what it is
# sent under RECDIR.
#
#   usage: http_server.py PORTFILE RECDIR [CERTFILE KEYFILE]
#
# With CERTFILE and KEYFILE it serves https instead.
#
# Routes:
#   GET  /file.txt          "hello, dagexec\n" (known content)
#   GET  /missing           404
#   GET  /flaky/NAME        503 with Retry-After: 1 the first time for NAME,
#                           then 200 "ok\n"
#   GET  /slow-flaky/NAME   the same with Retry-After: 30
#   GET  /hang              never answers (sleeps 60 s)
#   POST|PUT /echo          records method, headers and body into
#                           RECDIR/echo.json; answers 201
#   GET  /loop              redirects to itself, forever
#   GET  /big               1 MiB of 'x'
#   POST /hook              notify sink: appends the body as one line to
#                           RECDIR/hook.log; 200
#   GET  /redirect          302 to /file.txt
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FILE_BODY = b"hello, dagexec\n"
BIG = 1 << 20

counters = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        p = self.path
        if p == "/file.txt":
            self.send(200, FILE_BODY, {"Content-Type": "text/plain"})
        elif p == "/missing":
            self.send(404, b"no such thing\n")
        elif p.startswith("/flaky/") or p.startswith("/slow-flaky/"):
            with lock:
                counters[p] = counters.get(p, 0) + 1
                n = counters[p]
            wait = "1" if p.startswith("/flaky/") else "30"
            if n == 1:
                self.send(503, b"busy\n", {"Retry-After": wait})
            else:
                self.send(200, b"ok\n")
        elif p == "/hang":
            time.sleep(60)
            self.send(200, b"late\n")
        elif p == "/loop":
            self.send(302, b"", {"Location": "/loop"})
        elif p == "/redirect":
            self.send(302, b"moved\n", {"Location": "/file.txt"})
        elif p == "/big":
            self.send(200, b"x" * BIG)
        else:
            self.send(404, b"unknown route\n")

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        data = self.body()
        if self.path == "/echo":
            rec = {"method": self.command,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": data.decode("utf-8", "replace")}
            with open(os.path.join(RECDIR, "echo.json"), "w") as f:
                json.dump(rec, f)
            self.send(201, b"created\n")
        elif self.path == "/hook":
            with lock:
                with open(os.path.join(RECDIR, "hook.log"), "ab") as f:
                    f.write(data.replace(b"\n", b" ") + b"\n")
                with open(os.path.join(RECDIR, "hook.headers"), "a") as f:
                    f.write(self.headers.get("Content-Type", "") + "\n")
            self.send(200, b"thanks\n")
        else:
            self.send(404, b"unknown route\n")

    do_PUT = do_POST


def main():
    global RECDIR
    if len(sys.argv) not in (3, 5):
        sys.stderr.write("usage: http_server.py PORTFILE RECDIR "
                         "[CERTFILE KEYFILE]\n")
        sys.exit(64)
    portfile, RECDIR = sys.argv[1], sys.argv[2]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 5:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    # a client that gives up (max_bytes, a timeout) is part of the tests
    srv.handle_error = lambda request, address: None
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


RECDIR = "."
if __name__ == "__main__":
    main()
