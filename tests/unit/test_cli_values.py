"""The small parsers and renderers the CLI shares: KEY=VALUE, durations, readable field paths, fitted text."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

import portkit.replay
from portkit._duration import format_duration, parse_duration
from portkit._kv import parse_key_values, split_key_value
from portkit.display import fit_text, readable_path, text_table
from portkit.errors import ConfigurationError, TranslationError
from portkit.observe._metrics import parse_labels
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


def test_metrics_labels_use_the_one_parser() -> None:
    assert parse_labels([" unit = shop ", "team=a=b"]) == {"unit": "shop", "team": "a=b"}
    with pytest.raises(ConfigurationError, match=r"--metrics-label 'unit' is given twice \('a' and 'b'\)"):
        parse_labels(["unit=a", "unit=b"])
    with pytest.raises(ConfigurationError, match=r"--metrics-label 'oops' is not of the form KEY=VALUE") as exc:
        parse_labels(["oops"])
    assert exc.value.hint == "Write e.g. unit=shop."


def _kubeconfig(path: Path) -> str:
    """A kubeconfig of a server nobody answers at: the commands below must fail before they send anything."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }))  # fmt: skip
    return str(path)


@pytest.mark.parametrize(
    "command",
    [["plan", "{app}", "--kubeconfig", "{kc}"],
     ["migrate", "--from-kubeconfig", "{kc}", "--to-kubeconfig", "{kc}", "-n", "shop", "--to", "ionos"],
     ["verify-data", "--from-kubeconfig", "{kc}", "--to-kubeconfig", "{kc}", "-n", "shop"],
     ["fleet", "-n", "shop", "--to", "ionos", "--image", "portkit:1", "--workspace-pvc", "w",
      "--source-secret", "s", "--target-secret", "t"]],
    ids=["plan", "migrate", "verify-data", "fleet"],
)  # fmt: skip
def test_cli_namespace_map_errors_name_the_flag(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from portkit.cli import main

    app = Path(__file__).resolve().parents[2] / "examples" / "shop-eks"
    kc = _kubeconfig(tmp_path / "kubeconfig")
    args = [a.format(app=app, kc=kc) for a in command]
    assert main([*args, "--namespace-map", "shop"]) == 2
    err = capsys.readouterr().err
    assert "--namespace-map 'shop' is not of the form OLD=NEW." in err and "Traceback" not in err


def _example_script() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "examples" / "migrate.py"
    spec = importlib.util.spec_from_file_location("portkit_example_migrate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(spec.name, None)
    spec.loader.exec_module(module)
    return module


def test_example_migrate_script_uses_the_one_namespace_map_parser(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/migrate.py parses --namespace-map with portkit's parser (no copy of its own), so it says the same
    as ``portkit migrate`` (tests/integration/test_examples.py checks the wording as a user sees it)."""
    script = _example_script()
    assert script.parse_namespace_map is portkit.replay.parse_namespace_map
    base = ["--to-kubeconfig", "x", "-n", "shop", "--to", "ionos", "--namespace-map"]
    assert script.main([*base, "shop"]) == 2
    assert capsys.readouterr().err.startswith("migrate.py: error: --namespace-map 'shop' is not of the form OLD=NEW")
    assert script.main([*base, "Shop=shop-eu"]) == 2  # a name the API server would refuse, found before any work
    assert "'Shop' is not a valid namespace name" in capsys.readouterr().err
    assert script.main([*base, "a=x", "--namespace-map", "b=x"]) == 2
    assert "both map to 'x'" in capsys.readouterr().err


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
