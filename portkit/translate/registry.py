"""The translator registry: built-in translators, entry points ``portkit.translators``, run-time additions."""

from __future__ import annotations

import threading
from importlib.metadata import entry_points

from portkit.errors import TranslationError
from portkit.translate._base import Translator
from portkit.translate.identity import IdentityTranslator
from portkit.translate.images import ImagesTranslator
from portkit.translate.ingress import IngressTranslator
from portkit.translate.openshift import OpenShiftTranslator
from portkit.translate.policies import PoliciesTranslator
from portkit.translate.provider_objects import ProviderObjectsTranslator
from portkit.translate.rules import RulesTranslator
from portkit.translate.services import ServicesTranslator
from portkit.translate.storage import StorageTranslator
from portkit.translate.topology import TopologyTranslator

__all__ = ["ENTRY_POINT_GROUP", "builtin_translators", "register_translator", "translators", "unregister_translator"]

ENTRY_POINT_GROUP = "portkit.translators"
_LOCK = threading.Lock()
_REGISTERED: dict[str, Translator] = {}
_PLUGINS: dict[str, Translator] | None = None


def builtin_translators() -> list[Translator]:
    """Fresh instances of the built-in translators, in chain order."""
    return [
        OpenShiftTranslator(),
        IdentityTranslator(),
        ProviderObjectsTranslator(),
        StorageTranslator(),
        ServicesTranslator(),
        IngressTranslator(),
        TopologyTranslator(),
        ImagesTranslator(),
        PoliciesTranslator(),
        RulesTranslator(),
    ]


def _instance(obj: object, where: str) -> Translator:
    value = obj() if isinstance(obj, type) else obj
    if not isinstance(value, Translator):
        raise TranslationError(
            f"{where} is not a translator: it needs name, order, kinds, begin(), translate() and end().",
            hint="Subclass portkit.translate.BaseTranslator.",
        )
    if not isinstance(value.name, str) or not value.name:
        raise TranslationError(f"{where}: a translator needs a non-empty name.")
    if not isinstance(value.order, int):
        raise TranslationError(f"{where}: translator {value.name!r} needs an integer order.")
    return value


def _plugins() -> dict[str, Translator]:
    global _PLUGINS
    with _LOCK:
        if _PLUGINS is None:
            found: dict[str, Translator] = {}
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    loaded = ep.load()
                except Exception as exc:
                    raise TranslationError(
                        f"translator plugin {ep.name!r} ({ep.value}) failed to load: {exc}."
                    ) from exc
                t = _instance(loaded, f"entry point {ep.name!r}")
                found[t.name] = t
            _PLUGINS = found
        return dict(_PLUGINS)


def register_translator(translator: Translator | type) -> Translator:
    """Add a translator (an instance or a class) to every following translation.

    A translator with the name of a built-in one replaces it. Returns the registered instance.
    """
    t = _instance(translator, repr(translator))
    with _LOCK:
        _REGISTERED[t.name] = t
    return t


def unregister_translator(name: str) -> None:
    """Remove a translator added with :func:`register_translator`."""
    with _LOCK:
        _REGISTERED.pop(name, None)


def translators() -> list[Translator]:
    """The chain: built-ins, then plugins and registered ones (same name replaces), sorted by order."""
    chain: dict[str, Translator] = {t.name: t for t in builtin_translators()}
    chain.update(_plugins())
    with _LOCK:
        chain.update(_REGISTERED)
    return sorted(chain.values(), key=lambda t: (t.order, t.name))
