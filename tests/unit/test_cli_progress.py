"""Progress on a terminal (and nothing when piped), retry notices, and a first line within a second when an
API server does not answer."""

from __future__ import annotations

import io
import json
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from portkit._retry import RetryNotice, RetryPolicy
from portkit.cli._progress import Status, watch_cluster, write_err
from portkit.cluster import Cluster
from portkit.errors import ClusterUnreachableError

ROOT = Path(__file__).resolve().parents[2]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_draws_only_on_a_terminal_and_lines_go_above_it(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    with Status("export", total=40, unit="lists", interval=0.01) as status:
        status.update(12)
        time.sleep(0.1)
        write_err("portkit: retrying list pods (2/8): connection refused")
        status.advance(3)
        time.sleep(0.1)
    out = tty.getvalue()
    assert "\r\x1b[Kexport · 12/40 lists · 0s" in out and "15/40 lists" in out
    # the notice is on a line of its own (the status cleared first, drawn again after)
    assert "\r\x1b[Kportkit: retrying list pods (2/8): connection refused\n" in out
    assert out.endswith("\r\x1b[K")  # closed: the line is gone

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with Status("export", total=40, interval=0.01) as status:
        status.update(12)
        time.sleep(0.05)
        write_err("a notice")
    assert piped.getvalue() == "a notice\n"  # nothing drawn when stderr is not a terminal


def test_status_shows_the_requests_of_its_clusters() -> None:
    class Stats:
        requests = 1234

    class Fake:
        stats = Stats()

    status = Status("plan", clusters=[Fake()], stream=Tty(), enabled=True)
    status.update(note="5000 objects")
    assert status.text().startswith("plan · 5000 objects · 1234 requests · ")


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connections are refused


def _cluster(server: str, attempts: int = 3) -> Cluster:
    from kubernetes.client import Configuration

    config = Configuration()
    config.host = server
    return Cluster(config, name="t", retry=RetryPolicy(attempts=attempts, initial=0.01, max_wait=0.05))


def test_the_cluster_tells_its_listener_about_every_retry() -> None:
    cluster = _cluster(f"http://127.0.0.1:{_refused_port()}")
    notices: list[RetryNotice] = []
    cluster.on_retry = notices.append
    try:
        with pytest.raises(ClusterUnreachableError):
            cluster.request("GET", "/version", action="read the version")
    finally:
        cluster.close()
    assert [(n.action, n.attempt, n.attempts) for n in notices] == [
        ("read the version", 2, 3),
        ("read the version", 3, 3),
    ]
    assert "cannot reach" in notices[0].reason and not cluster.answered
    assert cluster.stats.retries == 2


@pytest.fixture
def version_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"gitVersion": "v1.34.4"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_answered_once_the_server_answers(version_server: str) -> None:
    cluster = _cluster(version_server)
    try:
        assert not cluster.answered
        assert cluster.server_version() == "v1.34.4"
        assert cluster.answered
    finally:
        cluster.close()


def test_watch_reports_retries_through_the_cli_logger(caplog: pytest.LogCaptureFixture) -> None:
    cluster = _cluster(f"http://127.0.0.1:{_refused_port()}", attempts=4)
    caplog.set_level(logging.INFO, logger="portkit.cli")
    try:
        with watch_cluster(cluster), pytest.raises(ClusterUnreachableError):
            cluster.request("GET", "/api", action="GET /api")
    finally:
        cluster.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "portkit.cli"]
    assert lines and lines[0].startswith("retrying GET /api (2/4): cannot reach the API server at http://127.0.0.1:")
    assert cluster.on_retry is None  # the listener is removed after the block


def test_watch_says_within_a_second_that_a_server_does_not_answer(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        from kubernetes.client import Configuration

        config = Configuration()
        config.host = f"http://127.0.0.1:{silent.getsockname()[1]}"
        cluster = Cluster(config, retry=RetryPolicy(attempts=1), timeout=2.5)
        caplog.set_level(logging.INFO, logger="portkit.cli")
        started = time.monotonic()
        seen: list[float] = []

        def note_first_line() -> None:
            while not seen and time.monotonic() - started < 3:
                if any("no answer yet" in r.getMessage() for r in caplog.records):
                    seen.append(time.monotonic() - started)
                time.sleep(0.02)

        watcher = threading.Thread(target=note_first_line)
        watcher.start()
        try:
            with watch_cluster(cluster), pytest.raises(ClusterUnreachableError):
                cluster.request("GET", "/version")
        finally:
            watcher.join()
            cluster.close()
    assert seen and seen[0] < 1.5, seen
    message = next(r.getMessage() for r in caplog.records if "no answer yet" in r.getMessage())
    assert message.startswith(f"no answer yet from the API server at {config.host} after 1 s")


def test_the_cli_says_so_within_a_second_of_its_first_request(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{silent.getsockname()[1]}'}}}}]\n"
            "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
        )
        manifest = tmp_path / "cm.yaml"
        manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "portkit", "plan", str(manifest), "--kubeconfig", str(kubeconfig)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            ready, _, _ = select.select([proc.stderr], [], [], 10)  # not the 60 s request timeout
            first = proc.stderr.readline() if ready else ""
            elapsed = time.monotonic() - started
        finally:
            proc.kill()
            proc.wait(timeout=30)
            if proc.stderr is not None:
                proc.stderr.close()
    assert first.startswith("portkit: no answer yet from the API server at http://127.0.0.1:"), first
    # within a second of the request: the rest is the interpreter starting and importing (about 1 s here)
    assert elapsed < 4, elapsed


def test_piped_commands_draw_no_progress(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "portkit", "translate", str(Path(__file__).parent / "golden" / "apps" / "aws-shop.yaml"),
         "--to", "ionos", "-d", str(tmp_path / "o")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    assert proc.stderr.strip().startswith("portkit: source provider detected: aws")
