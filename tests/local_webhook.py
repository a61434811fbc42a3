"""A local webhook for the alert tests: an HTTP server on 127.0.0.1 (a free port) in a thread, keeping every POST."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Webhook:
    """A local HTTP server on 127.0.0.1 that keeps every POST it receives and answers with `status`."""

    def __init__(self, status: int = 200):
        self.received: list[dict] = []
        self.status = status
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # (the name http.server calls)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append({"path": self.path, "content_type": self.headers["Content-Type"],
                                         "json": json.loads(body)})
                self.send_response(webhook.status)
                self.end_headers()

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/als-eca"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
