"""Finding provider residue: what in a set of manifests is still specific to one provider.

Used by ``portkit lint`` (what would not survive the move), by source detection for bundles made from
plain manifests, and by the tests (after a translation no residue of the source may remain).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from portkit.model import ObjectRef, get_path, split_api_version
from portkit.profiles import Profile
from portkit.profiles import load as load_profile
from portkit.profiles import names as profile_names
from portkit.translate._util import containers, key_matches, pod_spec_path, pod_template_meta_path
from portkit.translate.portable import provider_items, provider_registry, target_owns

__all__ = ["detect_source", "detect_source_evidence", "find_residue", "unreported_items"]


def _owned_key(p: Profile, key: str, field: str) -> bool:
    if p.load_balancer is not None and p.load_balancer.owns_annotation(key) and field == "annotations":
        return True
    if p.ingress is not None and p.ingress.owns_annotation(key) and field == "annotations":
        return True
    if p.identity is not None and key in (
        *p.identity.service_account_annotations,
        *p.identity.service_account_labels,
        *p.identity.pod_labels,
        *p.identity.pod_annotations,
    ):
        return True
    prefixes = p.annotation_prefixes if field == "annotations" else p.label_prefixes
    return key_matches(key, prefixes)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _group_listed(groups: Iterable[str], group: str) -> bool:
    return any(g == group or (g.startswith("*.") and group.endswith(g[1:])) for g in groups)


def _residue(
    objects: Iterable[Mapping[str, Any]],
    profile: Profile,
    exclude: Profile | None,
    allowed: set[str],
) -> list[tuple[int, str]]:
    """(weight as evidence of ``profile``, description) for everything specific to ``profile``.

    Weights: a provider-only kind, API group, CSI driver or extended resource 3; an annotation, label, node
    label, toleration, class or an image on a private registry 2; a class name or a zone 1; an image on a
    registry that also serves public images (gcr.io) 0: it is no evidence of the provider.
    Wrong-typed fields are skipped, never a crash.
    """
    found: list[tuple[int, str]] = []
    storage = profile.storage
    topo = profile.topology
    kinds = list(profile.provider_kinds)
    drivers = set(storage.provisioners if storage else ()) | set(profile.detect_provisioners)
    if exclude is not None:
        drivers -= set(exclude.storage.provisioners if exclude.storage else ())

    def shared_key(key: str, field: str) -> bool:
        return exclude is not None and _owned_key(exclude, key, field)

    for obj in objects:
        ref = ObjectRef.from_obj(obj)
        where = str(ref)
        api = obj.get("apiVersion")
        group = split_api_version(api)[0] if isinstance(api, str) else ""
        matched = [k for k in kinds if k.matches(group, ref.kind)]
        if any(k.when_path is None or str(get_path(obj, *k.when_path.split("."))) in k.when_values for k in matched) or (  # noqa: E501
            group and _group_listed(profile.detect_api_groups, group)
            and not (exclude is not None and _group_listed(exclude.detect_api_groups, group))
        ):  # fmt: skip
            found.append((3, f"{where}: a kind only {profile.name} has"))
        metas: list[tuple[str, ...]] = [("metadata",)]
        tmpl = pod_template_meta_path(dict(obj))
        if tmpl and tmpl != ("metadata",):
            metas.append(tmpl)
        for path in metas:
            cur: Any = obj
            for step in path:
                cur = cur.get(step) if isinstance(cur, dict) else None
            if not isinstance(cur, dict):
                continue
            for field in ("annotations", "labels"):
                values = cur.get(field)
                for key, value in _mapping(values).items():
                    if not isinstance(key, str):
                        continue
                    if _owned_key(profile, key, field) and not shared_key(key, field):
                        found.append((2, f"{where}: {field[:-1]} {key}"))
                    elif key == "pv.kubernetes.io/provisioned-by" and value in drivers:
                        found.append((3, f"{where}: provisioned by {value}"))
        spec = _mapping(obj.get("spec"))
        if storage is not None:
            names = {c.name for c in storage.classes} - allowed
            if exclude is not None and exclude.storage is not None:
                names -= {c.name for c in exclude.storage.classes}
            claims = [spec] if ref.kind in ("PersistentVolumeClaim", "PersistentVolume") else []
            if ref.kind == "StatefulSet":
                claims += [_mapping(t.get("spec")) for t in _dicts(spec.get("volumeClaimTemplates"))]
            for c in claims:
                cls = c.get("storageClassName")
                if isinstance(cls, str) and cls in names:
                    found.append((1, f"{where}: storage class {cls}"))
        if ref.kind == "StorageClass" and obj.get("provisioner") in drivers:
            found.append((3, f"{where}: provisioner {obj['provisioner']}"))
        if ref.kind == "VolumeSnapshotClass" and obj.get("driver") in drivers:
            found.append((3, f"{where}: snapshot driver {obj['driver']}"))
        if ref.kind == "PersistentVolume":
            drv = _mapping(spec.get("csi")).get("driver")
            if isinstance(drv, str) and drv in drivers:
                found.append((3, f"{where}: CSI driver {drv}"))
        if profile.load_balancer is not None and ref.kind == "Service":
            cls = spec.get("loadBalancerClass")
            if isinstance(cls, str) and cls in profile.load_balancer.classes:
                found.append((2, f"{where}: loadBalancerClass {cls}"))
        if profile.ingress is not None and ref.kind == "Ingress":
            classes = set(profile.ingress.classes) - allowed
            ann = _mapping(_mapping(obj.get("metadata")).get("annotations")).get("kubernetes.io/ingress.class")
            for cls in (spec.get("ingressClassName"), ann):
                if isinstance(cls, str) and cls in classes:
                    found.append((2, f"{where}: ingress class {cls}"))
        if profile.ingress is not None and ref.kind == "IngressClass":
            ctrl = spec.get("controller")
            if (
                isinstance(ctrl, str)
                and ctrl in profile.ingress.controllers
                and not (exclude is not None and exclude.ingress is not None and ctrl in exclude.ingress.controllers)
            ):
                found.append((2, f"{where}: ingress controller {ctrl}"))
        pod_path = pod_spec_path(dict(obj))
        if pod_path is None:
            continue
        pod: Any = obj
        for step in pod_path:
            pod = pod.get(step) if isinstance(pod, dict) else None
        if not isinstance(pod, dict):
            continue
        for vol in _dicts(pod.get("volumes")):
            drv = _mapping(vol.get("csi")).get("driver")
            if isinstance(drv, str) and drv in drivers:
                found.append((3, f"{where}: CSI driver {drv}"))
            template = _mapping(_mapping(_mapping(vol.get("ephemeral")).get("volumeClaimTemplate")).get("spec"))
            cls = template.get("storageClassName")
            shared = exclude is not None and exclude.storage is not None and exclude.storage.get_class(str(cls))
            if (
                storage is not None
                and isinstance(cls, str)
                and storage.get_class(cls)
                and cls not in allowed
                and not shared
            ):
                found.append((1, f"{where}: storage class {cls}"))
        for _, _, c in containers(pod):
            image = c.get("image")
            if isinstance(image, str) and not any(image.startswith(a) for a in allowed):
                for reg in profile.registries:
                    if reg.matches(image) and not (
                        exclude is not None and any(r.matches(image) for r in exclude.registries)
                    ):
                        found.append((2 if reg.private else 0, f"{where}: image {image}"))
                        break
                svc = next((si for si in profile.service_images if si.matches(image)), None)
                if svc is not None and exclude is None:
                    found.append((2, f"{where}: image {image} ({svc.message.split(':')[0]})"))
            res = _mapping(c.get("resources"))
            for section in ("limits", "requests"):
                for name in _mapping(res.get(section)):
                    if isinstance(name, str) and any(r.matches(name) for r in profile.provider_resources):
                        found.append((3, f"{where}: extended resource {name}"))
                        break
        if topo is None:
            continue
        selector_items: list[tuple[Any, Any]] = list(_mapping(pod.get("nodeSelector")).items())
        affinity = _mapping(_mapping(pod.get("affinity")).get("nodeAffinity"))
        required = _mapping(affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
        terms = _dicts(required.get("nodeSelectorTerms"))
        preferred = _dicts(affinity.get("preferredDuringSchedulingIgnoredDuringExecution"))
        prefs = [_mapping(p.get("preference")) for p in preferred]
        for term in [*terms, *prefs]:
            for e in _dicts(term.get("matchExpressions")):
                values = e.get("values")
                for v in values if isinstance(values, list) and values else [None]:
                    selector_items.append((e.get("key"), v))
        for key, value in selector_items:
            if not isinstance(key, str):
                continue
            if topo.owns_label(key) and not (
                exclude is not None and exclude.topology is not None and exclude.topology.owns_label(key)
            ):
                found.append((2, f"{where}: node label {key}"))
            elif (
                isinstance(value, str)
                and value not in allowed
                and (
                    (key.endswith("/zone") and topo.is_zone(value))
                    or (key.endswith("/region") and topo.is_region(value))
                )
                and not (
                    exclude is not None
                    and exclude.topology is not None
                    and (exclude.topology.is_zone(value) or exclude.topology.is_region(value))
                )
            ):
                found.append((1, f"{where}: {key}={value}"))
        for tol in _dicts(pod.get("tolerations")):
            tkey = tol.get("key")
            if isinstance(tkey, str) and key_matches(tkey, topo.toleration_keys):
                found.append((2, f"{where}: toleration {tkey}"))
    return found


def find_residue(
    objects: Iterable[Mapping[str, Any]],
    profile: Profile,
    *,
    exclude: Profile | None = None,
    allowed_values: Iterable[str] = (),
) -> list[str]:
    """Descriptions of everything in ``objects`` that is specific to ``profile``.

    ``exclude``: a profile whose own vocabulary is not residue (the target's, when source and target
    share keys). ``allowed_values``: values the user mapped to explicitly (not residue).
    """
    return [text for _, text in _residue(objects, profile, exclude, set(allowed_values))]


def detect_source_evidence(objects: Iterable[Mapping[str, Any]]) -> tuple[str | None, list[str]]:
    """The platform whose provider-bound items weigh most in ``objects``, and that evidence.

    Each item is weighed (see :func:`_residue`): a provider-only kind, API group, CSI driver or extended
    resource counts more than a zone; an image on a registry that also serves public images (``gcr.io``)
    counts nothing. None when no platform has evidence.
    """
    objs = list(objects)
    best: tuple[int, str, list[str]] | None = None
    for name in profile_names():
        prof = load_profile(name)
        if prof.category != "platform":
            continue
        items = [(w, t) for w, t in _residue(objs, prof, None, set()) if w > 0]
        score = sum(w for w, _ in items)
        if score and (best is None or score > best[0]):
            best = (score, name, [f"{t} (weight {w})" for w, t in items])
    return (best[1], best[2]) if best else (None, [])


def detect_source(objects: Iterable[Mapping[str, Any]]) -> str | None:
    """The platform profile with the most weighed provider-bound evidence in ``objects`` (None when none)."""
    return detect_source_evidence(objects)[0]


def unreported_items(
    objects: Iterable[Mapping[str, Any]],
    target: Profile,
    records: Mapping[str, str],
    global_text: str,
    allowed_values: Iterable[str] = (),
) -> list[tuple[Mapping[str, Any], str, str]]:
    """Default-deny: provider-bound items (see :mod:`portkit.translate.portable`) that are not the target's
    own vocabulary, not a value the user mapped to and not quoted by any record of their object
    (``records``: record text by object name) or of the whole bundle (``global_text``).

    Returns ``(object, what, text)`` for each.
    """
    allowed = tuple(a for a in allowed_values if a)
    out: list[tuple[Mapping[str, Any], str, str]] = []
    for obj in objects:
        items = provider_items(obj)
        if not items:
            continue
        meta = obj.get("metadata")
        name = str(meta.get("name") or "") if isinstance(meta, Mapping) else ""
        text: str | None = None
        for what, value in items:
            if what == "image":
                host = provider_registry(value)
                if host is None or value.startswith(allowed) or any(r.matches(value) for r in target.registries):
                    continue
                what, value = "registry", host
            elif value in allowed or target_owns(target, what, value):
                continue
            if text is None:
                text = records.get(name, "") + "\n" + global_text
            if value not in text:
                out.append((obj, what, value))
    return out
