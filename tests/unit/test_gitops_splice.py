"""The in-place writer, case by case: what a changed value looks like in the file, and what stays."""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any

import pytest

from portkit._yaml import load_yaml_documents
from portkit.gitops import translate_tree
from portkit.gitops._diff import diff, same
from portkit.gitops._files import SourceFile
from portkit.gitops._render import plain_ok, scalar_text
from portkit.gitops._splice import CannotSplice, CommentAt, detect_style, splice
from portkit.gitops._writer import REWRITTEN, ROUNDTRIP, SPLICED, DocPlan, rewrite

writer = importlib.import_module("portkit.gitops._writer")


def edit(text: str, change: Any, index: int = 0) -> tuple[str, dict[int, str]]:
    """``text`` with document ``index`` changed by ``change(doc)`` (in place), through the writer."""
    file = SourceFile.parse("f.yaml", text)
    new = copy.deepcopy(file.docs[index])
    change(new)
    out, methods = rewrite(file, {index: DocPlan(expected=new, unchanged=False)})
    assert same(load_yaml_documents(out, where="out")[index], new)
    return out, methods


def test_quoting_style_of_a_replaced_value_is_kept() -> None:
    text = "a: 'gp3'   # single\nb: \"gp2\"\nc: gp3\n"

    def change(d: dict[str, Any]) -> None:
        d.update(a="ionos-ssd", b="ionos-hdd", c="ionos-ssd")

    out, methods = edit(text, change)
    assert out == "a: 'ionos-ssd'   # single\nb: \"ionos-hdd\"\nc: ionos-ssd\n"
    assert methods == {0: SPLICED}


@pytest.mark.parametrize(
    "value",
    [
        "yes",
        "on",
        "No",
        "0755",
        "1e3",
        "0o14",
        "0x1F",
        "~",
        "null",
        "12",
        "1.5",
        ".inf",
        "- x",
        "a: b",
        "#c",
        "*x",
        "",
        " lead",
        "x #y",
        "2024-01-01",
    ],
)
def test_strings_other_readers_would_take_for_something_else_are_quoted(value: str) -> None:
    from ruamel.yaml import YAML

    out, _ = edit("k: old\n", lambda d: d.update(k=value))
    assert out != f"k: {value}\n"
    assert load_yaml_documents(out, where="x")[0]["k"] == value  # YAML 1.1 (PyYAML, kubectl's go-yaml)
    assert YAML(typ="safe", pure=True).load(out)["k"] == value  # YAML 1.2


@pytest.mark.parametrize("value", [1e20, 1e-07, -2.5e300, 2.5, 3, True, None, float("inf")])
def test_numbers_and_words_read_back_as_the_same_value(value: object) -> None:
    from ruamel.yaml import YAML

    out, methods = edit("a: 1 # keep\nk: old\n", lambda d: d.update(k=value))
    assert methods == {0: SPLICED} and out.startswith("a: 1 # keep\n")  # not a whole rewrite losing comments
    assert load_yaml_documents(out, where="x")[0]["k"] == value  # YAML 1.1: "1e+20" would be a string
    assert YAML(typ="safe", pure=True).load(out)["k"] == value  # YAML 1.2


def test_plain_strings_stay_plain() -> None:
    for value in ("ionos-enterprise-ssd", "1Gi", "registry.example.eu/shop/web:1.4.2", "/healthz", "a:b", "x-1"):
        assert plain_ok(value), value
        assert scalar_text(value) == value
    assert not plain_ok("nginx:1.27,x", flow=True)
    assert not plain_ok("a: b")


def test_a_removed_key_takes_its_comment_lines_and_end_of_line_comment_only() -> None:
    text = """\
metadata:
  annotations:
    # the NLB
    service.beta.kubernetes.io/aws-load-balancer-type: external  # why
    keep: me   # stays
  # about labels
  labels: {a: b}
"""
    out, _ = edit(text, lambda d: d["metadata"]["annotations"].pop("service.beta.kubernetes.io/aws-load-balancer-type"))
    assert (
        out
        == """\
metadata:
  annotations:
    keep: me   # stays
  # about labels
  labels: {a: b}
"""
    )


def test_new_keys_go_after_the_last_entry_before_the_comments_that_follow_it() -> None:
    text = "spec:\n  labels:\n    a: b   # eol\n  # next: the selector\n  selector: {}\n# end\n"
    out, _ = edit(text, lambda d: d["spec"]["labels"].update({"pod-security.kubernetes.io/enforce": "restricted"}))
    assert out == (
        "spec:\n  labels:\n    a: b   # eol\n    pod-security.kubernetes.io/enforce: restricted\n"
        "  # next: the selector\n  selector: {}\n# end\n"
    )


def test_flow_collections_are_edited_in_flow_style() -> None:
    text = "m: {a: 1, b: 2, c: 3}\ns: [x, y]\nn: {}\n"

    def change(d: dict[str, Any]) -> None:
        del d["m"]["b"]
        d["m"]["d"] = "v,w"
        d["s"].insert(1, "new")
        d["n"] = {"k": "v"}

    out, methods = edit(text, change)
    assert out == 'm: {a: 1, c: 3, d: "v,w"}\ns: [x, new, y]\nn:\n  k: v\n'
    assert methods == {0: SPLICED}


@pytest.mark.parametrize("which", [0, 1, 2])
def test_removing_each_entry_of_a_flow_mapping(which: int) -> None:
    keys = ["a", "b", "c"]
    out, _ = edit("m: {a: 1, b: 2, c: 3}  # m\n", lambda d: d["m"].pop(keys[which]))
    rest = [k for k in keys if k != keys[which]]
    assert out == "m: {" + ", ".join(f"{k}: {keys.index(k) + 1}" for k in rest) + "}  # m\n"


def test_the_first_key_of_a_sequence_item_moves_the_next_one_up() -> None:
    text = "items:\n  - name: a   # the name\n    image: x\n    port: 1\n"
    out, _ = edit(text, lambda d: d["items"][0].pop("name"))
    assert out == "items:\n  - image: x\n    port: 1\n"


def test_sequence_items_inserted_and_removed_in_block_style() -> None:
    text = "tolerations:\n  # fargate\n  - key: eks\n    effect: NoSchedule\n  - key: dedicated\n"

    def change(d: dict[str, Any]) -> None:
        del d["tolerations"][0]
        d["tolerations"].append({"key": "new", "values": ["a", "b"]})

    out, _ = edit(text, change)
    assert out == "tolerations:\n  - key: dedicated\n  - key: new\n    values:\n      - a\n      - b\n"


def test_new_nested_sequences_follow_the_files_style() -> None:
    kubectl = "spec:\n  containers:\n  - name: a\n  volumes:\n  - name: v\n"
    out, _ = edit(kubectl, lambda d: d["spec"].update(tolerations=[{"key": "k"}]))
    assert out.endswith("  tolerations:\n  - key: k\n")
    assert detect_style(kubectl).offset == 0
    indented = "spec:\n  containers:\n    - name: a\n"
    out, _ = edit(indented, lambda d: d["spec"].update(tolerations=[{"key": "k"}]))
    assert out.endswith("  tolerations:\n    - key: k\n")


def test_block_scalars_keep_their_style_and_the_blank_lines_after_them() -> None:
    text = "data:\n  script: |-\n    echo aws\n    exit 0\n\n  other: x\n"
    out, _ = edit(text, lambda d: d["data"].update(script="echo ionos\nexit 0"))
    assert out == "data:\n  script: |-\n    echo ionos\n    exit 0\n\n  other: x\n"


def test_a_file_without_a_final_line_break() -> None:
    text = "a:\n  b: 1"
    out, _ = edit(text, lambda d: d["a"].update(c="two\nlines\n"))
    assert load_yaml_documents(out, where="x")[0]["a"]["c"] == "two\nlines\n"
    out, _ = edit(text, lambda d: d.update(z={"k": ["v"]}))
    assert out.startswith("a:\n  b: 1\nz:")


def test_empty_values_are_filled_in_on_their_line() -> None:
    out, _ = edit("a:\nb: 1\n", lambda d: d.update(a="x"))
    assert out == "a: x\nb: 1\n"
    out, _ = edit("a:\nb: 1\n", lambda d: d.update(a={"k": "v"}))
    assert out == "a:\n  k: v\nb: 1\n"


def test_anchors_and_aliases_stay_when_every_use_changes_alike() -> None:
    text = "a: &img 123.dkr.ecr.eu-central-1.amazonaws.com/web:1\nb: *img\n"
    new = "registry.example.eu/web:1"
    out, methods = edit(text, lambda d: d.update(a=new, b=new))
    assert out == f"a: &img {new}\nb: *img\n"
    assert methods == {0: SPLICED}


def test_an_alias_used_differently_falls_back_and_is_reported() -> None:
    text = "a: &img old\nb: *img\n"
    out, methods = edit(text, lambda d: d.update(a="new"))
    assert load_yaml_documents(out, where="x")[0] == {"a": "new", "b": "old"}
    assert methods[0] in (ROUNDTRIP, REWRITTEN)


def test_merge_keys_go_through_the_ruamel_round_trip() -> None:
    text = "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2   # kept\n"
    out, methods = edit(text, lambda d: d["use"].update(x=5))
    assert methods == {0: ROUNDTRIP}
    assert "# kept" in out


def test_the_last_resort_rewrites_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> str:
        raise CannotSplice("test")

    monkeypatch.setattr(writer, "splice", broken)
    monkeypatch.setattr(writer, "_roundtrip", lambda *_: "not: [valid")
    out, methods = edit("---\na: 1  # c\n", lambda d: d.update(a=2))
    assert methods == {0: REWRITTEN}
    assert out == "---\na: 2\n"


def test_documents_markers_and_comments_between_documents_stay() -> None:
    text = "%YAML 1.1\n---\n# one\na: 1\n...\n# between\n--- # two\nb: 2\n---\nc: 3\n"
    out, methods = edit(text, lambda d: d.update(b=20), index=1)
    assert out == text.replace("b: 2", "b: 20")
    assert methods == {1: SPLICED}


def test_dropped_documents_leave_a_comment_and_their_neighbours_alone() -> None:
    text = "# head\na: 1\n---\n# about b\nb: 2\n---\nc: 3\n"
    file = SourceFile.parse("f.yaml", text)
    out, _ = rewrite(file, {1: DocPlan(drop="portkit: removed b")})
    assert out == "# head\na: 1\n---\n# about b\n# portkit: removed b\n---\nc: 3\n"
    out, _ = rewrite(file, {0: DocPlan(note="portkit: keep a knowingly")})
    assert out == "# head\n# portkit: keep a knowingly\na: 1\n---\n# about b\nb: 2\n---\nc: 3\n"


def test_list_items_are_removed_with_a_comment() -> None:
    text = "kind: List\nitems:\n  - kind: A\n    n: 1\n  # second\n  - kind: B\n"
    file = SourceFile.parse("f.yaml", text)
    plan = DocPlan(
        expected={"kind": "List", "items": [{"kind": "B"}]},
        unchanged=False,
        comments=[CommentAt(("items", 0), "portkit: removed A")],
    )
    out, _ = rewrite(file, {0: plan})
    assert out == "kind: List\nitems:\n  # portkit: removed A\n  # second\n  - kind: B\n"


def test_splice_refuses_what_it_cannot_express() -> None:
    with pytest.raises(CannotSplice):
        splice("a: 1\n", diff({"a": 1}, 5))  # the whole document becomes a scalar
    with pytest.raises(CannotSplice):
        splice("- - a\n  - b\n", diff([["a", "b"]], [["z", "a", "b"]]))  # a sequence starting on a dash line


def test_crlf_files_are_written_back_with_crlf(tmp_path: Path) -> None:
    (tmp_path / "pvc.yaml").write_bytes(
        b"apiVersion: v1\r\nkind: PersistentVolumeClaim\r\nmetadata:\r\n  name: data\r\n  namespace: shop\r\n"
        b"spec:\r\n  storageClassName: gp3   # fast\r\n  accessModes: [ReadWriteOnce]\r\n"
        b"  resources: {requests: {storage: 10Gi}}\r\n"
    )
    translate_tree(tmp_path, "aws", "ionos", in_place=True)
    data = (tmp_path / "pvc.yaml").read_bytes()
    assert b"storageClassName: ionos-enterprise-ssd   # fast\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_a_block_value_written_at_the_end_of_a_file_without_a_final_line_break() -> None:
    out, methods = edit("a: 1", lambda d: d.update(a={"k": "two\nlines\n"}))
    assert methods == {0: SPLICED}
    assert out == "a:\n  k: |\n    two\n    lines\n"


def test_a_flow_mapping_whose_keys_all_change_is_written_whole() -> None:
    out, methods = edit("s: {requests: {storage: 1Gi}}\n", lambda d: d["s"].update({"requests": {"cpu": "1"}}))
    assert methods == {0: SPLICED}
    assert out == 's: {requests: {cpu: "1"}}\n'
