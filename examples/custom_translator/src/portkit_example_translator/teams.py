"""``team-labels``: label every migrated object with its owning team, annotate namespaces with a cost center.

The table maps *source* namespace names (the translation runs before a namespace map renames them) to a
team and a cost center. It comes from the YAML file named by ``$PORTKIT_TEAMS_FILE``::

    namespaces:
      shop: {team: web-shop, cost_center: CC-4711}
      billing: {team: payments, cost_center: CC-2001}
    default: {team: platform, cost_center: CC-0001}   # optional: namespaces not listed

or, when that variable is not set, from :data:`DEFAULT_TEAMS`. Objects in a namespace with no team (and no
default) are left alone and the translation gets one warning per such namespace. A ``team`` label the object
already has with another value is kept, with a warning: the plugin never silently overrides the source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from portkit.errors import ConfigurationError
from portkit.translate import BaseTranslator, Context, Item

__all__ = [
    "COST_CENTER_ANNOTATION",
    "DEFAULT_TEAMS",
    "ENV_VAR",
    "TEAM_LABEL",
    "Team",
    "TeamLabels",
    "Teams",
    "load_teams",
]

TEAM_LABEL = "team"
COST_CENTER_ANNOTATION = "example.com/cost-center"
ENV_VAR = "PORTKIT_TEAMS_FILE"

#: Where the pod template's metadata is, per workload kind (pods get the label too: cost tools such as
#: OpenCost aggregate by pod label).
_TEMPLATE_META: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "metadata"),
    "StatefulSet": ("spec", "template", "metadata"),
    "DaemonSet": ("spec", "template", "metadata"),
    "ReplicaSet": ("spec", "template", "metadata"),
    "Job": ("spec", "template", "metadata"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "metadata"),
}


@dataclass(frozen=True)
class Team:
    """Who owns a namespace and which cost center pays for it."""

    name: str
    cost_center: str


@dataclass(frozen=True)
class Teams:
    """The namespace → team table (and an optional default for namespaces not listed)."""

    namespaces: Mapping[str, Team]
    default: Team | None = None

    def for_namespace(self, namespace: str) -> Team | None:
        """The team owning ``namespace`` (the default when not listed; None when there is neither)."""
        return self.namespaces.get(namespace, self.default)

    @classmethod
    def from_dict(cls, data: Any, where: str = "team table") -> Teams:
        """Build from ``{"namespaces": {ns: {"team": ..., "cost_center": ...}}, "default": {...}}``."""
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{where}: expected a mapping with 'namespaces' (and optionally 'default').")
        unknown = set(data) - {"namespaces", "default"}
        if unknown:
            raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}; use 'namespaces' and 'default'.")
        raw = data.get("namespaces") or {}
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"{where}: 'namespaces' must map namespace names to {{team, cost_center}}.")
        table = {str(ns): _team(entry, f"{where}: namespace {ns}") for ns, entry in raw.items()}
        default = data.get("default")
        return cls(table, _team(default, f"{where}: default") if default is not None else None)


def _team(entry: Any, where: str) -> Team:
    if not isinstance(entry, Mapping) or not entry.get("team") or not entry.get("cost_center"):
        raise ConfigurationError(
            f"{where}: needs 'team' and 'cost_center', e.g. {{team: web-shop, cost_center: CC-4711}}."
        )
    return Team(str(entry["team"]), str(entry["cost_center"]))


#: The table used when ``$PORTKIT_TEAMS_FILE`` is not set (fits ``examples/shop-eks``).
DEFAULT_TEAMS = Teams({"shop": Team("web-shop", "CC-4711")})


def load_teams(path: str | os.PathLike[str] | None = None) -> Teams:
    """The team table from ``path``, else from ``$PORTKIT_TEAMS_FILE``, else :data:`DEFAULT_TEAMS`."""
    path = path or os.environ.get(ENV_VAR) or None
    if path is None:
        return DEFAULT_TEAMS
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the team table {path}: {exc.strerror}.", hint=f"Fix or unset ${ENV_VAR}."
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"the team table {path} is not valid YAML: {exc}.") from exc
    return Teams.from_dict(data, str(path))


class TeamLabels(BaseTranslator):
    """Adds ``team=<team>`` to every namespaced object (and its pods) and a cost-center annotation to
    Namespaces, from a namespace → team table.

    Args:
        teams: the table; None: read it at the start of every translation (see :func:`load_teams`).
    """

    name = "team-labels"
    order = 95  # after the built-in translators, before the user's rules (100), which may still override it
    kinds = None  # every kind
    description = "team label and cost-center annotation from a namespace → team table"

    def __init__(self, teams: Teams | Mapping[str, Any] | None = None) -> None:
        self._fixed = Teams.from_dict(teams) if isinstance(teams, Mapping) else teams

    def begin(self, ctx: Context) -> None:
        """Load the table for this translation (kept in ``ctx.state``: one instance serves every translation)."""
        ctx.state[self.name] = self._fixed if self._fixed is not None else load_teams()

    def translate(self, item: Item, ctx: Context) -> None:
        """Label one object (see the module docstring)."""
        teams: Teams = ctx.state[self.name]
        namespace = item.name if item.kind == "Namespace" else item.namespace
        if not namespace:
            return  # cluster-scoped: no owner by namespace
        team = teams.for_namespace(namespace)
        if team is None:
            ctx.warn(
                None,
                f"namespace {namespace} has no team in the team table: its objects get no "
                f"{TEAM_LABEL} label (add it to ${ENV_VAR})",
            )
            return
        self._label(item, ("metadata", "labels"), team)
        template = _TEMPLATE_META.get(item.kind)
        if template is not None:
            self._label(item, (*template, "labels"), team)
        if item.kind == "Namespace":
            item.set(
                ("metadata", "annotations", COST_CENTER_ANNOTATION),
                team.cost_center,
                f"cost center of team {team.name}",
            )

    @staticmethod
    def _label(item: Item, labels: tuple[str, ...], team: Team) -> None:
        current = item.get(*labels, TEAM_LABEL)
        if current is not None and current != team.name:
            item.warn(f"keeps its {TEAM_LABEL}={current} label (the team table says {team.name})")
            return
        item.set((*labels, TEAM_LABEL), team.name, f"namespace {item.namespace or item.name} belongs to {team.name}")
