"""The code is kept in ``ruff format``'s style, and ``scripts/test.sh`` (what CI runs) checks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_test_script_checks_the_formatting_after_the_lint() -> None:
    lines = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8").splitlines()

    def where(text: str) -> int:
        found = [i for i, line in enumerate(lines) if text in line and not line.lstrip().startswith("#")]
        assert found, f"scripts/test.sh does not run {text!r}"
        return found[0]

    assert where("ruff check .") < where("ruff format --check .") < where("python -m pytest")


def test_the_repository_is_formatted() -> None:
    """Run ``ruff format .`` when this fails (``# fmt: skip`` keeps a hand-laid line as it is)."""
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
