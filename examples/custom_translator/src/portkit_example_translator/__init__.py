"""An example portkit translator plugin: ``team`` labels and a cost-center annotation per namespace.

Installed, it is found through the entry point group ``portkit.translators`` (see ``pyproject.toml``) and
runs in every ``portkit translate`` / ``portkit migrate`` / :func:`portkit.translate`. Every change it makes
goes through the :class:`portkit.translate.Item` helpers, so it shows up in the translation report as a
:class:`portkit.Change` with ``translator="team-labels"``.
"""

from __future__ import annotations

from portkit_example_translator.teams import TeamLabels, Teams, load_teams

__all__ = ["TeamLabels", "Teams", "load_teams"]
__version__ = "0.1.0"
