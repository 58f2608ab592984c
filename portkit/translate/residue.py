"""Finding provider residue: what in a set of manifests is still specific to one provider.

Used by ``portkit lint`` (what would not survive the move), by source detection for bundles made from
plain manifests, and by the tests (after a translation no residue of the source may remain).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from portkit.model import ObjectRef, split_api_version
from portkit.profiles import Profile
from portkit.profiles import load as load_profile
from portkit.profiles import names as profile_names
from portkit.translate._util import containers, key_matches, pod_spec_path, pod_template_meta_path

__all__ = ["detect_source", "find_residue"]


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
    allowed = set(allowed_values)
    found: list[str] = []
    storage = profile.storage
    topo = profile.topology
    kinds = {(k.group, k.kind) for k in profile.provider_kinds if k.when_path is None}

    def shared_key(key: str, field: str) -> bool:
        return exclude is not None and _owned_key(exclude, key, field)

    for obj in objects:
        ref = ObjectRef.from_obj(obj)
        where = str(ref)
        group = split_api_version(str(obj.get("apiVersion") or ""))[0]
        if (group, ref.kind) in kinds:
            found.append(f"{where}: a kind only {profile.name} has")
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
                for key in cur.get(field) or {}:
                    if _owned_key(profile, key, field) and not shared_key(key, field):
                        found.append(f"{where}: {field[:-1]} {key}")
        raw_spec = obj.get("spec")
        spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
        if storage is not None:
            names = {c.name for c in storage.classes} - allowed
            if exclude is not None and exclude.storage is not None:
                names -= {c.name for c in exclude.storage.classes}
            claims = [spec] if ref.kind == "PersistentVolumeClaim" else []
            if ref.kind == "StatefulSet":
                claims += [t.get("spec") or {} for t in spec.get("volumeClaimTemplates") or [] if isinstance(t, dict)]
            for c in claims:
                if c.get("storageClassName") in names:
                    found.append(f"{where}: storage class {c['storageClassName']}")
            provs = set(storage.provisioners) - (
                set(exclude.storage.provisioners) if exclude and exclude.storage else set()
            )
            if ref.kind == "StorageClass" and obj.get("provisioner") in provs:
                found.append(f"{where}: provisioner {obj['provisioner']}")
            if ref.kind == "VolumeSnapshotClass" and obj.get("driver") in provs:
                found.append(f"{where}: snapshot driver {obj['driver']}")
        if profile.load_balancer is not None and ref.kind == "Service":
            cls = spec.get("loadBalancerClass")
            if cls in profile.load_balancer.classes:
                found.append(f"{where}: loadBalancerClass {cls}")
        if profile.ingress is not None and ref.kind == "Ingress":
            classes = set(profile.ingress.classes) - allowed
            ann = ((obj.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/ingress.class")
            for cls in (spec.get("ingressClassName"), ann):
                if cls in classes:
                    found.append(f"{where}: ingress class {cls}")
        pod_path = pod_spec_path(dict(obj))
        if pod_path is None:
            continue
        pod: Any = obj
        for step in pod_path:
            pod = pod.get(step) if isinstance(pod, dict) else None
        if not isinstance(pod, dict):
            continue
        for _, _, c in containers(pod):
            image = c.get("image")
            if isinstance(image, str) and not any(image.startswith(a) for a in allowed):
                for reg in profile.registries:
                    if reg.matches(image) and not (
                        exclude is not None and any(r.matches(image) for r in exclude.registries)
                    ):
                        found.append(f"{where}: image {image}")
                        break
        if topo is None:
            continue
        selector_items = list((pod.get("nodeSelector") or {}).items())
        affinity = (pod.get("affinity") or {}).get("nodeAffinity") or {}
        terms = (affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
        prefs = [
            p.get("preference") or {} for p in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        ]
        for term in [*terms, *prefs]:
            for e in term.get("matchExpressions") or []:
                for v in e.get("values") or [None]:
                    selector_items.append((e.get("key"), v))
        for key, value in selector_items:
            if not isinstance(key, str):
                continue
            if topo.owns_label(key) and not (
                exclude is not None and exclude.topology is not None and exclude.topology.owns_label(key)
            ):
                found.append(f"{where}: node label {key}")
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
                found.append(f"{where}: {key}={value}")
        for tol in pod.get("tolerations") or []:
            key = tol.get("key") if isinstance(tol, dict) else None
            if isinstance(key, str) and key_matches(key, topo.toleration_keys):
                found.append(f"{where}: toleration {key}")
    return found


def detect_source(objects: Iterable[Mapping[str, Any]]) -> str | None:
    """The platform profile with the most residue in ``objects`` (None when there is none)."""
    objs = list(objects)
    best: tuple[int, str] | None = None
    for name in profile_names():
        prof = load_profile(name)
        if prof.category != "platform":
            continue
        score = len(find_residue(objs, prof))
        if score and (best is None or score > best[0]):
            best = (score, name)
    return best[1] if best else None
