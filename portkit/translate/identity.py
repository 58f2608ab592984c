"""Workload identity: IRSA, GKE and Azure workload-identity keys removed, one manual action per account.

Projected ServiceAccount tokens for an audience only the source's identity service accepts (IBM IAM trusted
profiles: ``iam``) are kept and reported: the token exchange fails anywhere else.

The European targets have no workload identity; the credential must come from somewhere else (a static
Secret, External Secrets, Vault). Nothing identity-related is translated silently.
"""

from __future__ import annotations

from portkit.translate._base import BaseTranslator, Context, Item
from portkit.translate._util import POD_KINDS, pod_spec_path, pod_template_meta_path

__all__ = ["IdentityTranslator"]


def _as_dict(value: object) -> dict[str, object]:
    return dict(value) if isinstance(value, dict) else {}


class IdentityTranslator(BaseTranslator):
    """Removes provider workload-identity annotations and labels and reports what replaces them."""

    name = "identity"
    order = 20
    kinds = frozenset({"ServiceAccount", *POD_KINDS})
    description = "IRSA / GKE / Azure workload identity keys on ServiceAccounts and pods"

    def translate(self, item: Item, ctx: Context) -> None:
        """Translate one object (see the module docstring)."""
        ident = ctx.source.identity
        if ident is None or ident is ctx.target.identity:
            return
        target = ctx.target.name
        if item.kind == "ServiceAccount":
            anns = _as_dict(item.get("metadata", "annotations"))
            found = {k: anns[k] for k in ident.service_account_annotations if k in anns}
            for key in found:
                item.remove(("metadata", "annotations", key), f"{ident.mechanism} is {ctx.source.name}-only")
            labels = _as_dict(item.get("metadata", "labels"))
            for key in ident.service_account_labels:
                if key in labels:
                    item.remove(("metadata", "labels", key), f"{ident.mechanism} is {ctx.source.name}-only")
                    found.setdefault(key, labels[key])
            if found:
                what = ", ".join(
                    f"{k}={v}"
                    for k, v in sorted(found.items())
                    if not k.endswith(("sts-regional-endpoints", "token-expiration", "audience"))
                )
                item.manual(
                    f"create an equivalent credential for ServiceAccount {item.namespace}/{item.name} on {target} "
                    f"(was {ident.mechanism}: {what or ', '.join(found)}); e.g. a Secret via External Secrets or "
                    "Vault, "
                    "and point the workload at it"
                )
            return
        meta_path = pod_template_meta_path(item.obj)
        spec_path = pod_spec_path(item.obj)
        if meta_path is None or spec_path is None:
            return
        for field, keys in (("labels", ident.pod_labels), ("annotations", ident.pod_annotations)):
            values = _as_dict(item.get(*meta_path, field))
            for key in keys:
                if key in values:
                    item.remove((*meta_path, field, key), f"{ident.mechanism} is {ctx.source.name}-only")
                    item.warn(
                        f"pod {field[:-1]} {key} removed ({ident.mechanism}); see the manual action for its "
                        "ServiceAccount"
                    )
        selector = _as_dict(item.get(*spec_path, "nodeSelector"))
        for key in ident.node_selector_keys:
            if key in selector:
                item.remove((*spec_path, "nodeSelector", key), f"{ident.mechanism} node selector")
        if ident.token_audiences:
            self._token_audiences(item, spec_path, ident.token_audiences, ident.mechanism, ctx)

    def _token_audiences(
        self, item: Item, spec_path: tuple[str, ...], audiences: tuple[str, ...], mechanism: str, ctx: Context
    ) -> None:
        """A projected token for the source's identity service is kept (it is harmless) but cannot be exchanged."""
        volumes = item.get(*spec_path, "volumes")
        for vol in volumes if isinstance(volumes, list) else []:
            projected = vol.get("projected") if isinstance(vol, dict) else None
            sources = projected.get("sources") if isinstance(projected, dict) else None
            for src in sources if isinstance(sources, list) else []:
                token = src.get("serviceAccountToken") if isinstance(src, dict) else None
                audience = token.get("audience") if isinstance(token, dict) else None
                if isinstance(audience, str) and audience in audiences:
                    account = item.get(*spec_path, "serviceAccountName") or "default"
                    item.manual(
                        f"volume {vol.get('name')} projects a ServiceAccount token for audience {audience!r}, which "
                        f"{ctx.source.name} exchanges for a cloud credential ({mechanism}, linked to the source "
                        f"cluster and ServiceAccount {item.namespace}/{account}); on {ctx.target.name} that exchange "
                        "fails: give the workload the target's credentials (e.g. a Secret via External Secrets or "
                        "Vault) and change the code that exchanges the token"
                    )
