"""Charts of results for notebooks, drawn with matplotlib (the ``plot_*()`` methods call these).

matplotlib is optional (``pip install 'portkit[notebook]'``): it is imported only when a chart is drawn,
never by ``import portkit``; without it the call raises a :class:`~portkit.errors.ConfigurationError` that
says what to install. Every function draws into ``ax`` when given, else into a new figure (``pyplot``,
so a notebook shows it under the cell), and returns the Axes (its figure is ``ax.figure``).

The functions take plain data, so they also serve results read back from JSON:

- :func:`plot_waves`: objects per apply wave, stacked by op or outcome (``Plan.plot_waves()``,
  ``ApplyResult.plot_waves()``);
- :func:`plot_timings`: seconds per step (``MigrationReport.plot_timings()``);
- :func:`plot_records`: changes, warnings and manual actions per translator (``Translation.plot_changes()``);
- :func:`plot_residue`: provider residue before and after a translation, per kind of residue (``lint``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from portkit.errors import ConfigurationError
from portkit.frames import NOTEBOOK_EXTRA_HINT

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "COLORS",
    "format_seconds",
    "plot_records",
    "plot_residue",
    "plot_timings",
    "plot_waves",
    "require_pyplot",
    "residue_category",
]

#: Colours of ops, outcomes and record kinds (matplotlib's tab palette): new is green, changed blue,
#: nothing to do grey, failures and conflicts red, what a person must handle orange.
COLORS: Mapping[str, str] = {
    "create": "tab:green",
    "created": "tab:green",
    "update": "tab:blue",
    "updated": "tab:blue",
    "unchanged": "tab:gray",
    "skip": "lightgray",
    "skipped": "lightgray",
    "conflict": "tab:red",
    "failed": "tab:red",
    "dry-run": "tab:purple",
    "changes": "tab:blue",
    "warnings": "tab:orange",
    "manual actions": "tab:red",
    "before": "tab:orange",
    "after": "tab:blue",
}


def format_seconds(seconds: float) -> str:
    """``61.7 s``; under a second with two decimals (``0.04 s``), so short steps do not read as nothing."""
    return f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s"


def require_pyplot() -> Any:
    """The ``matplotlib.pyplot`` module, or a :class:`ConfigurationError` saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigurationError("Charts need the 'matplotlib' package.", hint=NOTEBOOK_EXTRA_HINT) from exc
    return plt


def _axes(ax: Axes | None, rows: int) -> Axes:
    if ax is not None:
        return ax
    plt = require_pyplot()
    _, new = plt.subplots(figsize=(8.0, 1.2 + 0.45 * max(rows, 1)), layout="constrained")
    result: Axes = new
    return result


def _stacked_barh(
    ax: Axes, labels: Sequence[str], series: Mapping[str, Sequence[float]], *, xlabel: str, title: str
) -> Axes:
    """Horizontal bars, one per label top to bottom, stacked by series; each segment labelled with its value."""
    y = list(range(len(labels)))
    left = [0.0] * len(labels)
    for name, values in series.items():
        if not any(values):
            continue
        bars = ax.barh(y, values, left=left, label=name, color=COLORS.get(name))
        ax.bar_label(bars, labels=[f"{v:g}" if v else "" for v in values], label_type="center", fontsize=8)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(y, labels=list(labels))
    ax.invert_yaxis()  # the first label on top
    _count_axis(ax, xlabel, max(left, default=0.0))
    ax.set_title(title)
    if any(any(v) for v in series.values()):
        ax.legend(loc="best", fontsize=8)
    return ax


def _count_axis(ax: Axes, label: str, top: float) -> None:
    """An x axis of counts from 0 to a little past ``top`` (the longest bar), whole-number ticks."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, top * 1.08 if top > 0 else 1)
    ax.set_xlabel(label)


def plot_waves(
    pairs: Iterable[tuple[str, str]],
    *,
    waves: Sequence[str],
    categories: Sequence[str],
    title: str = "Objects per apply wave",
    ax: Axes | None = None,
) -> Axes:
    """Objects per wave, stacked by category (an op of a plan or an outcome of an apply).

    Args:
        pairs: one ``(wave name, category)`` per object.
        waves: every wave name in apply order; only waves with objects get a bar.
        categories: the categories in stacking order (colours from :data:`COLORS`).
    """
    counts = Counter(pairs)
    shown = [w for w in waves if any(counts[(w, c)] for c in categories)]
    series = {c: [counts[(w, c)] for w in shown] for c in categories}
    return _stacked_barh(_axes(ax, len(shown)), shown, series, xlabel="objects", title=title)


def plot_timings(timings: Mapping[str, float], *, title: str = "Seconds per step", ax: Axes | None = None) -> Axes:
    """Seconds per step, one bar each, in the order given, labelled with the seconds."""
    steps = list(timings)
    axes = _axes(ax, len(steps))
    y = list(range(len(steps)))
    bars = axes.barh(y, [float(timings[s]) for s in steps], color="tab:blue")
    axes.bar_label(bars, labels=[format_seconds(float(timings[s])) for s in steps], padding=3, fontsize=8)
    axes.set_yticks(y, labels=steps)
    axes.invert_yaxis()
    axes.set_xlabel("seconds")
    axes.margins(x=0.15)  # room for the labels
    axes.set_title(title)
    return axes


def plot_records(
    records: Iterable[tuple[str, str]],
    *,
    title: str = "Changes per translator",
    ax: Axes | None = None,
) -> Axes:
    """Records per translator, stacked by record kind (``changes``, ``warnings``, ``manual actions``).

    Args:
        records: one ``(translator, record kind)`` per record. Translators are ordered by their number of
            records, most first.
    """
    counts = Counter(records)
    per_translator = Counter[str]()
    for (translator, _), n in counts.items():
        per_translator[translator] += n
    translators = [t for t, _ in sorted(per_translator.items(), key=lambda item: (-item[1], item[0]))]
    kinds = ["changes", "warnings", "manual actions"]
    kinds += sorted({k for _, k in counts} - set(kinds))
    series = {k: [counts[(t, k)] for t in translators] for k in kinds}
    return _stacked_barh(_axes(ax, len(translators)), translators, series, xlabel="records", title=title)


#: What a residue text says (after ``"<object>: "``) → the kind of residue it is.
_RESIDUE_KINDS: tuple[tuple[str, str], ...] = (
    ("a kind only ", "provider-only kinds"),
    ("label ", "labels and annotations"),
    ("annotation ", "labels and annotations"),
    ("image ", "images"),
    ("storage class ", "storage"),
    ("provisioner ", "storage"),
    ("provisioned by ", "storage"),
    ("snapshot driver ", "storage"),
    ("CSI driver ", "storage"),
    ("loadBalancerClass ", "load balancers"),
    ("ingress class ", "ingress"),
    ("ingress controller ", "ingress"),
    ("node label ", "topology"),
    ("toleration ", "topology"),
    ("extended resource ", "extended resources"),
)


def residue_category(text: str) -> str:
    """The kind of a residue item as ``portkit lint`` words it (``"Service shop/web: annotation ..."`` →
    ``"labels and annotations"``); a zone or region (``topology.kubernetes.io/zone=...``) is ``topology``,
    anything else ``other``."""
    _, sep, what = text.partition(": ")
    if not sep:
        return "other"
    for prefix, kind in _RESIDUE_KINDS:
        if what.startswith(prefix):
            return kind
    key = what.split("=", 1)[0]
    if "=" in what and (key.endswith("/zone") or key.endswith("/region")):
        return "topology"
    return "other"


def plot_residue(
    before: Iterable[str],
    after: Iterable[str],
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Residue items per kind, before (the input) and after (the translated bundle) side by side.

    Args:
        before / after: residue texts as :func:`portkit.translate.lint_residue` returns them
            (``Translation.residue`` after ``lint`` is the ``after``).
        title: default: how many items before and after.
    """
    counts = {
        "before": Counter(residue_category(t) for t in before),
        "after": Counter(residue_category(t) for t in after),
    }
    if title is None:
        title = (
            f"Provider residue: {counts['before'].total()} items before the translation, "
            f"{counts['after'].total()} after"
        )
    kinds = sorted(
        set(counts["before"]) | set(counts["after"]), key=lambda k: (-counts["before"][k], -counts["after"][k], k)
    )
    axes = _axes(ax, round(len(kinds) * 1.5))
    height = 0.4
    for offset, side in ((-height / 2, "before"), (height / 2, "after")):
        values = [counts[side][k] for k in kinds]
        bars = axes.barh(
            [i + offset for i in range(len(kinds))],
            values,
            height=height,
            label=f"{side} ({sum(values)})",
            color=COLORS[side],
        )
        axes.bar_label(bars, labels=[str(v) if v else "" for v in values], padding=2, fontsize=8)
    axes.set_yticks(list(range(len(kinds))), labels=kinds)
    axes.invert_yaxis()
    _count_axis(axes, "residue items", max([*counts["before"].values(), *counts["after"].values()], default=0))
    axes.set_title(title)
    axes.legend(loc="best", fontsize=8)
    return axes
