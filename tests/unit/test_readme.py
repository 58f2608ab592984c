"""The README's provider matrix is the one the profiles render (regenerate it when a profile changes)."""

from __future__ import annotations

from pathlib import Path

from portkit import profiles


def test_readme_provider_matrix_matches_the_profiles() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert profiles.matrix_markdown(profiles.providers()) in readme
