"""``portkit demo --offline``: translate, lint and plan the sample shop against a RECORDED IONOS-looking target.

No Go, no cluster, no network, seconds: the shop's manifests (package data) are read as a GitOps repository
would be, translated from AWS to IONOS with the demo's registry mapping, linted for AWS residue, and planned
against :data:`portkit.demo_data.RECORDED_IONOS` through a read-only :class:`portkit.recording.RecordedCluster`.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from portkit.recording import Recording

__all__ = ["CHECKED", "NOT_CHECKED", "OfflineDemo", "run_offline"]

#: What a plan against a recording checks (printed with every offline plan).
CHECKED = (
    "every kind is served by the target, or its CRD comes with the bundle (discovery as recorded)",
    "the StorageClasses, IngressClasses, PriorityClasses and namespaces the objects name exist (and a default "
    "StorageClass for claims that name none)",
    "which cluster-scoped objects already exist there (create / update / unchanged, with their diffs)",
)

#: What a plan against a recording cannot tell (printed with every offline plan).
NOT_CHECKED = (
    "no server-side dry run: validation, defaulting, admission webhooks and policies, quotas and immutable "
    "fields are checked only by a live API server",
    "the target as recorded, not as it is now: anything created or deleted since is not seen",
    "objects inside namespaces that already exist in the target are not recorded (the shop's namespace is new)",
    "not the real user's permissions (the recording was made as cluster admin)",
    "nothing runs: scheduling, images, volume data and load-balancer addresses are for `portkit demo`",
)


@attrs.frozen
class OfflineDemo:
    """The result of ``portkit demo --offline``: the translation (with lint residue) and the plan."""

    translation: Any
    plan: Any
    recording: Recording
    workdir: Path
    seconds: float

    @property
    def ok(self) -> bool:
        """True when the plan has no blockers."""
        return bool(self.plan.ok)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict form (``-o json``)."""
        return {
            "demo": "offline",
            "ok": self.ok,
            "source_provider": self.translation.source,
            "target_provider": self.translation.target,
            "target": {
                "recorded": True,
                "name": self.recording.name,
                "description": self.recording.description,
                "recorded_at": self.recording.recorded_at,
                "server_version": self.recording.server_version,
            },
            "checked": list(CHECKED),
            "not_checked": list(NOT_CHECKED),
            "translation": self.translation.to_dict(),
            "plan": self.plan.to_dict(),
            "workdir": str(self.workdir),
            "seconds": round(self.seconds, 2),
        }

    def to_text(self) -> str:
        """The three steps, the recorded target named as such, and what the plan could not check."""
        lines = [
            f"portkit demo --offline: the sample shop from {self.translation.source} to {self.translation.target}, "
            "without a cluster.",
            "",
            "== 1. translate and lint (pure: the same result as against any cluster)",
            self.translation.to_text().rstrip("\n"),
            "",
            f"== 2. plan against the {self.recording.summary()}",
            f"The target: {self.recording.description}.",
            "Nothing was contacted: the target's discovery documents and cluster-scoped objects come from that "
            "recording.",
            self.plan.to_text().rstrip("\n"),
            "",
            "What the plan checked against the recording:",
            *(f"  - {item}" for item in CHECKED),
            "What a plan against a recording cannot tell:",
            *(f"  - {item}" for item in NOT_CHECKED),
            "",
            f"Done in {self.seconds:.1f} s. Files: {self.workdir} (translated/, translation.json, plan.json).",
            "Next: `portkit demo` runs the whole migration, volumes included, on two real local clusters "
            "(needs Go, root and the [local] extra).",
        ]
        return "\n".join(lines)


def run_offline(
    sample: Path, recording_path: Path, mappings: dict[str, Any], workdir: Path | None, say: Callable[[str], None]
) -> OfflineDemo:
    """Translate, lint and plan ``sample/app`` against the recording; write the files into ``workdir``."""
    from portkit.bundle import Bundle
    from portkit.recording import RecordedCluster
    from portkit.replay import plan
    from portkit.translate import lint_residue, translate

    started = time.monotonic()
    work = workdir or Path(tempfile.mkdtemp(prefix="portkit-demo-offline-"))
    say(f"reading the sample shop's manifests ({sample / 'app'})")
    bundle = Bundle.from_manifests([sample / "app"])
    say(f"translating {len(bundle)} objects from aws to ionos and linting what is left of AWS")
    t = translate(bundle, source="aws", target="ionos", mappings=mappings)
    t = attrs.evolve(t, residue=tuple(lint_residue(t, "aws", "ionos", mappings)))
    t.bundle.save(work / "translated")
    _write_json(work / "translation.json", t.to_dict())
    target = RecordedCluster.load(recording_path)
    say(f"planning against the {target.recording.summary()}")
    p = plan(t.bundle, target, dry_run_check=False)
    _write_json(work / "plan.json", p.to_dict())
    return OfflineDemo(
        translation=t, plan=p, recording=target.recording, workdir=work, seconds=time.monotonic() - started
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
