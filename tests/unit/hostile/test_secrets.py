"""Secrets stay secret: an OpenShift dockercfg Secret (with its ServiceAccount token annotation) through export,
translate, lint, reports, a Migration's work directory, encryption at rest, child processes and API errors.

Every test here failed before the fix it names (issue 12, "Secrets stay secret"). No cluster: the unit-level
fakes of ``test_export_unit`` (discovery, list, get) and ``test_replay_flow`` (a simplified API server).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_export_unit import FakeDiscoveryCluster, mk
from test_replay_flow import FakeCluster, ns, secret

from portkit import redact
from portkit._childenv import child_environment
from portkit._cipher import KEY_ENV, Cipher, environment_key, key_taken_from_environment
from portkit.bundle import MANIFEST, Bundle, BundleFormatWarning, generate_key, object_path, upgrade
from portkit.cli import build_parser, main
from portkit.errors import BundleError, ConfigurationError
from portkit.export import ExportReport, export
from portkit.fleet import KEY_DIR, plan_fleet
from portkit.migration import Migration
from portkit.model import ObjectRef
from portkit.replay import apply, plan
from portkit.sanitize import sanitize, strip_secret_credential_annotations
from portkit.translate import BaseTranslator, Change, Item, register_translator, translate, unregister_translator
from portkit.volumes.velero import VeleroCLI

Obj = dict[str, Any]

#: The ServiceAccount token OpenShift puts on the dockercfg Secret (made up; JWT-shaped).
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDpidWlsZGVyIn0.c2lnbmF0dXJlLXRva2Vu"
DOCKERCFG = json.dumps(
    {"image-registry.openshift-image-registry.svc:5000": {"username": "serviceaccount", "password": TOKEN}}
)
DOCKERCFG_B64 = base64.b64encode(DOCKERCFG.encode()).decode()
#: A value in another annotation of a Secret that no export rule strips.
HINT = "the-db-password-is-correct-horse"


def dockercfg_secret(namespace: str = "shop") -> Obj:
    """The Secret OpenShift's controller makes for every ServiceAccount, as ``oc get -o yaml`` shows it."""
    last_applied = {"apiVersion": "v1", "kind": "Secret", "data": {".dockercfg": DOCKERCFG_B64}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "builder-dockercfg-x7k2p",
            "namespace": namespace,
            "annotations": {
                "kubernetes.io/service-account.name": "builder",
                "openshift.io/token-secret.name": "builder-token-q9w8e",
                "openshift.io/token-secret.value": TOKEN,
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(last_applied),
            },
        },
        "type": "kubernetes.io/dockercfg",
        "data": {".dockercfg": DOCKERCFG_B64},
    }


def hinted_secret(namespace: str = "shop") -> Obj:
    """A Secret with an OpenShift-prefixed annotation (removed by translation) holding something secret."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": namespace, "annotations": {"openshift.io/description": HINT}},
        "type": "Opaque",
        "data": {"password": base64.b64encode(b"hunter2-hunter2").decode()},
    }


def namespace(name: str = "shop") -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def leaks(text: str) -> list[str]:
    """The secret strings found in ``text``."""
    found = [s for s in (TOKEN, DOCKERCFG_B64, HINT, "hunter2-hunter2") if s in text]
    return found


def write_manifests(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "secrets.yaml"
    path.write_text(yaml.safe_dump_all([namespace(), dockercfg_secret(), hinted_secret()]))
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------------------------ export / sanitize


def test_sanitize_strips_token_and_last_applied_annotations_from_secrets_and_names_them() -> None:
    obj = dockercfg_secret()
    removed = strip_secret_credential_annotations(obj)
    assert removed == [
        "annotation kubectl.kubernetes.io/last-applied-configuration",
        "annotation openshift.io/token-secret.name",
        "annotation openshift.io/token-secret.value",
    ]
    assert obj["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "builder"}
    assert not leaks(json.dumps(removed))
    stripped: list[str] = []
    sanitize(dockercfg_secret(), stripped=stripped)
    assert "annotation openshift.io/token-secret.value" in stripped


def test_export_strips_the_token_and_reports_it_without_the_value(tmp_path: Path) -> None:
    listed = dockercfg_secret()
    listed["metadata"].update(uid="uid-dockercfg", resourceVersion="3")  # as the API server lists it
    fake = FakeDiscoveryCluster([mk("v1", "Namespace", "shop", None), listed])
    bundle = export(fake, ["shop"], tmp_path / "b")  # type: ignore[arg-type]
    exported = bundle.get("Secret", "builder-dockercfg-x7k2p")
    assert exported is not None
    assert set(exported["metadata"]["annotations"]) == {"kubernetes.io/service-account.name"}
    on_disk = "".join(p.read_text() for p in (tmp_path / "b").rglob("*.yaml"))
    assert TOKEN not in on_disk
    report = ExportReport.from_bundle(bundle)
    assert report.stripped == {
        "Secret": {
            "annotation kubectl.kubernetes.io/last-applied-configuration": 1,
            "annotation openshift.io/token-secret.name": 1,
            "annotation openshift.io/token-secret.value": 1,
        }
    }
    rendered = report.to_text() + json.dumps(report.to_dict()) + report._repr_html_() + repr(report)
    assert "openshift.io/token-secret.value" in report.to_text()
    assert not leaks(rendered)


# ------------------------------------------------------------------------------------ translate / lint


def test_translate_never_records_secret_annotation_values(tmp_path: Path) -> None:
    bundle = Bundle.from_manifests(write_manifests(tmp_path))  # `oc get -o yaml` output: never sanitized
    t = translate(bundle, source="openshift", target="ionos")
    removed = [c for c in t.changes if c.path == "/metadata/annotations/openshift.io~1token-secret.value"]
    assert removed and removed[0].old == redact.REDACTED and removed[0].op == "remove"
    rendered = (
        t.to_text() + json.dumps(t.to_dict(), default=str) + t._repr_html_() + repr(t) + str(t)
        + "".join(str(c) + repr(c) for c in t.changes)
        + "".join(str(w) for w in (*t.warnings, *t.manual_actions))
    )  # fmt: skip
    assert not leaks(rendered), leaks(rendered)


def test_change_records_made_any_way_redact_secret_values() -> None:
    ref = ObjectRef("", "v1", "Secret", "shop", "db")
    assert Change(ref, "/metadata/annotations/a", TOKEN, None, "mine", "why", "remove").old == redact.REDACTED
    whole = Change(ref, "/metadata", {"annotations": {"a": TOKEN}, "labels": {"app": "db"}}, None, "mine", "why")
    assert whole.old == {"annotations": {"a": redact.REDACTED}, "labels": {"app": "db"}}
    assert Change(ref, "/data", {"k": DOCKERCFG_B64}, None, "m", "r").old == {"k": redact.REDACTED}
    assert Change(ref, "/stringData/k", None, HINT, "m", "r").new == redact.REDACTED
    assert Change(ref, "/type", "Opaque", "x", "m", "r").new == "x"  # not a secret value
    cm = ObjectRef("", "v1", "ConfigMap", "shop", "c")
    assert Change(cm, "/metadata/annotations/a", "visible", None, "m", "r").old == "visible"


def test_a_rule_or_plugin_cannot_leak_secret_values_into_changes_or_warnings(tmp_path: Path) -> None:
    class Chatty(BaseTranslator):
        name = "chatty-test"
        order = 95
        kinds = frozenset({"Secret"})

        def translate(self, item: Item, ctx: Any) -> None:
            value = item.get("metadata", "annotations", "openshift.io/token-secret.value")
            if value:
                item.set(("metadata", "annotations", "copy"), value, reason=f"copied {value}")
                item.warn(f"token is {value}")
                item.manual(f"rotate {value}")
                ctx.warn(item.ref, f"(through the context) token is {value}")

    register_translator(Chatty())
    try:
        t = translate([dockercfg_secret()], source="openshift", target="openshift")
    finally:
        unregister_translator("chatty-test")
    assert [c.new for c in t.changes if c.path.endswith("/copy")] == [redact.REDACTED]
    assert len(t.warnings) == 2 and t.manual_actions
    assert not leaks(json.dumps(t.to_dict(), default=str) + t.to_text())


def test_lint_text_and_json_never_print_the_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_manifests(tmp_path / "in")
    for fmt in ("text", "json"):
        rc = main(["lint", str(source), "--from", "openshift", "--to", "ionos", "-o", fmt])
        out = capsys.readouterr()
        assert rc in (0, 3), out.err
        assert "openshift.io~1token-secret.value" in out.out  # the change is reported ...
        assert not leaks(out.out + out.err), leaks(out.out + out.err)  # ... its value is not


def test_translate_report_file_is_0600_and_redacted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_manifests(tmp_path / "in")
    report = tmp_path / "report.json"
    report.write_text("old report\n")
    os.chmod(report, 0o644)  # an earlier, world-readable file is replaced, not kept at 0644
    rc = main(
        ["translate", str(source), "--from", "openshift", "--to", "ionos", "-o", str(tmp_path / "out"),
         "--report", str(report)]
    )  # fmt: skip
    out = capsys.readouterr()
    assert rc in (0, 3), out.err
    assert mode(report) == 0o600
    text = report.read_text()
    assert "openshift.io~1token-secret.value" in text and not leaks(text + out.out + out.err)


# -------------------------------------------------------------------------------------------- Migration


def test_migration_workdir_files_are_private_redacted_and_encrypted(tmp_path: Path) -> None:
    source = FakeDiscoveryCluster([mk("v1", "Namespace", "shop", None), dockercfg_secret(), hinted_secret()])
    key = generate_key()
    m = Migration(
        source=source,  # type: ignore[arg-type]
        target=FakeDiscoveryCluster([]),  # type: ignore[arg-type]
        namespaces=["shop"],
        source_provider="openshift",
        target_provider="ionos",
        workdir=tmp_path / "mig",
        encryption_key=key,
    )
    t = m.translate()
    assert t.changes
    workdir = tmp_path / "mig"
    assert mode(workdir) == 0o700
    for name in ("translation.json", "state.json"):
        assert mode(workdir / name) == 0o600, name
    translation = (workdir / "translation.json").read_text()
    assert "openshift.io~1description" in translation  # the removal is recorded ...
    assert not leaks(translation), leaks(translation)  # ... without the value
    files = "".join(p.read_text() for p in workdir.rglob("*.yaml"))
    assert not leaks(files), leaks(files)  # data and annotations encrypted in export/ and translated/
    report = ExportReport.from_bundle(m.export())
    assert "annotation openshift.io/token-secret.value" in report.stripped["Secret"]
    assert key not in repr(m) + repr(m.export()) + json.dumps(m.report().to_dict(), default=str)


# ------------------------------------------------------------------------------------------- encryption


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.yaml")}


def _edit(root: Path, ref: ObjectRef, change: Any) -> None:
    """Edit an object file and make its checksum match again (what an attacker with write access can do)."""
    rel = object_path(ref)
    path = root / rel
    path.write_text(change(path.read_text()))
    manifest = yaml.safe_load((root / MANIFEST).read_text())
    for entry in manifest["objects"]:
        if entry["file"] == rel:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (root / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))


def _two_secrets() -> list[Obj]:
    a, b = hinted_secret(), hinted_secret()
    b["metadata"]["name"] = "other"
    b["data"] = {"password": base64.b64encode(b"a-different-password").decode()}
    b["metadata"]["annotations"] = {"openshift.io/description": "another hint"}
    return [namespace(), a, b, dockercfg_secret()]


def _value_line(text: str, key: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(f"{key}:"))


def test_secret_annotations_are_encrypted_and_round_trip(tmp_path: Path) -> None:
    key = generate_key()
    Bundle(_two_secrets()).save(tmp_path / "b", key=key)
    files = "".join(_files(tmp_path / "b").values())
    assert not leaks(files), leaks(files)
    assert "openshift.io/token-secret.value:" in files  # keys stay readable
    manifest = yaml.safe_load((tmp_path / "b" / MANIFEST).read_text())
    assert manifest["format"] == 2 and manifest["encryption"]["scheme"] == "aes-256-gcm"
    loaded = Bundle.load(tmp_path / "b", key=key)
    assert loaded.get("Secret", "builder-dockercfg-x7k2p") == dockercfg_secret()
    assert loaded.get("Secret", "db")["metadata"]["annotations"]["openshift.io/description"] == HINT  # type: ignore[index]


def test_a_ciphertext_copied_into_another_secret_does_not_load(tmp_path: Path) -> None:
    key = generate_key()
    root = tmp_path / "b"
    Bundle(_two_secrets()).save(root, key=key)
    db, other = ObjectRef("", "v1", "Secret", "shop", "db"), ObjectRef("", "v1", "Secret", "shop", "other")
    stolen = _value_line((root / object_path(db)).read_text(), "password")
    _edit(root, other, lambda text: text.replace(_value_line(text, "password"), stolen))
    with pytest.raises(BundleError, match=r"other\.yaml: data\[password\]: the encrypted value does not belong here"):
        Bundle.load(root, key=key)


def test_a_ciphertext_moved_to_another_field_of_the_same_secret_does_not_load(tmp_path: Path) -> None:
    key = generate_key()
    root = tmp_path / "b"
    Bundle(_two_secrets()).save(root, key=key)
    ref = ObjectRef("", "v1", "Secret", "shop", "db")

    def swap(text: str) -> str:
        data_value = _value_line(text, "password").split(":", 1)[1]
        hint = _value_line(text, "openshift.io/description")
        return text.replace(hint, hint.split(":", 1)[0] + ":" + data_value)

    _edit(root, ref, swap)
    with pytest.raises(BundleError, match="does not belong here"):
        Bundle.load(root, key=key)


def test_removed_encrypted_flags_never_load_ciphertext_as_data(tmp_path: Path) -> None:
    key = generate_key()
    root = tmp_path / "b"
    Bundle(_two_secrets()).save(root, key=key)
    manifest = yaml.safe_load((root / MANIFEST).read_text())
    for entry in manifest["objects"]:
        entry.pop("encrypted", None)
    (root / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
    with pytest.raises(BundleError, match="not marked encrypted"):
        Bundle.load(root, key=key)
    del manifest["encryption"]  # and the section too: the files still hold ciphertext
    (root / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
    for with_key in (key, None):
        with pytest.raises(BundleError, match=r"holds an encrypted value, but .* is not marked encrypted"):
            Bundle.load(root, key=with_key)


def test_a_secret_whose_data_is_not_a_mapping_is_refused_when_encrypting(tmp_path: Path) -> None:
    broken = hinted_secret()
    broken["data"] = "not-a-map-" + HINT
    with pytest.raises(BundleError, match=r"shop/db: data is not a mapping") as info:
        Bundle([broken]).save(tmp_path / "b", key=generate_key())
    assert HINT not in str(info.value)
    assert not (tmp_path / "b").exists()  # nothing half-written that could not be read back


def test_a_plain_value_in_an_encrypted_bundle_is_refused(tmp_path: Path) -> None:
    key = generate_key()
    root = tmp_path / "b"
    Bundle(_two_secrets()).save(root, key=key)
    ref = ObjectRef("", "v1", "Secret", "shop", "db")
    planted = base64.b64encode(b"attacker-chosen").decode()
    _edit(root, ref, lambda text: text.replace(_value_line(text, "password"), f"  password: {planted}"))
    with pytest.raises(BundleError, match=r"data\[password\] holds a plain value, but the bundle is encrypted"):
        Bundle.load(root, key=key)


def _format1_bundle(root: Path, key: str) -> None:
    """A bundle exactly as format 1 (Fernet, data and stringData only) wrote it."""
    from cryptography.fernet import Fernet

    Bundle(_two_secrets()).save(root)  # plain, then encrypted the way format 1 did
    fernet = Fernet(key.encode())
    manifest = yaml.safe_load((root / MANIFEST).read_text())
    manifest["format"] = 1
    manifest["encryption"] = {"scheme": "fernet", "kinds": ["Secret"]}
    for entry in manifest["objects"]:
        if entry["ref"]["kind"] != "Secret":
            continue
        path = root / entry["file"]
        obj = yaml.safe_load(path.read_text())
        obj["data"] = {k: "portkit-fernet:" + fernet.encrypt(v.encode()).decode() for k, v in obj["data"].items()}
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        entry["encrypted"] = True
    (root / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))


def test_format1_bundles_load_with_a_warning_and_upgrade_to_format2(tmp_path: Path) -> None:
    key = generate_key()
    root = tmp_path / "b"
    _format1_bundle(root, key)
    with pytest.warns(BundleFormatWarning, match="bundle format 1"):
        old = Bundle.load(root, key=key)
    assert old.get("Secret", "db")["data"]["password"] == hinted_secret()["data"]["password"]  # type: ignore[index]
    assert HINT in (root / object_path(ObjectRef("", "v1", "Secret", "shop", "db"))).read_text()  # format 1: plain

    upgraded = upgrade(root, key=key)
    manifest = yaml.safe_load((root / MANIFEST).read_text())
    assert manifest["format"] == 2 and manifest["encryption"]["scheme"] == "aes-256-gcm"
    files = "".join(_files(root).values())
    assert "portkit-fernet:" not in files and not leaks(files)
    assert upgraded.get("Secret", "db") == hinted_secret()
    Bundle.load(root, key=key)  # no warning any more (warnings are errors in this suite)


def test_format1_bundle_with_removed_flags_is_refused(tmp_path: Path) -> None:
    key = generate_key()
    root = tmp_path / "b"
    _format1_bundle(root, key)
    manifest = yaml.safe_load((root / MANIFEST).read_text())
    del manifest["encryption"]
    for entry in manifest["objects"]:
        entry.pop("encrypted", None)
    (root / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
    with pytest.raises(BundleError, match="holds an encrypted value"):
        Bundle.load(root, key=key)


def test_bundle_upgrade_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = generate_key()
    root = tmp_path / "b"
    _format1_bundle(root, key)
    key_file = tmp_path / "key"
    key_file.write_text(key + "\n")
    assert main(["bundle", "upgrade", str(root), "--key-file", str(key_file)]) == 0
    out = capsys.readouterr()
    assert key not in out.out + out.err
    assert yaml.safe_load((root / MANIFEST).read_text())["format"] == 2


def test_the_key_is_never_in_reprs_or_errors(tmp_path: Path) -> None:
    key = generate_key()
    cipher = Cipher(key)
    bundle = Bundle(_two_secrets()).save(tmp_path / "b", key=key)
    assert key not in repr(cipher) + repr(bundle) + bundle.to_text() + json.dumps(bundle.to_dict())
    wrong = generate_key()
    with pytest.raises(BundleError) as info:
        Bundle.load(tmp_path / "b", key=wrong)
    assert key not in str(info.value) and wrong not in str(info.value)
    bad = "not-a-key-but-secret-text"
    with pytest.raises(ConfigurationError) as bad_info:
        Cipher(bad)
    assert bad not in str(bad_info.value)


# ---------------------------------------------------------------------------------------------- --key-file


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "-n", "shop", "-o", "d"],
        ["translate", "d", "--to", "ionos", "-o", "e"],
        ["lint", "d", "--to", "ionos"],
        ["plan", "d"],
        ["apply", "d"],
        ["migrate", "-n", "shop", "--to", "ionos"],
        ["bundle", "upgrade", "d"],
    ],
)
def test_every_command_that_reads_bundles_takes_a_key_file(argv: list[str]) -> None:
    args = build_parser().parse_args([*argv, "--key-file", "k"])
    assert args.key_file == "k"


def test_translate_and_lint_read_encrypted_bundles_with_a_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    key = generate_key()
    key_file = tmp_path / "key"
    key_file.write_text(key)
    Bundle([namespace(), dockercfg_secret(), hinted_secret()], meta={"source": {"provider": "openshift"}}).save(
        tmp_path / "b", key=key
    )
    assert main(["lint", str(tmp_path / "b"), "--to", "ionos"]) == 1  # no key: a clear error
    assert "no key was given" in capsys.readouterr().err
    assert main(["lint", str(tmp_path / "b"), "--to", "ionos", "--key-file", str(key_file)]) in (0, 3)
    out_dir = tmp_path / "o"
    rc = main(["translate", str(tmp_path / "b"), "--to", "ionos", "-o", str(out_dir), "--key-file", str(key_file)])
    out = capsys.readouterr()
    assert rc in (0, 3) and not leaks(out.out + out.err)
    assert not leaks("".join(_files(tmp_path / "o").values()))  # the translated bundle is encrypted too
    assert Bundle.load(tmp_path / "o", key=key).get("Secret", "db") is not None


def test_fleet_units_get_the_key_from_a_secret_never_inline() -> None:
    fleet = plan_fleet(
        ["shop"], image="portkit:1", source_secret="src", target_secret="dst", to_provider="ionos",
        workspace_pvc="work", key_secret="bundle-key",
    )  # fmt: skip
    pod = fleet.jobs[0]["spec"]["template"]["spec"]
    assert {"name": "bundle-key", "mountPath": KEY_DIR, "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert any(v.get("secret", {}).get("secretName") == "bundle-key" for v in pod["volumes"])
    args = pod["containers"][0]["args"]
    assert args[args.index("--key-file") + 1] == f"{KEY_DIR}/key"


# ------------------------------------------------------------------------------------- child processes


def test_velero_runs_without_the_bundle_key_in_its_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "a-bundle-key-never-for-children")
    monkeypatch.setenv("PORTKIT_VELERO", "/bin/true")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    printenv = "/usr/bin/env"
    run = VeleroCLI(binary=printenv, check_version=False).run([], global_flags=False)
    names = {line.split("=", 1)[0] for line in run.stdout.splitlines() if "=" in line}
    assert KEY_ENV not in names and "PORTKIT_VELERO" not in names
    assert "a-bundle-key-never-for-children" not in run.stdout
    assert {"PATH", "HTTPS_PROXY"} <= names  # what velero and exec plugins need still passes
    assert KEY_ENV not in child_environment()


def test_the_cli_keeps_the_key_out_of_the_environment_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    monkeypatch.setenv(KEY_ENV, key)
    seen: dict[str, Any] = {}

    def fake_upgrade(path: str, *, key: str | None = None) -> Bundle:
        seen["environ"] = os.environ.get(KEY_ENV)
        seen["default"] = environment_key()
        return Bundle([])

    monkeypatch.setattr("portkit.bundle.upgrade", fake_upgrade)
    assert main(["bundle", "upgrade", str(tmp_path)]) == 0
    assert seen == {"environ": None, "default": key}  # not inherited by children; still the default key
    assert os.environ[KEY_ENV] == key  # put back afterwards
    with key_taken_from_environment():
        assert KEY_ENV not in os.environ and environment_key() == key
    assert environment_key() == key


# ------------------------------------------------------------------------------ API Status messages


def test_status_messages_quoting_a_secret_value_are_redacted(tmp_path: Path) -> None:
    fake = FakeCluster()
    fake.add(ns("shop"))
    value = "s3cr3t-from-the-bundle"
    fake.reject = lambda obj: (
        f'data[password]: Invalid value: "{value}": must be shorter; stringData[password]={value}'
        if obj["kind"] == "Secret"
        else None
    )
    p = plan([ns("shop"), secret("db", value=value)], fake)  # type: ignore[arg-type]
    action = p.action("Secret", "db")
    assert action is not None and "Invalid value" in action.error
    shown = p.to_text() + json.dumps(p.to_dict()) + p._repr_html_() + p.diff() + repr(action)
    fake.reject = lambda obj: (
        f'Secret "db" is invalid: metadata.annotations: Invalid value: "{value}"' if obj["kind"] == "Secret" else None
    )
    result = apply(p, workdir=tmp_path / "work")
    failed = result.result("Secret", "db")
    assert failed is not None and failed.outcome == "failed" and "Invalid value" in failed.message
    shown += result.to_text() + json.dumps(result.to_dict()) + result._repr_html_()
    journal = (tmp_path / "work" / "journal.jsonl").read_text()
    assert '"event":"failed"' in journal
    assert value not in shown + journal
    assert base64.b64encode(value.encode()).decode() not in shown + journal


def test_redact_message_scrubs_every_form_of_a_value() -> None:
    obj = dockercfg_secret()
    message = f'bad: {TOKEN} / {json.dumps(DOCKERCFG)} / Invalid value: map[string]string{{"a":"x y"}}'
    out = redact.redact_message(message, obj)
    assert TOKEN not in out and "x y" not in out and redact.REDACTED in out
    assert redact.redact_message(message, {"apiVersion": "v1", "kind": "ConfigMap"}) == message
