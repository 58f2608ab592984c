"""``portkit demo``: migrate a sample shop from an AWS-looking local cluster to an IONOS-looking one.

``portkit demo --offline`` instead translates, lints and plans the shop against a recorded IONOS-looking
target (see :mod:`portkit.cli.commands._demo_offline`): no Go, no cluster, seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from portkit.cli._common import EXIT_FAILED, EXIT_OK, Subparsers, add_observe_flags, add_output_flag, emit
from portkit.errors import ConfigurationError, LocalClusterError

#: Registry rewrite the demo uses (the ECR images of the sample move to a European registry).
DEMO_MAPPINGS = {
    "images": {
        "123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/",
        "public.ecr.aws/docker/library/": "docker.io/library/",
    }
}


def examples_dir() -> Path:
    """The sample application: package data (``portkit/demo_data/shop-eks``; ``examples/shop-eks`` in a checkout
    is a link to it), so the demo runs from a wheel as well as from a source checkout."""
    from portkit.demo_data import shop_dir

    return shop_dir()


# No registry is reachable from the local clusters, so the shop's images are stand-ins made from a real busybox
# and loaded into the real nodes under the names the pods ask for (the source's ECR names, the target's names
# after the registry rewrite), the way a registry mirror would serve them. They really run: the web and orders
# tiers answer HTTP health checks, orders writes uploaded files and the database writes its files into their
# volumes, which the migration then moves and verifies byte for byte.
_SERVE = """mkdir -p /tmp/www && echo ok > /tmp/www/healthz && echo '<h1>shop</h1>' > /tmp/www/index.html
httpd -f -p 8080 -h /tmp/www &
trap 'kill $!; exit 0' TERM INT
wait
"""
_WEB = _SERVE
_ORDERS = (
    """if [ ! -f /srv/uploads/.seeded ]; then
  mkdir -p /srv/uploads/2026/11 /srv/uploads/2026/12
  i=0
  while [ $i -lt 60 ]; do
    dd if=/dev/urandom of=/srv/uploads/2026/1$((i % 2 + 1))/img$i.jpg bs=8k count=$((i % 16 + 1)) 2>/dev/null
    i=$((i + 1))
  done
  touch /srv/uploads/.seeded
fi
"""
    + _SERVE
)
_DB = """D=/var/lib/postgresql/data
if [ ! -f $D/PG_VERSION ]; then
  mkdir -p $D/base/16384 $D/pg_wal && echo 16 > $D/PG_VERSION
  i=0
  while [ $i -lt 40 ]; do
    dd if=/dev/urandom of=$D/base/16384/$((16400 + i)) bs=64k count=$((i % 8 + 1)) 2>/dev/null
    i=$((i + 1))
  done
  dd if=/dev/urandom of=$D/pg_wal/000000010000000000000001 bs=1M count=16 2>/dev/null
  chmod 0700 $D
fi
sleep 2147483647 &
trap 'kill $!; exit 0' TERM INT
wait
"""
STAND_INS = {
    "123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop/web:2.4.1": _WEB,
    "123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop/orders:1.9.0": _ORDERS,
    "public.ecr.aws/docker/library/postgres:16": _DB,
}


def _mapped(ref: str) -> str:
    for old, new in DEMO_MAPPINGS["images"].items():
        if ref.startswith(old):
            return new + ref[len(old) :]
    return ref


def load_stand_ins(src: Any, dst: Any, workdir: Path) -> None:
    """Make the stand-in images and load them into both clusters' real nodes under the names pods use."""
    from portkit.testing.images import busybox_app_image

    for i, (ref, script) in enumerate(sorted(STAND_INS.items())):
        archive = busybox_app_image(ref, script, workdir / "images" / f"app-{i}.tar")
        src.load_image(archive)
        dst.load_image(archive, name=_mapped(ref))


def register(sub: Subparsers) -> None:
    """Add ``demo``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="migrate a sample shop between two real local clusters (--offline: no cluster, seconds)",
        description="Start two local clusters (an AWS-looking source and an IONOS-looking target, each with a real "
        "node: a kubelet and containerd that really run the pods), install the sample shop (shipped with portkit; "
        "examples/shop-eks in a checkout) in the source, let it write its data, and migrate namespace 'shop' with "
        "its volumes (Velero file-system backup, the source quiesced during the copy), then prove the data arrived "
        "(files, bytes, digests) and print the report with the downtime. Needs root, Go (the first run builds "
        "Kubernetes, kwok and Velero, about 20 minutes on 2 cores) and the [local] extra. --offline needs none of "
        "them: it translates, lints and plans the shop against a RECORDED IONOS-looking target in seconds.",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="translate, lint and plan against a recorded target: no Go, no cluster, no root, seconds",
    )
    p.add_argument("--workdir", type=Path, default=None, help="where the demo keeps its files")
    p.add_argument("--keep", action="store_true", help="leave both clusters running afterwards")
    p.add_argument(
        "--no-volumes",
        action="store_true",
        help="skip the Velero volume move and the data verification (faster: Velero checks the shared "
        "store once a minute; the target's volumes then start empty)",
    )
    add_output_flag(p)
    add_observe_flags(p, serve=True)
    p.set_defaults(func=run)


def velero_binary() -> Any:
    """The Velero CLI built for the local clusters."""
    from portkit.testing.velero import ensure_velero

    return ensure_velero(_say).velero


def _say(message: str) -> None:
    print(f"portkit demo: {message}", file=sys.stderr, flush=True)


def _wait_rolled_out(lc: Any, namespace: str, timeout: float = 120.0) -> None:
    from portkit.replay import wait_ready

    cluster = lc.cluster()
    objs = [
        o
        for r in cluster.resources(namespaced=True, verb="list")
        if r.kind in ("Deployment", "StatefulSet", "PersistentVolumeClaim")
        for o in cluster.list(r, namespace)
    ]
    result = wait_ready(cluster, objs, timeout=timeout)
    if not result.ready_all:
        raise ConfigurationError(f"The sample shop did not become ready in the source cluster: {result.to_text()}")


def run(args: argparse.Namespace) -> int:
    """Run the demo (``--offline``: against the recorded target)."""
    if args.offline:
        if args.keep or args.no_volumes:
            raise ConfigurationError(
                "--keep and --no-volumes are options of the demo on local clusters; --offline starts none.",
                hint="Drop them, or run `portkit demo` without --offline.",
            )
        return _run_offline(args)
    velero = not args.no_volumes
    problems = _prerequisites(velero=velero)
    if problems:
        raise LocalClusterError(
            "portkit demo starts two real local clusters, and this machine is not ready for them: "
            + " ".join(problems),
            hint="Or run `portkit demo --offline`: translate, lint and plan against a recorded IONOS-looking target "
            "(no Go, no cluster, no root; seconds).",
        )
    return _run_live(args, velero)


def _prerequisites(*, velero: bool) -> list[str]:
    from portkit.testing.prerequisites import missing, missing_builds

    problems = missing(velero=velero, real_nodes=True)
    if not problems:
        builds = missing_builds(velero=velero, real_nodes=True)
        if builds:
            _say(
                f"first run: building {', '.join(builds)} from Go modules (about 20 minutes on 2 cores, cached "
                "afterwards); progress follows"
            )
    return problems


def _run_offline(args: argparse.Namespace) -> int:
    from portkit.cli.commands._demo_offline import run_offline
    from portkit.demo_data import RECORDED_IONOS

    result = run_offline(examples_dir(), RECORDED_IONOS, DEMO_MAPPINGS, args.workdir, _say)
    emit(result, args.output_format)
    return EXIT_OK if result.ok else EXIT_FAILED


def _run_live(args: argparse.Namespace, velero: bool) -> int:
    from portkit.migration import Migration
    from portkit.testing import LocalCluster, start_all

    sample = examples_dir()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="portkit-demo-"))
    store = workdir / "velero-store"  # the object store both Velero servers share
    clusters = {
        "source": LocalCluster(
            name="demo-source",
            provider="aws",
            data_dir=workdir / "clusters" / "source",
            nodes=0,
            real_nodes=1,
            detach=args.keep,
            progress=_say,
            velero=velero,
            velero_store=store,
        ),
        "target": LocalCluster(
            name="demo-target",
            provider="ionos",
            data_dir=workdir / "clusters" / "target",
            nodes=0,
            real_nodes=1,
            detach=args.keep,
            progress=_say,
            velero=velero,
            velero_store=store,
        ),
    }
    started = time.monotonic()
    try:
        _say(
            "starting two local clusters (source looks like AWS EKS, target like IONOS), each with a real node"
            + (" and a Velero server; both share one object store" if velero else "")
        )
        start_all(clusters.values())
        src, dst = clusters["source"], clusters["target"]
        _say("loading the shop's (stand-in) images into the real nodes")
        load_stand_ins(src, dst, workdir)
        _say(f"installing the sample shop from {sample} into the source")
        src.apply(sample / "source-platform")
        src.apply(sample / "app")
        _wait_rolled_out(src, "shop")
        dst.apply(sample / "target-platform")

        def on_event(event: Any) -> None:
            if event.kind in ("step_start", "step_end"):
                _say(event.message)
            if event.kind == "step_start" and event.step == "quiesce" and velero:
                _say("scaling the shop down in the source so its data stops changing (replicas recorded)")
            if event.kind == "step_start" and event.step == "volumes" and velero:
                _say(
                    "Velero file-system backup in the source (node agents read the volumes), then restore in the "
                    "target once the target's Velero sees the backup in the shared store (it looks once a minute)"
                )
            if event.kind == "step_start" and event.step == "verify_data":
                _say("comparing every volume's files in source and target (read-only checker pods)")

        migration = Migration(
            source=src.cluster(),
            target=dst.cluster(),
            namespaces=["shop"],
            source_provider=None,
            target_provider="ionos",
            mappings=DEMO_MAPPINGS,
            workdir=workdir / "migration",
            on_event=on_event,
            timeout=180,
            volumes="velero" if velero else None,
            quiesce=velero,
            verify_data=velero,
        )
        report = migration.run()
        emit(report, args.output_format)
        if args.output_format == "text":
            print(f"\nDemo finished in {time.monotonic() - started:.0f} s.")
            data = report.data_verified
            if data is not None:
                state = "all equal" if data.ok else "NOT equal"
                print(
                    f"Data: {data.files} files, {data.bytes / 2**20:.1f} MiB moved with Velero and verified in "
                    f"{len(data.claims)} volumes ({state}); downtime {report.downtime_seconds or 0:.0f} s."
                )
            print(f"Look at: {workdir / 'migration'} (export/, translated/, translation.json, plan.json, apply/)")
            if args.keep:
                print(f"Clusters still running: kubectl --kubeconfig {src.kubeconfig} get all -n shop")
                print(f"                        kubectl --kubeconfig {dst.kubeconfig} get all -n shop")
                print(f"Stop them: portkit local down --dir {workdir / 'clusters'}")
        return EXIT_OK if report.ok else EXIT_FAILED
    finally:
        if not args.keep:
            for lc in clusters.values():
                lc.stop()
