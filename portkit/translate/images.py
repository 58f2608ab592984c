"""Images: registry prefix rewriting, warnings for images left on a provider registry, pull secrets."""

from __future__ import annotations

from typing import Any

from portkit.model import split_api_version
from portkit.profiles import load as load_profile
from portkit.profiles import names as profile_names
from portkit.translate._base import BaseTranslator, Context, Item
from portkit.translate._util import POD_KINDS, containers, pod_spec_path

__all__ = ["ImagesTranslator"]

_HYPERSCALERS = ("aws", "gke", "aks", "openshift", "ibm", "oci")
#: Fields that hold an image reference in custom resources (operators' CRs: Prometheus, Elasticsearch,
#: KAITO, Intel device plugins, Couchbase ...).
_CR_IMAGE_FIELDS = frozenset({"image", "baseImage", "containerImage"})
#: Groups whose kinds never hold images outside a pod spec.
_NO_CR_IMAGES = frozenset({"", "apps", "batch", "networking.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io",
                           "policy", "autoscaling", "scheduling.k8s.io", "snapshot.storage.k8s.io"})  # fmt: skip


def _image_paths(value: Any, path: tuple[str | int, ...], depth: int = 0) -> list[tuple[tuple[str | int, ...], str]]:
    out: list[tuple[tuple[str | int, ...], str]] = []
    if depth > 12:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                if k in _CR_IMAGE_FIELDS and v:
                    out.append(((*path, k), v))
            elif isinstance(v, dict | list):
                out += _image_paths(v, (*path, k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, dict | list):
                out += _image_paths(v, (*path, i), depth + 1)
    return out


class ImagesTranslator(BaseTranslator):
    """Rewrites image references by prefix and reports images still on a provider registry."""

    name = "images"
    order = 80
    kinds = None
    description = "image registry prefixes, provider registries, imagePullSecrets (pods and custom resources)"

    def begin(self, ctx: Context) -> None:
        """Look at the whole input once before the objects go through."""
        registries = list(ctx.source.registries)
        for name in _HYPERSCALERS:
            if name in profile_names() and name not in ctx.target.members:
                registries.extend(r for r in load_profile(name).registries if r not in registries)
        target_regs = set(ctx.target.registries)
        prefixes = sorted(ctx.mappings.images.items(), key=lambda kv: len(kv[0]), reverse=True)
        same = set(ctx.source.members) & set(ctx.target.members)
        services = () if same else ctx.source.service_images
        ctx.state[self.name] = ([r for r in registries if r not in target_regs], prefixes, {}, services, {})

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        spec_path = pod_spec_path(item.obj)
        if spec_path is None:
            if item.kind not in POD_KINDS:
                self._custom_resource(item, ctx)
            return
        spec = item.get(*spec_path)
        if not isinstance(spec, dict):
            return
        registries, prefixes, cache, services, svc_cache = ctx.state[self.name]
        for field, i, container in list(containers(spec)):
            image = container.get("image")
            if not isinstance(image, str):
                continue
            new = image
            for old_prefix, new_prefix in prefixes:
                if image.startswith(old_prefix):
                    new = new_prefix + image[len(old_prefix) :]
                    break
            if new != image:
                item.set((*spec_path, field, i, "image"), new, f"user mapping images:{old_prefix}={new_prefix}")
                continue
            hit = cache.get(image)
            if hit is None:
                hit = next((r.description or r.pattern for r in registries if r.matches(image)), "")
                cache[image] = hit
            if hit:
                item.warn(
                    f"image {image} is on {hit}; the target may not be able to pull it: push it to the "
                    "target's registry and map it with --map images:OLD=NEW"
                )
        if services:
            for _, _, container in containers(item.get(*spec_path) or {}):
                image = container.get("image")
                if not isinstance(image, str):
                    continue
                message = svc_cache.get(image)
                if message is None:
                    message = svc_cache[image] = next((s.message for s in services if s.matches(image)), "")
                if message:
                    item.warn(f"container {container.get('name')} ({image}): {message}")
        if ctx.mappings.image_pull_secrets:
            current = item.get(*spec_path, "imagePullSecrets") or []
            names = {s.get("name") for s in current if isinstance(s, dict)}
            missing = [n for n in ctx.mappings.image_pull_secrets if n not in names]
            if missing:
                item.set(
                    (*spec_path, "imagePullSecrets"),
                    [*current, *({"name": n} for n in missing)],
                    "user mapping image_pull_secrets",
                )

    def _custom_resource(self, item: Item, ctx: Context) -> None:
        """Image fields in a custom resource's spec are mapped and checked like a container's image."""
        api = item.obj.get("apiVersion")
        group = split_api_version(api)[0] if isinstance(api, str) else ""
        spec = item.obj.get("spec")
        if group in _NO_CR_IMAGES or not isinstance(spec, dict | list):
            return
        registries, prefixes, cache, _, _ = ctx.state[self.name]
        for path, image in _image_paths(spec, ("spec",)):
            new = image
            for old_prefix, new_prefix in prefixes:
                if image.startswith(old_prefix):
                    new = new_prefix + image[len(old_prefix) :]
                    item.set(path, new, f"user mapping images:{old_prefix}={new_prefix}")
                    break
            if new != image:
                continue
            hit = cache.get(image)
            if hit is None:
                hit = cache[image] = next((r.description or r.pattern for r in registries if r.matches(image)), "")
            if hit:
                item.warn(
                    f"image {image} (in {'.'.join(map(str, path))}) is on {hit}; the target may not be able to pull "
                    "it: push it to the target's registry and map it with --map images:OLD=NEW"
                )
