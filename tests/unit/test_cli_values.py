"""The small parsers and renderers the CLI shares: KEY=VALUE, durations, readable field paths, fitted text."""

from __future__ import annotations

import pytest

from portkit._duration import format_duration, parse_duration
from portkit._kv import parse_key_values, split_key_value
from portkit.display import fit_text, readable_path, text_table
from portkit.errors import ConfigurationError, TranslationError
from portkit.replay import parse_namespace_map
from portkit.translate import parse_map_flags


# -- KEY=VALUE ------------------------------------------------------------------------------------------------
def test_key_value_splits_at_the_first_equals_sign() -> None:
    assert split_key_value("a=b=c") == ("a", "b=c")
    assert split_key_value("a=") == ("a", "")
    assert split_key_value(" a = b ", strip=True) == ("a", "b")
    assert parse_key_values(["x=1", "y=2", "x=1"]) == {"x": "1", "y": "2"}


@pytest.mark.parametrize("item", ["novalue", "=value", ""])
def test_key_value_errors_name_the_flag_and_the_form(item: str) -> None:
    with pytest.raises(ConfigurationError) as exc:
        split_key_value(item, flag="--label", form="KEY=VALUE", example="team=shop")
    assert exc.value.message == f"--label {item!r} is not of the form KEY=VALUE." and exc.value.hint == (
        "Write e.g. team=shop."
    )


def test_the_same_key_twice_with_two_values_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="'x' is given twice"):
        parse_key_values(["x=1", "x=2"], flag="--label")


def test_namespace_maps_and_map_flags_use_the_one_parser() -> None:
    assert parse_namespace_map([" shop = shop-eu "]) == {"shop": "shop-eu"}
    with pytest.raises(ConfigurationError, match=r"Namespace mapping 'shop' is not of the form OLD=NEW\."):
        parse_namespace_map(["shop"])
    assert parse_map_flags(["images:reg:5000/a=reg.eu/a"]) == {"images": {"reg:5000/a": "reg.eu/a"}}
    with pytest.raises(TranslationError, match=r"--map '=b' is not of the form storageclass:OLD=NEW"):
        parse_map_flags(["storageclass:=b"])


# -- durations -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("600", 600.0), ("2.5", 2.5), ("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0), ("1.5h", 5400.0),
     ("500ms", 0.5), ("1d", 86400.0), ("0s", 0.0), ("1H", 3600.0), (45, 45.0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10 m", "m", "1h30", "-5", "ten", "1w", "nan", "inf"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(600, "10m"), (5400, "1h30m"), (90, "1m30s"), (2.5, "2.5s"), (0, "0s")])
def test_durations_print_as_they_are_read(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text and parse_duration(text) == seconds


# -- readable paths and fitted text -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pointer", "shown"),
    [
        ("/metadata/annotations/elbv2.k8s.aws~1pod-readiness-gate-inject",
         'metadata.annotations["elbv2.k8s.aws/pod-readiness-gate-inject"]'),
        ("/spec/template/spec/containers/0/image", "spec.template.spec.containers[0].image"),
        ("/spec/storageClassName", "spec.storageClassName"),
        ("/a/x~0y", 'a["x~y"]'),
        ("/a/say \"hi\"", 'a["say \\"hi\\""]'),
        ("", ""),
    ],
)  # fmt: skip
def test_readable_paths(pointer: str, shown: str) -> None:
    assert readable_path(pointer) == shown


def test_tables_fit_the_width_by_wrapping_the_widest_columns() -> None:
    rows = [["Deployment.apps shop/web", "set", "a long reason " * 6], ["Service shop/web", "remove", "short"]]
    table = text_table(["object", "op", "reason"], rows, width=60)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert lines[0].startswith("OBJECT") and lines[1].startswith("Deployment.apps shop/web  set")
    assert "Service shop/web" in table and " ".join(table.split()).count("a long reason") == 6
    assert text_table(["object", "op", "reason"], rows) == text_table(["object", "op", "reason"], rows, width=0)


def test_tables_too_wide_for_the_width_become_records() -> None:
    rows = [[f"Kind{i}.group.example.com name-{i}", "x" * 45, "y" * 45, "-"] for i in range(2)]
    text = text_table(["object", "old", "new", "tier"], rows, width=70)
    assert text.splitlines()[:3] == ["Kind0.group.example.com name-0", "  old:  " + "x" * 45, "  new:  " + "y" * 45]
    assert "tier" not in text  # "-" values are left out


def test_long_lines_wrap_under_their_bullet() -> None:
    text = "MANUAL ACTIONS:\n  - " + "install an ingress controller " * 5 + "\nshort"
    lines = fit_text(text, 50).splitlines()
    assert lines[0] == "MANUAL ACTIONS:" and lines[1].startswith("  - install")
    assert all(line.startswith("    ") for line in lines[2:-1]) and lines[-1] == "short"
    assert max(len(line) for line in lines) <= 50
    assert fit_text(text, None) == text
