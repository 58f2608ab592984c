"""Benchmark: client CPU per request of portkit's transport against urllib3, on a LocalCluster.

The same N creates of small ConfigMaps, one at a time, through:

1. ``portkit._transport.Transport`` (what every Cluster uses: http.client connections in portkit's
   keep-alive pool, one write per request, strict framing checks), and
2. a bare ``urllib3.HTTPSConnectionPool`` with the same TLS files (the baseline: what portkit used before,
   minus its PoolManager layer).

Prints CPU microseconds per request of this process (``time.process_time``) and wall time per request.
At high concurrency the client's CPU competes with the API server's for the machine, so it bounds how fast
portkit can apply.

    python bench/transport.py              # 2,000 requests each
    python bench/transport.py --requests 500
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from urllib.parse import urlsplit

import urllib3

from portkit.testing import LocalCluster


def body(i: int, tag: str) -> bytes:
    """A small ConfigMap manifest."""
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{tag}-{i}"}, "data": {"a": "b" * 200}}
    return json.dumps(obj).encode()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="creates per client (default 2000)")
    args = parser.parse_args(argv)
    n = args.requests
    path = "/api/v1/namespaces/default/configmaps"
    figures: dict[str, dict[str, float]] = {}
    with LocalCluster(name="bench-transport", provider=None) as lc:
        cluster = lc.cluster()
        transport = cluster._transport  # the transport itself, without the retry layer on top
        cfg = transport._cfg
        url = urlsplit(str(cfg.host))
        pool = urllib3.HTTPSConnectionPool(
            url.hostname,
            url.port,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=cfg.ssl_ca_cert,
            cert_file=cfg.cert_file,
            key_file=cfg.key_file,
            retries=False,
        )

        def portkit_create(i: int) -> int:
            response = transport.request(
                "POST", path, body=body(i, "pk"), content_type="application/json", query={"fieldManager": "bench"}
            )
            return response.status

        def urllib3_create(i: int) -> int:
            response = pool.urlopen(
                "POST",
                path + "?fieldManager=bench",
                body=body(i, "u3"),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                assert_same_host=False,
                preload_content=True,
            )
            return int(response.status)

        for name, create in (("urllib3", urllib3_create), ("portkit", portkit_create)):
            create(-1)  # connect outside the measurement
            cpu, wall = time.process_time(), time.perf_counter()
            statuses = {create(i) for i in range(n)}
            figures[name] = {
                "cpu_us_per_request": (time.process_time() - cpu) / n * 1e6,
                "wall_us_per_request": (time.perf_counter() - wall) / n * 1e6,
            }
            if statuses != {201}:
                raise SystemExit(f"{name}: unexpected statuses {sorted(statuses)}")
        pool.close()
    for name, f in figures.items():
        print(f"{name:8s} {f['cpu_us_per_request']:6.0f} µs CPU / request, {f['wall_us_per_request']:6.0f} µs wall")
    ratio = figures["urllib3"]["cpu_us_per_request"] / figures["portkit"]["cpu_us_per_request"]
    print(f"client CPU per request: portkit uses {ratio:.1f}x less than urllib3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
