"""``portkit demo``: migrate a sample shop from an AWS-looking local cluster to an IONOS-looking one."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from portkit.cli._common import EXIT_FAILED, EXIT_OK, add_observe_flags, add_output_flag, emit
from portkit.errors import ConfigurationError

#: Registry rewrite the demo uses (the ECR images of the sample move to a European registry).
DEMO_MAPPINGS = {"images": {"123456789012.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example.eu/",
                            "public.ecr.aws/docker/library/": "docker.io/library/"}}


def examples_dir() -> Path:
    """The sample application (``examples/shop-eks`` of a portkit checkout)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "shop-eks"
        if candidate.is_dir():
            return candidate
    raise ConfigurationError(
        "The demo's sample application (examples/shop-eks) was not found.",
        hint="Run the demo from a portkit source checkout: bash scripts/demo.sh",
    )


def register(sub: Any) -> None:
    """Add ``demo``."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="migrate a sample shop between two real local clusters",
        description="Start two local clusters (an AWS-looking source and an IONOS-looking target), install the "
        "sample shop (examples/shop-eks) in the source, migrate namespace 'shop', print the report.",
    )
    p.add_argument("--workdir", type=Path, default=None, help="where the migration keeps its files")
    p.add_argument("--keep", action="store_true", help="leave both clusters running afterwards")
    p.add_argument("--no-volumes", action="store_true",
                   help="skip the Velero volume move (faster: Velero checks the shared store once a minute)")
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
    objs = [o for r in cluster.resources(namespaced=True, verb="list")
            if r.kind in ("Deployment", "StatefulSet", "PersistentVolumeClaim")
            for o in cluster.list(r, namespace)]
    result = wait_ready(cluster, objs, timeout=timeout)
    if not result.ready_all:
        raise ConfigurationError(f"The sample shop did not become ready in the source cluster: {result.to_text()}")


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    from portkit.migration import Migration
    from portkit.testing import LocalCluster, start_all

    sample = examples_dir()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="portkit-demo-"))
    store = workdir / "velero-store"  # the object store both Velero servers share
    velero = not args.no_volumes
    clusters = {
        "source": LocalCluster(name="demo-source", provider="aws", data_dir=workdir / "clusters" / "source",
                               detach=args.keep, progress=_say, velero=velero, velero_store=store),
        "target": LocalCluster(name="demo-target", provider="ionos", data_dir=workdir / "clusters" / "target",
                               detach=args.keep, progress=_say, velero=velero, velero_store=store),
    }
    started = time.monotonic()
    try:
        _say("starting two local clusters (source looks like AWS EKS, target like IONOS)"
             + (", each with a Velero server sharing one object store" if velero else ""))
        start_all(clusters.values())
        src, dst = clusters["source"], clusters["target"]
        _say(f"installing the sample shop from {sample} into the source")
        src.apply(sample / "source-platform")
        src.apply(sample / "app")
        _wait_rolled_out(src, "shop")
        dst.apply(sample / "target-platform")

        def on_event(event: Any) -> None:
            if event.kind in ("step_start", "step_end"):
                _say(event.message)
            if event.kind == "step_start" and event.step == "volumes" and velero:
                _say("Velero backup in the source, then restore in the target once the target's Velero sees "
                     "the backup in the shared store (it looks once a minute)")

        migration = Migration(
            source=src.cluster(), target=dst.cluster(), namespaces=["shop"], source_provider=None,
            target_provider="ionos", mappings=DEMO_MAPPINGS, workdir=workdir / "migration", on_event=on_event,
            timeout=180, volumes="velero" if velero else None,
            # no kubelet locally, so no volume bytes can move: Velero carries the claims and volumes only
            velero_options={"binary": str(velero_binary()), "data_path": "none"} if velero else None,
        )
        report = migration.run()
        emit(report, args.output_format)
        if args.output_format == "text":
            print(f"\nDemo finished in {time.monotonic() - started:.0f} s.")
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
