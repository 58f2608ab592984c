"""The wheel, as a user gets it: built from the checkout's files, installed into a fresh virtualenv with plain
``pip install portkit`` (no extras), then ``portkit --version``, ``python -m portkit --version`` and
``portkit demo --offline`` run from outside the checkout.

Dependencies come from a wheelhouse in the portkit cache (``~/.cache/portkit/wheelhouse``), filled from PyPI
the first time (``pip download``) and used with ``--no-index`` afterwards, so later runs need no network.
No cluster is started; it is an integration test because it takes about 15-20 s (build, venv, install).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from portkit.testing.binaries import cache_dir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = cache_dir() / "wheelhouse"


def _run(argv: list[str | Path], *, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def _checkout_files() -> list[str]:
    """What a clean clone has (tracked files, plus new ones not ignored): what the wheel is built from."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [f for f in out.splitlines() if (ROOT / f).exists() or (ROOT / f).is_symlink()]


def _copy_checkout(dest: Path) -> None:
    for name in _checkout_files():
        src, dst = ROOT / name, dest / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_file():
            shutil.copy2(src, dst)


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(meta).decode().splitlines()
    required = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Requires-Dist:")]
    return [r for r in required if "extra ==" not in r]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the wheel, the build log)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src, dist = tmp / "src", tmp / "dist"
    _copy_checkout(src)
    proc = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, src], cwd=tmp)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = dist.glob("portkit-*.whl")
    return wheel, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def venv(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with ``pip install portkit`` from the wheel (no extras); returns its bin directory."""
    wheel, _ = built
    root = tmp_path_factory.mktemp("venv") / "venv"
    proc = _run([sys.executable, "-m", "venv", "--without-pip", root], cwd=root.parent)
    assert proc.returncode == 0, proc.stderr
    install = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        root / "bin" / "python",
        "install",
        "-q",
        "--no-index",
        "--find-links",
        wheel.parent,
        "--find-links",
        WHEELHOUSE,
        "portkit",
    ]
    proc = _run(install, cwd=root.parent)
    if proc.returncode != 0:  # the wheelhouse lacks a dependency: fetch them once from PyPI
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        fetch = _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary=:all:",
                "-d",
                WHEELHOUSE,
                *_requirements(wheel),
            ],
            cwd=root.parent,
            timeout=600,
        )
        assert fetch.returncode == 0, fetch.stderr[-3000:]
        proc = _run(install, cwd=root.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "bin"


def test_the_build_does_not_warn(built: tuple[Path, str]) -> None:
    _, log = built
    assert not re.search(r"deprecat|SetuptoolsWarning|BuildBackendWarning", log, re.IGNORECASE), log[-3000:]


def test_the_wheel_holds_the_package_its_data_and_the_licence(built: tuple[Path, str]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    package = [f for f in _checkout_files() if f.startswith("portkit/") and "__pycache__" not in f]
    missing = sorted(set(package) - names)
    assert not missing, f"in the checkout but not in the wheel: {missing}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
    assert "Requires-Dist: urllib3" in meta and not re.search(r"Requires-Dist: kubernetes.*<", meta)


def test_installed_wheel_version_and_offline_demo(venv: Path, tmp_path: Path) -> None:
    from portkit import __version__

    version = _run([venv / "portkit", "--version"], cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"portkit {__version__}", version.stderr
    module = _run([venv / "python", "-m", "portkit", "--version"], cwd=tmp_path)
    assert module.returncode == 0 and module.stdout.strip() == f"portkit {__version__}", module.stderr
    demo = _run([venv / "portkit", "demo", "--offline", "--workdir", tmp_path / "demo"], cwd=tmp_path, timeout=120)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "plan against the RECORDED target 'ionos-local'" in demo.stdout
    assert "Plan for 22 objects into ionos-local (recorded): 22 create." in demo.stdout
    # the sample came from the installed package, not from a checkout
    sample = re.search(r"reading the sample shop's manifests \((.+)\)", demo.stderr)
    assert sample and str(venv.parent) in sample.group(1) and str(ROOT) not in sample.group(1)
    assert (tmp_path / "demo" / "plan.json").exists() and "Traceback" not in demo.stderr


def test_installed_wheel_without_the_local_extra(venv: Path, tmp_path: Path) -> None:
    """A plain install has no cryptography: LocalCluster still imports, and `portkit demo` says what to install."""
    probe = _run(
        [venv / "python", "-c", "import importlib.util as u; print(u.find_spec('cryptography') is None)"], cwd=tmp_path
    )
    assert probe.stdout.strip() == "True", "cryptography came with a plain install: this test shows nothing"
    imported = _run(
        [venv / "python", "-c", "from portkit.testing import LocalCluster; print(LocalCluster.__name__)"], cwd=tmp_path
    )
    assert imported.returncode == 0 and imported.stdout.strip() == "LocalCluster", imported.stderr
    live = _run([venv / "portkit", "demo", "--workdir", tmp_path / "live"], cwd=tmp_path, timeout=60)
    assert live.returncode == 1
    assert "pip install 'portkit[local]'" in live.stderr and "portkit demo --offline" in live.stderr
    assert "Traceback" not in live.stderr and not (tmp_path / "live" / "clusters").exists()
