"""The one parser of ``KEY=VALUE`` items (``--namespace-map OLD=NEW``, ``--label KEY=VALUE``, ``--map KIND:OLD=NEW``).

Every flag and API argument that takes ``KEY=VALUE`` pairs splits them here, so they all behave alike: the
first ``=`` separates (values may hold ``=``), a missing ``=`` or an empty key is an error naming the flag
and the expected form, and one key given twice with different values is an error.
"""

from __future__ import annotations

from collections.abc import Iterable

from portkit.errors import ConfigurationError, PortkitError

__all__ = ["parse_key_values", "split_key_value"]


def split_key_value(
    item: str,
    *,
    flag: str = "",
    form: str = "KEY=VALUE",
    example: str = "",
    strip: bool = False,
    allow_empty_value: bool = True,
    error: type[PortkitError] = ConfigurationError,
) -> tuple[str, str]:
    """``"a=b=c"`` → ``("a", "b=c")``: split at the first ``=``.

    Args:
        item: the text given.
        flag: the flag (or argument) it came from, for the message (``--namespace-map``).
        form: the expected form, for the message (``OLD=NEW``).
        example: an example of a good item, for the hint (``shop=shop-eu``).
        strip: strip whitespace around key and value.
        allow_empty_value: ``KEY=`` is accepted (an empty value).
        error: the error class raised (a :class:`PortkitError`; default :class:`ConfigurationError`).

    Raises:
        error: no ``=``, an empty key, or an empty value when not allowed.
    """
    text = str(item)
    key, sep, value = text.partition("=")
    if strip:
        key, value = key.strip(), value.strip()
    where = f"{flag} {text!r}" if flag else repr(text)
    hint = f"Write e.g. {example}." if example else None
    if not sep or not key:
        raise error(f"{where} is not of the form {form}.", hint=hint)
    if not value and not allow_empty_value:
        raise error(f"{where}: the value after '=' is empty ({form}).", hint=hint)
    return key, value


def parse_key_values(
    items: Iterable[str],
    *,
    flag: str = "",
    form: str = "KEY=VALUE",
    example: str = "",
    strip: bool = False,
    allow_empty_value: bool = True,
    error: type[PortkitError] = ConfigurationError,
) -> dict[str, str]:
    """Several ``KEY=VALUE`` items as a dict (see :func:`split_key_value` for the arguments).

    The same key twice with the same value is accepted; with different values it is an error.
    """
    out: dict[str, str] = {}
    for item in items:
        key, value = split_key_value(
            item, flag=flag, form=form, example=example, strip=strip, allow_empty_value=allow_empty_value, error=error
        )
        if key in out and out[key] != value:
            where = f"{flag} " if flag else ""
            raise error(f"{where}{key!r} is given twice ({out[key]!r} and {value!r}).", hint="Give each key once.")
        out[key] = value
    return out
