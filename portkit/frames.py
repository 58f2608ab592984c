"""pandas DataFrames of results, for the ``to_dataframe()`` methods.

pandas is optional (``pip install 'portkit[notebook]'``): it is imported only when a ``to_dataframe()`` is
called, never by ``import portkit``; without it the call raises a :class:`~portkit.errors.ConfigurationError`
that says what to install.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from portkit.errors import ConfigurationError
from portkit.model import ObjectRef

if TYPE_CHECKING:
    import pandas

__all__ = ["dataframe", "ref_columns", "require_pandas"]

#: What to install for ``to_dataframe()`` and the ``plot_*()`` methods.
NOTEBOOK_EXTRA_HINT = "Install the notebook extra: pip install 'portkit[notebook]'."


def require_pandas() -> Any:
    """The ``pandas`` module, or a :class:`ConfigurationError` saying how to install it."""
    try:
        import pandas
    except ImportError as exc:
        raise ConfigurationError("to_dataframe() needs the 'pandas' package.", hint=NOTEBOOK_EXTRA_HINT) from exc
    return pandas


def dataframe(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pandas.DataFrame:
    """A DataFrame of ``rows`` with exactly ``columns``, in that order (also when there are no rows)."""
    pd = require_pandas()
    frame: pandas.DataFrame = pd.DataFrame.from_records(
        [{c: row.get(c) for c in columns} for row in rows], columns=list(columns)
    )
    return frame


def ref_columns(ref: ObjectRef | None) -> dict[str, str]:
    """The columns naming an object: ``object`` (its ``str()``), ``kind``, ``group``, ``namespace``, ``name``
    (empty strings for a record about no object)."""
    if ref is None:
        return {"object": "", "kind": "", "group": "", "namespace": "", "name": ""}
    return {"object": str(ref), "kind": ref.kind, "group": ref.group, "namespace": ref.namespace, "name": ref.name}
