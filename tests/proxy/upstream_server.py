#!/usr/bin/env python3
"""A scriptable upstream HTTP/1.1 service for larder-proxy's end-to-end tests.

Binds 127.0.0.1 (port 0 unless --port=N), prints "PORT <n>" on standard output and serves until
killed. Every response is driven by the request's path and query, so a test sets exactly the
headers it is about:

  /...?cc=max-age%3D60&etag=%22v1%22&vary=Accept-Language&tags=a%20b&status=200&body=hi
       &delay_ms=50&last_modified=...&expires=...&age=3&set_cookie=a%3D1&bytes=N
       &ctype=text/html&header=Name%3AValue (repeatable)
      Any path not listed below. The body is "<path> render <n>" unless body= or bytes= (N
      binary bytes) says otherwise. A matching If-None-Match (weak comparison, lists, *) or an
      If-Modified-Since equal to last_modified is answered 304.
  /echo...            the request as JSON: method, target (raw), version, headers (in order),
                      body_length, body_sha256 and body (latin-1) of the request body.
  /mirror...          the request body as the response body, byte for byte.
  /close...           drops the connection without answering (partial=1: after the headers).
  /slow...            as any path, with delay_ms defaulting to 3000.
  /__renders?path=P   how many requests reached path P (every method), as a decimal number.
  /__requests?path=P  those requests (method, target, headers) as a JSON list.
  /__override?path=P&k=v...   from now on, requests to P behave as if their query had k=v.
  /__reset            forgets counts, requests and overrides.
"""

import argparse
import hashlib
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_requests = {}  # path -> list of {"method", "target", "headers"}
_counts = {}  # path -> int
_overrides = {}  # path -> {name: [values]}
_MAX_KEPT = 200
_PATTERN = bytes((i * 7 + 3) % 256 for i in range(256))  # bytes=N sends byte i as (7i + 3) % 256


def _etag_matches(if_none_match, etag):
    """RFC 9110 weak comparison of an If-None-Match list against one entity tag."""
    if not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag[2:] if etag.startswith("W/") else etag
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == opaque:
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "larder-test-upstream"

    def log_message(self, fmt, *args):
        sys.stderr.write("upstream: " + (fmt % args) + "\n")

    # --- request plumbing -------------------------------------------------------------------
    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length) if length > 0 else b""

    def _record(self, path):
        entry = {"method": self.command, "target": self.path,
                 "headers": [[k, v] for k, v in self.headers.items()]}
        with _lock:
            _counts[path] = _counts.get(path, 0) + 1
            kept = _requests.setdefault(path, [])
            if len(kept) < _MAX_KEPT:
                kept.append(entry)

    def _send(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        bodiless = status in (204, 304) or 100 <= status < 200
        if not bodiless:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    # --- dispatch ---------------------------------------------------------------------------
    def _handle(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        body = self._read_body()
        if path.startswith("/__"):
            return self._admin(path, query)
        self._record(path)
        with _lock:
            for name, values in _overrides.get(path, {}).items():
                query[name] = values
        if path.startswith("/echo"):
            return self._echo(body)
        if path.startswith("/mirror"):
            ctype = self.headers.get("Content-Type", "application/octet-stream")
            return self._send(200, [("Content-Type", ctype)], body)
        if path.startswith("/close"):
            return self._close(query)
        if path.startswith("/slow"):
            query.setdefault("delay_ms", ["3000"])
        return self._scripted(path, query)

    def _admin(self, path, query):
        target = query.get("path", [""])[0]
        with _lock:
            if path == "/__renders":
                text = str(_counts.get(target, 0))
            elif path == "/__requests":
                text = json.dumps(_requests.get(target, []))
            elif path == "/__override":
                _overrides[target] = {k: v for k, v in query.items() if k != "path"}
                text = "ok"
            elif path == "/__reset":
                _requests.clear()
                _counts.clear()
                _overrides.clear()
                text = "ok"
            else:
                return self._send(404, [("Content-Type", "text/plain")], b"unknown\n")
        self._send(200, [("Content-Type", "text/plain")], text.encode())

    def _echo(self, body):
        echo = {"method": self.command, "target": self.path, "version": self.request_version,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_length": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                "body": body.decode("latin-1")}
        self._send(200, [("Content-Type", "application/json")], json.dumps(echo).encode())

    def _close(self, query):
        if query.get("partial", ["0"])[0] == "1":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"partial")
            self.wfile.flush()
        self.close_connection = True

    def _scripted(self, path, query):
        def get(name, default=None):
            return query.get(name, [default])[0]

        delay_ms = int(get("delay_ms", "0"))
        if delay_ms > 0:
            time.sleep(delay_ms / 1000.0)
        with _lock:
            render = _counts.get(path, 0)
        headers = [("Content-Type", get("ctype", "text/plain"))]
        for param, name in (("cc", "Cache-Control"), ("etag", "ETag"), ("vary", "Vary"),
                            ("tags", "Surrogate-Key"), ("last_modified", "Last-Modified"),
                            ("expires", "Expires"), ("age", "Age"), ("set_cookie", "Set-Cookie")):
            if get(param) is not None:
                headers.append((name, get(param)))
        for extra in query.get("header", []):
            name, _, value = extra.partition(":")
            headers.append((name.strip(), value.strip()))
        etag, last_modified = get("etag"), get("last_modified")
        inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        if (inm is not None and _etag_matches(inm, etag)) or (
                inm is None and ims is not None and last_modified is not None
                and ims == last_modified):
            kept = [h for h in headers if h[0] != "Content-Type"]
            return self._send(304, kept, b"")
        if get("bytes") is not None:
            size = int(get("bytes"))
            body = (_PATTERN * (size // 256 + 1))[:size]
        else:
            body = get("body", "%s render %d" % (path, render)).encode("latin-1")
        self._send(int(get("status", "200")), headers, body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
