"""A read-only HTTP view of a local Velero object store, for Velero's signed URLs.

``python -m portkit.testing._storeserver --root DIR --port PORT --token-file FILE`` serves ``GET
/TOKEN/BUCKET/KEY`` from ``DIR/BUCKET/KEY`` on 127.0.0.1 only. The token (read from a 0600 file, never from the
command line) keeps other local users out; paths that leave ``DIR`` or name anything but a regular file are 404.
portkit's file object-store plugin hands out these URLs (``$PORTKIT_VELERO_STORE_URL``), so ``velero backup
logs`` and ``velero backup describe --details`` work against local clusters the way they do against S3.
"""

from __future__ import annotations

import argparse
import hmac
import os
import stat
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


def _handler(root: Path, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write("storeserver: " + (format % args) + "\n")

        def do_GET(self) -> None:
            parts = [unquote(p) for p in urlsplit(self.path).path.split("/")[1:]]
            if len(parts) < 3 or not hmac.compare_digest(parts[0], token):
                self.send_error(404)
                return
            if any(p in ("", ".", "..") or "/" in p or "\0" in p for p in parts[1:]):
                self.send_error(404)
                return
            target = root.joinpath(*parts[1:])
            try:
                fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                self.send_error(404)
                return
            with os.fdopen(fd, "rb") as fh:
                info = os.fstat(fh.fileno())
                if not stat.S_ISREG(info.st_mode):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(info.st_size))
                self.end_headers()
                while chunk := fh.read(1 << 16):
                    self.wfile.write(chunk)

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m portkit.testing._storeserver")
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", required=True)
    args = parser.parse_args(argv)
    token = Path(args.token_file).read_text().strip()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(Path(args.root).resolve(), token))
    server.daemon_threads = True
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
