"""Provider profiles: what is specific to each provider, as validated data files.

One YAML file per provider lives next to this module (``aws.yaml``, ``ionos.yaml``, ...). Each holds the
provider's storage classes, load-balancer and ingress vocabulary, identity keys, topology, registry hosts,
provider-only kinds and what a local test cluster of that provider looks like. Values the research catalog
could only see in community manifests, or could not confirm, carry ``confidence: community|unverified``.

>>> from portkit import profiles
>>> profiles.load("hetzner").storage.default().min_size
'10Gi'
>>> profiles.load("rook-ceph+metallb").aspects()
['storage', 'load_balancer']
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from portkit.errors import TranslationError, UnknownProviderError
from portkit.profiles._load import parse_profile, read_profile_file
from portkit.profiles._matrix import matrix_markdown
from portkit.profiles._model import (
    LB_CONCEPTS,
    TIERS,
    ConceptBinding,
    IdentityProfile,
    IngressEquivalent,
    IngressProfile,
    LoadBalancerProfile,
    Profile,
    ProviderKind,
    ProviderResource,
    Registry,
    ServiceImage,
    SnapshotClassSpec,
    StorageClassSpec,
    StorageProfile,
    TopologyProfile,
)
from portkit.profiles._quantity import format_gi, parse_quantity

__all__ = [
    "LB_CONCEPTS",
    "TIERS",
    "ConceptBinding",
    "IdentityProfile",
    "IngressEquivalent",
    "IngressProfile",
    "LoadBalancerProfile",
    "Profile",
    "ProviderKind",
    "ProviderResource",
    "ProviderTable",
    "Registry",
    "ServiceImage",
    "SnapshotClassSpec",
    "StorageClassSpec",
    "StorageProfile",
    "TopologyProfile",
    "aliases",
    "combine",
    "detect_provider",
    "format_gi",
    "load",
    "local_cluster_spec",
    "matrix_markdown",
    "names",
    "parse_profile",
    "parse_quantity",
    "providers",
    "register_profile",
    "resolve",
    "unregister_profile",
]

_DIR = Path(__file__).parent
_LOCK = threading.Lock()
_EXTRA: dict[str, Profile] = {}
#: Other names of built-in profiles. plusserver's PSKE is Gardener on OpenStack with exactly the
#: ``openstack`` profile's StorageClasses (csi-cinder-sc-delete/-retain), OpenStack CCM load-balancer
#: annotations and Gardener worker-pool labels (docs.plusserver.com PSKE storage and load-balancer pages).
_ALIASES: dict[str, str] = {"plusserver": "openstack", "pske": "openstack"}


@functools.lru_cache(maxsize=1)
def _builtin_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(_DIR.glob("*.yaml"))}


@functools.cache
def _load_builtin(name: str) -> Profile:
    path = _builtin_files().get(name)
    if path is None:
        raise KeyError(name)
    return read_profile_file(path)


@functools.lru_cache(maxsize=1)
def _plugin_profiles() -> dict[str, Profile]:
    """Profiles from the ``portkit.profiles`` entry point group (each yields a path or a Profile); read once."""
    from importlib.metadata import entry_points

    out: dict[str, Profile] = {}
    for ep in entry_points(group="portkit.profiles"):
        try:
            obj = ep.load()
            value = obj() if callable(obj) and not isinstance(obj, Profile) else obj
        except Exception as exc:  # a broken plugin names itself
            raise TranslationError(f"provider profile plugin {ep.name!r} failed to load: {exc}.") from exc
        if isinstance(value, Profile):
            out[value.name] = value
        elif isinstance(value, str | Path):
            prof = read_profile_file(Path(value))
            out[prof.name] = prof
    return out


def register_profile(profile: Profile | dict[str, Any]) -> Profile:
    """Add a profile at run time (a :class:`Profile` or the dict form of a profile file)."""
    prof = profile if isinstance(profile, Profile) else parse_profile(profile, "<registered>")
    with _LOCK:
        _EXTRA[prof.name] = prof
    return prof


def unregister_profile(name: str) -> None:
    """Remove a profile added with :func:`register_profile`."""
    with _LOCK:
        _EXTRA.pop(name, None)


def names() -> list[str]:
    """Names of every known profile: built in, from plugins, registered at run time."""
    found = set(_builtin_files()) | set(_EXTRA)
    found |= set(_plugin_profiles())
    return sorted(found)


def aliases() -> dict[str, str]:
    """Other names accepted for built-in profiles (``plusserver`` → ``openstack``)."""
    return dict(_ALIASES)


def _single(name: str) -> Profile:
    with _LOCK:
        if name in _EXTRA:
            return _EXTRA[name]
    try:
        return _load_builtin(name)
    except KeyError:
        pass
    plugins = _plugin_profiles()
    if name in plugins:
        return plugins[name]
    if name in _ALIASES:
        return _single(_ALIASES[name])
    raise UnknownProviderError(
        f"unknown provider {name!r}.",
        hint=f"Known providers: {', '.join(names())}; other names: "
        f"{', '.join(f'{a} ({t})' for a, t in sorted(_ALIASES.items()))} (see `portkit providers`).",
    )


def load(name: str | Sequence[str]) -> Profile:
    """The profile called ``name``; ``"rook-ceph+metallb"`` or a list combines several (see :func:`combine`)."""
    parts = [name] if isinstance(name, str) else list(name)
    flat = [p.strip().lower() for part in parts for p in str(part).split("+") if p.strip()]
    if not flat:
        raise UnknownProviderError("no provider given.", hint="Name one, e.g. --to ionos or --to rook-ceph+metallb.")
    if len(flat) == 1:
        return _single(flat[0])
    return combine([_single(n) for n in flat])


def resolve(name: str | Sequence[str] | Profile) -> Profile:
    """Like :func:`load`, but a :class:`Profile` passes through."""
    return name if isinstance(name, Profile) else load(name)


def combine(profiles: Sequence[Profile]) -> Profile:
    """One profile made of several: each aspect (storage, load balancer, ...) from the first that has it.

    Registries, provider-only kinds and prefixes are merged.
    """
    if len(profiles) == 1:
        return profiles[0]

    def first(attr: str) -> Any:
        for p in profiles:
            value = getattr(p, attr)
            if value is not None:
                return value
        return None

    def merged(attr: str) -> tuple[Any, ...]:
        out: list[Any] = []
        for p in profiles:
            for item in getattr(p, attr):
                if item not in out:
                    out.append(item)
        return tuple(out)

    roles = tuple(r for r in ("source", "target") if all(r in p.roles for p in profiles))
    return Profile(
        name="+".join(p.name for p in profiles),
        display_name=" + ".join(p.display_name for p in profiles),
        category="platform" if any(p.category == "platform" for p in profiles) else profiles[0].category,
        roles=roles,
        summary="; ".join(p.summary for p in profiles if p.summary),
        storage=first("storage"),
        load_balancer=first("load_balancer"),
        ingress=first("ingress"),
        identity=first("identity"),
        topology=first("topology"),
        registries=merged("registries"),
        provider_kinds=merged("provider_kinds"),
        provider_resources=merged("provider_resources"),
        annotation_prefixes=merged("annotation_prefixes"),
        label_prefixes=merged("label_prefixes"),
        service_images=merged("service_images"),
        detect_node_label_keys=merged("detect_node_label_keys"),
        detect_provisioners=merged("detect_provisioners"),
        detect_api_groups=merged("detect_api_groups"),
        local_cluster=first("local_cluster") or {},
        unverified=merged("unverified"),
        members=tuple(n for p in profiles for n in p.members),
        source_file=",".join(p.source_file for p in profiles),
    )


def detect_provider(
    node_labels: Iterable[dict[str, str]] = (),
    provisioners: Iterable[str] = (),
    api_groups: Iterable[str] = (),
) -> str | None:
    """Guess which provider a cluster runs on from its nodes' labels, CSI provisioners and API groups.

    Platforms (EKS, GKE, IONOS, OpenShift, ...) are scored by API groups (3 points each), provisioners
    (2) and node label keys (1). The best platform wins; with none, storage and load-balancer add-ons
    found are joined (``"rook-ceph+metallb"``). None when nothing matches.
    """
    keys = {k for labels in node_labels for k in labels}
    provs = set(provisioners)
    groups = set(api_groups)

    def score(p: Profile) -> int:
        total = 3 * sum(1 for g in p.detect_api_groups if g in groups)
        total += 2 * sum(1 for pr in p.detect_provisioners if pr in provs)
        for key in p.detect_node_label_keys:
            if key.endswith("/"):
                total += int(any(k.startswith(key) for k in keys))
            else:
                total += int(key in keys)
        return total

    best: tuple[int, str] | None = None
    addons: list[tuple[int, str, str]] = []
    for name in names():
        prof = _single(name)
        s = score(prof)
        if s <= 0:
            continue
        if prof.category == "platform":
            if best is None or s > best[0]:
                best = (s, name)
        else:
            addons.append((0 if prof.category == "storage" else 1, name, prof.category))
    if best is not None:
        return best[1]
    if addons:
        chosen: dict[str, str] = {}
        for _, name, cat in sorted(addons):
            chosen.setdefault(cat, name)
        return "+".join(chosen.values())
    return None


def local_cluster_spec(name: str) -> dict[str, Any]:
    """What a local test cluster of provider ``name`` looks like.

    Returns ``{"nodes": [{"name", "labels"}], "storage_classes": [manifests],
    "volume_snapshot_classes": [manifests], "provisioners": [names]}``: 2-3 nodes in different zones with
    the provider's node labels, its StorageClasses (the default one annotated) and VolumeSnapshotClasses.
    """
    prof = load(name)
    local = dict(prof.local_cluster)
    zones = list(local.get("zones") or ["zone-a", "zone-b", "zone-c"])
    region = str(local.get("region") or "local")
    itype = str(local.get("instance_type") or "standard")
    name_pattern = str(local.get("node_name") or f"{prof.name}-node-{{i}}")
    extra = {str(k): str(v) for k, v in (local.get("labels") or {}).items()}
    nodes = []
    for i, zone in enumerate(zones):
        fmt = {"i": i + 1, "zone": zone, "region": region, "instance_type": itype}
        node_name = name_pattern.format(**fmt)
        labels = {
            "kubernetes.io/hostname": node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": itype,
            "topology.kubernetes.io/region": region,
            "topology.kubernetes.io/zone": zone,
        }
        for key, value in extra.items():
            labels[key] = value.format(**fmt)
        nodes.append({"name": node_name, "labels": labels})
    storage_classes: list[dict[str, Any]] = []
    snapshot_classes: list[dict[str, Any]] = []
    provisioners: list[str] = []
    if prof.storage is not None:
        wanted = local.get("storage_classes")
        for cls in prof.storage.classes:
            if (wanted and cls.name not in wanted) or (not wanted and cls.legacy):
                continue
            storage_classes.append(cls.manifest())
            if cls.provisioner not in provisioners:
                provisioners.append(cls.provisioner)
        wanted_snaps = local.get("snapshot_classes")
        for snap in prof.storage.snapshot_classes:
            if wanted_snaps is not None and snap.name not in wanted_snaps:
                continue
            snapshot_classes.append(snap.manifest())
    return {
        "nodes": nodes,
        "storage_classes": storage_classes,
        "volume_snapshot_classes": snapshot_classes,
        "provisioners": provisioners,
    }


class ProviderTable:
    """The known provider profiles, as :func:`providers` returns them (text, HTML and JSON views)."""

    def __init__(self, items: Sequence[Profile]) -> None:
        self.profiles: tuple[Profile, ...] = tuple(items)

    def __iter__(self) -> Any:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)

    def __getitem__(self, name: str) -> Profile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)

    def names(self) -> list[str]:
        """The profile names."""
        return [p.name for p in self.profiles]

    def _rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        for p in self.profiles:
            default = p.storage.default_class if p.storage is not None and p.storage.default_class else "-"
            lb = "-" if p.load_balancer is None else ("external" if p.load_balancer.external else "node IP")
            rows.append(
                (p.name, p.category, ",".join(p.roles), ",".join(p.aspects()), default, lb, str(len(p.unverified)))
            )
        return rows

    _HEADERS = ("name", "category", "roles", "aspects", "default class", "load balancer", "unverified notes")

    def to_text(self) -> str:
        """A table for terminals."""
        from portkit.display import text_table

        return text_table(list(self._HEADERS), self._rows())

    def __repr__(self) -> str:
        return f"<Providers {', '.join(self.names())}>"

    def _repr_html_(self) -> str:
        from portkit.display import html_table

        return html_table(list(self._HEADERS), self._rows(), title="Provider profiles")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"providers": [p.to_dict() for p in self.profiles]}


def providers() -> ProviderTable:
    """Every known provider profile (built in, from plugins, registered), loaded and validated."""
    return ProviderTable([load(n) for n in names()])
