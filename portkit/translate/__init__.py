"""Translation: remove provider-specific residue from a bundle so it can be applied on another provider.

>>> t = portkit.translate(bundle, source="aws", target="ionos",
...                       mappings={"storage_classes": {"gp3": "ionos-enterprise-ssd"}})
>>> t.bundle, t.changes, t.warnings, t.manual_actions

A chain of pure translators (ordered; see :func:`translators`) runs over every object once. Each change is
recorded as a :class:`Change`; what cannot be translated becomes a warning or a manual action. The input
bundle is never changed: objects are copied when first written to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from portkit import observe
from portkit._gc import gc_paused
from portkit.errors import PortkitError, TranslationError
from portkit.model import ObjectRef
from portkit.profiles import Profile
from portkit.profiles import resolve as resolve_profile
from portkit.translate._base import (
    BaseTranslator,
    Change,
    Context,
    Item,
    ManualAction,
    TranslationWarning,
    Translator,
    fast_copy,
)
from portkit.translate.mappings import Mappings, parse_map_flags
from portkit.translate.registry import register_translator, translators, unregister_translator
from portkit.translate.report import Translation
from portkit.translate.residue import detect_source, detect_source_evidence, find_residue, unreported_items
from portkit.translate.rules import Rule, RulesInput, load_rules

if TYPE_CHECKING:
    from portkit.bundle import Bundle

__all__ = [
    "BaseTranslator",
    "Change",
    "Context",
    "Item",
    "ManualAction",
    "Mappings",
    "Rule",
    "RulesInput",
    "TranslateInput",
    "Translation",
    "TranslationWarning",
    "Translator",
    "detect_source",
    "detect_source_evidence",
    "fast_copy",
    "find_residue",
    "lint_residue",
    "load_rules",
    "parse_map_flags",
    "register_translator",
    "source_of",
    "translate",
    "translators",
    "unregister_translator",
]


log = logging.getLogger(__name__)

#: What :func:`translate` accepts: a :class:`portkit.Bundle`, one manifest, or manifests.
TranslateInput: TypeAlias = "Bundle | Mapping[str, Any] | Iterable[dict[str, Any]]"


def _objects_of(bundle: object) -> tuple[list[dict[str, Any]], Any]:
    if isinstance(bundle, Mapping):
        return [dict(bundle)], None
    if hasattr(bundle, "objects") and hasattr(bundle, "evolve"):
        return list(bundle.objects), bundle
    if isinstance(bundle, Iterable) and not isinstance(bundle, str | bytes):
        objs = list(bundle)
        for i, o in enumerate(objs):
            if not isinstance(o, dict):
                raise TranslationError(f"object #{i + 1} is a {type(o).__name__}, not a manifest dict.")
        return objs, None
    raise TranslationError(
        f"cannot translate a {type(bundle).__name__}.", hint="Pass a portkit.Bundle or a list of manifest dicts."
    )


def source_of(bundle: object) -> str | None:
    """The provider a bundle's objects are for: the target it was translated to
    (``meta["translated"]["target"]``), else the source it was exported from (``meta["source"]["provider"]``)."""
    meta = getattr(bundle, "meta", None)
    if isinstance(meta, Mapping):
        done = meta.get("translated")
        if isinstance(done, Mapping) and done.get("target"):
            return str(done["target"])
        src = meta.get("source")
        if isinstance(src, Mapping) and src.get("provider"):
            return str(src["provider"])
    return None


@observe.step("translate")
def translate(
    bundle: TranslateInput,
    source: str | Sequence[str] | Profile | None = None,
    target: str | Sequence[str] | Profile | None = None,
    *,
    rules: RulesInput = None,
    mappings: Mappings | Mapping[str, Any] | None = None,
    translators: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> Translation:
    """Translate a bundle from one provider to another.

    Args:
        bundle: a :class:`portkit.Bundle` (or a list of manifest dicts). It is not changed.
        source: the provider the objects come from (``"aws"``); None: the provider the bundle records, else
            the one detected from the objects (as ``portkit lint`` does; logged, and the evidence is in
            :attr:`Translation.source_evidence`).
        target: the provider to move to: a name, ``"rook-ceph+metallb"`` or a list (each aspect from the
            first profile that covers it).
        rules: user rules: a file path, YAML text, a dict (Velero resource-modifier format, also wrapped in
            its ConfigMap) or a list of rules. Applied last.
        mappings: overrides of profile defaults, e.g. ``{"storage_classes": {"gp3": "fast"},
            "images": {"123.dkr.ecr.eu-central-1.amazonaws.com/": "registry.example/"}, "zones": {...},
            "ingress_class": "nginx", "image_pull_secrets": ["regcred"]}``.
        translators: run only the translators of these names (built-in ones, plugins and registered ones;
            see :func:`portkit.translate.translators`), in chain order; default all of them.
        exclude: leave the translators of these names out (e.g. a plugin installed for another project).

    Returns:
        a :class:`Translation`: ``.bundle`` (translated), ``.changes``, ``.warnings``, ``.manual_actions``.

    Raises:
        TranslationError: unknown provider or translator name, no source provider given, recorded or
            detectable, invalid mapping or rule (naming the rule and field), or a translator failed (naming
            it and the object).
    """
    with gc_paused():  # many small containers: see portkit._gc
        return _translate(bundle, source, target, rules, mappings, translators, exclude)


def _select(names: Sequence[str] | None, exclude: Sequence[str], has_rules: bool) -> list[Translator]:
    """The chain to run: every known translator, or the ``names`` chosen, less ``exclude``."""
    available = translators()
    known = [t.name for t in available]
    for what, given in (("translators", names or ()), ("exclude", exclude)):
        if isinstance(given, str):
            raise TranslationError(
                f"{what}= takes a list of translator names, not the string {given!r}.",
                hint=f"Write {what}=[{given!r}].",
            )
        unknown = [n for n in given if n not in known]
        if unknown:
            raise TranslationError(
                f"{what}=: no translator named {', '.join(map(repr, unknown))}.",
                hint=f"The translators are: {', '.join(known)}.",
            )
    chosen = [t for t in available if (names is None or t.name in names) and t.name not in exclude]
    if has_rules and not any(t.name == "rules" for t in chosen):
        raise TranslationError(
            "rules were given, but the 'rules' translator that applies them is not selected.",
            hint="Add 'rules' to translators= (or take it out of exclude=), or pass no rules.",
        )
    if names is not None or exclude:
        log.info("translators chosen: %s", ", ".join(t.name for t in chosen) or "none")
    return [t for t in chosen if t.name != "rules" or has_rules]


def _resolve_source(
    source: str | Sequence[str] | Profile | None, bundle: object, objects: list[dict[str, Any]]
) -> tuple[str | Sequence[str] | Profile, tuple[str, ...]]:
    """``source``, else the provider the bundle records, else the one detected from the objects (with the
    evidence it was detected from)."""
    if source is not None:
        return source, ()
    recorded = source_of(bundle)
    if recorded is not None:
        log.debug("source provider %s, as the bundle records", recorded)
        return recorded, ()
    detected, evidence = detect_source_evidence(objects)
    if detected is None:
        raise TranslationError(
            "the bundle does not record its source provider, and nothing in its objects is specific to one provider.",
            hint="Name it: translate(..., source='aws') or --from aws (see `portkit providers`).",
        )
    log.info(
        "source provider detected: %s (from %d provider-specific item(s)%s); pass source= to choose another",
        detected,
        len(evidence),
        f", e.g. {evidence[0]}" if evidence else "",
    )
    return detected, tuple(evidence)


def _translate(
    bundle: TranslateInput,
    source: str | Sequence[str] | Profile | None,
    target: str | Sequence[str] | Profile | None,
    rules: RulesInput,
    mappings: Mappings | Mapping[str, Any] | None,
    names: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> Translation:
    started = time.monotonic()
    objects, base = _objects_of(bundle)
    if target is None:
        raise TranslationError("no target provider given.", hint="Name it: target='ionos' or --to ionos.")
    source, evidence = _resolve_source(source, bundle, objects)
    src = resolve_profile(source)
    dst = resolve_profile(target)
    maps = Mappings.from_value(mappings)
    rule_list = (
        load_rules(rules) if not (isinstance(rules, list) and all(isinstance(r, Rule) for r in rules)) else rules
    )
    chain = _select(names, exclude, bool(rule_list))
    log.info("translating %d objects %s → %s with %d translators", len(objects), src.name, dst.name, len(chain))
    ctx = Context(src, dst, maps, objects, rule_list)
    for step in chain:
        ctx.translator = step.name
        try:
            step.begin(ctx)
        except PortkitError:
            raise
        except Exception as exc:
            raise TranslationError(f"translator {step.name!r} failed to start: {type(exc).__name__}: {exc}.") from exc
    out: list[dict[str, Any]] = []
    n = len(chain)
    kinds_of = [t.kinds for t in chain]
    names = [t.name for t in chain]
    plans: dict[Any, list[int]] = {}
    for obj in objects:
        stack: list[tuple[dict[str, Any], int, bool]] = [(obj, 0, False)]
        while stack:
            current, start, owned = stack.pop()
            item = Item(current, ctx, owned=owned)
            kind = current.get("kind")
            plan = plans.get(kind)
            if plan is None:
                plan = plans[kind] = [i for i in range(n) if kinds_of[i] is None or kind in kinds_of[i]]  # type: ignore[operator]
            t: Translator | None = None
            requeued = False
            try:
                for i in plan:
                    if i < start:
                        continue
                    t = chain[i]
                    ctx.translator = names[i]
                    t.translate(item, ctx)
                    if item.dropped:
                        break
                    if item.added:
                        stack.extend((added, i + 1, True) for added in reversed(item.added))
                        item.added = []
                    if item.obj.get("kind") != kind:  # became another kind: the rest of the chain is re-planned
                        stack.append((item.obj, i + 1, True))
                        requeued = True
                        break
            except PortkitError:
                raise
            except Exception as exc:
                name = t.name if t is not None else "?"
                raise TranslationError(
                    f"translator {name!r} failed on {ObjectRef.from_obj(current)}: {type(exc).__name__}: {exc}.",
                    hint="Check that it is a valid manifest (kubectl apply --dry-run=server); if it is, report "
                    "this; a rule or a mapping may work around it.",
                ) from exc
            if not item.dropped and not requeued:
                out.append(item.obj)
    for step in chain:
        ctx.translator = step.name
        for extra in step.end(ctx) or []:
            out.append(extra)
    out = _dedupe(out, ctx)
    _default_deny(out, ctx)
    info = {
        "source": src.name,
        "target": dst.name,
        "mappings": maps.to_dict(),
        "rules": len(rule_list),
        "changes": len(ctx.changes),
        "warnings": len(ctx.warnings),
        "manual_actions": len(ctx.manual_actions),
    }
    if base is not None:
        new_bundle = base.evolve(objects=out, translated=info)
    else:
        from portkit.bundle import Bundle

        new_bundle = Bundle(out, meta={"translated": info})
    result = Translation(
        bundle=new_bundle,
        changes=tuple(ctx.changes),
        warnings=tuple(ctx.warnings),
        manual_actions=tuple(ctx.manual_actions),
        source=src.name,
        target=dst.name,
        translators=tuple(step.name for step in chain),
        input_count=len(objects),
        mappings=maps.to_dict(),
        source_evidence=evidence,
    )
    log.info(
        "translated %d objects into %d in %.2f s: %d changes, %d warnings, %d manual actions",
        len(objects),
        len(out),
        time.monotonic() - started,
        len(result.changes),
        len(result.warnings),
        len(result.manual_actions),
    )
    return result


@observe.step("lint")
def lint_residue(
    translation: Translation | TranslateInput,
    source: str | Sequence[str] | Profile,
    target: str | Sequence[str] | Profile,
    mappings: Mappings | Mapping[str, Any] | None = None,
) -> list[str]:
    """What of the source provider is still in a translated bundle (``portkit lint`` reports it).

    Args:
        translation: a :class:`Translation` (or a bundle / list of manifests already translated).
        source / target: the providers translated from and to.
        mappings: the mappings used; values the user mapped to explicitly are not residue.
    """
    maps = Mappings.from_value(mappings)
    objects, _ = _objects_of(translation.bundle if isinstance(translation, Translation) else translation)
    allowed = [*maps.images.values(), *maps.storage_classes.values(), *maps.zones.values()]
    if maps.ingress_class:
        allowed.append(maps.ingress_class)
    return find_residue(
        objects, resolve_profile(source), exclude=resolve_profile(target), allowed_values=[a for a in allowed if a]
    )


class _RecordText(Mapping[str, str]):
    """Record text (changes, warnings, manual actions) by object name, built on first use."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._by_name: dict[str, str] | None = None

    def _build(self) -> dict[str, str]:
        if self._by_name is None:
            parts: dict[str, list[str]] = {}
            for c in self._ctx.changes:
                path = c.path.replace("~1", "/").replace("~0", "~")
                parts.setdefault(c.ref.name, []).append(f"{path} {c.old} {c.new} {c.reason}")
            for n in (*self._ctx.warnings, *self._ctx.manual_actions):
                if n.ref is not None:
                    parts.setdefault(n.ref.name, []).append(n.message)
            self._by_name = {k: "\n".join(v) for k, v in parts.items()}
        return self._by_name

    def __getitem__(self, key: str) -> str:
        return self._build()[key]

    def __iter__(self) -> Any:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())


def _default_deny(objects: list[dict[str, Any]], ctx: Context) -> None:
    """Nothing provider-bound leaves translate without a record: what no translator resolved or reported
    becomes a warning (a manual action for a whole provider-only kind)."""
    maps = ctx.mappings
    allowed = [*maps.images.values(), *maps.storage_classes.values(), *maps.zones.values(), *maps.node_pools.values()]
    glob = "\n".join(n.message for n in (*ctx.warnings, *ctx.manual_actions) if n.ref is None)
    found = unreported_items(objects, ctx.target, _RecordText(ctx), glob, allowed)
    ctx.translator = "residue"
    for obj, what, value in found:
        ref = ObjectRef.from_obj(obj)
        if what in ("API group", "OpenShift kind"):
            ctx.manual(
                ref,
                f"{what} {value} looks provider-specific and no {ctx.source.name} profile entry resolves it: "
                f"{ctx.target.name} needs its CRD and controller (install them) or leave the object out with a rule",
            )
        else:
            ctx.warn(
                ref,
                f"{what} {value} looks provider-specific and no profile resolves it for {ctx.target.name}: kept as "
                "it was; map or remove it (--map or a rule), or keep it knowingly",
            )


def _dedupe(objects: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        api = str(obj.get("apiVersion") or "")
        key = (
            api.partition("/")[0] if "/" in api else "",
            obj.get("kind"),
            meta.get("namespace") or "",
            meta.get("name"),
        )
        if key in seen:
            ctx.warn(ObjectRef.from_obj(obj), "two translated objects have this identity; the second was left out")
            continue
        seen.add(key)
        out.append(obj)
    return out
