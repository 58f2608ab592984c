"""Container images for the real nodes of local clusters, made locally (no registry is reachable).

Each image is written as an OCI image-layout archive (``oci-layout``, ``index.json`` and content-addressed
blobs, one uncompressed layer) that ``ctr images import`` loads into a node's containerd. The archives are
cached by content under ``$PORTKIT_CACHE_DIR/images``, so a machine builds each one once.

The images:

- :data:`BUSYBOX` — a real busybox (Debian's statically linked ``busybox-static``, ``/bin/busybox``) with a
  link per applet, ``/etc/passwd`` and ``/etc/group`` (``nobody`` is 65534) and a world-writable ``/tmp``.
- :data:`PAUSE` — the pod sandbox image: a tiny Go program (``gomod/node/pause``) that waits for SIGTERM.
- :data:`VELERO` — the Velero binary and ``velero-restore-helper`` built by :mod:`portkit.testing.velero`,
  for the node agent DaemonSet and the restore helper init container.
- :data:`portkit.volumes.verify.DEFAULT_IMAGE` — the busybox again, under the public reference portkit's
  data verification uses by default, the way a registry mirror would serve it (tests run the default path).

``pods`` use these references with ``imagePullPolicy: IfNotPresent``. :meth:`LocalCluster.load_image` loads
more (an archive path or one of these references).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from portkit.errors import LocalClusterError
from portkit.testing.binaries import Progress, _ensure, _Lock, _log_progress, _run_go, cache_dir

__all__ = [
    "BUSYBOX",
    "BUSYBOX_BINARY",
    "PAUSE",
    "VELERO",
    "ImageFile",
    "archive_reference",
    "builtin_images",
    "busybox_app_image",
    "ensure_image",
    "oci_archive",
]

BUSYBOX_BINARY = Path("/bin/busybox")
"""Where Debian's ``busybox-static`` package installs busybox (``apt-get install busybox-static``)."""
BUSYBOX = "localhost/portkit/busybox:1"
"""A real busybox (``sh``, ``sha256sum``, ``find``, ``dd`` ...); pods use it with ``IfNotPresent``."""
PAUSE = "localhost/portkit/pause:1"
"""The pod sandbox image real nodes' containerd is configured with."""

_GOMOD = Path(__file__).parent / "gomod"
_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def _velero_ref() -> str:
    from portkit.testing.velero import VELERO_VERSION

    return f"docker.io/velero/velero:{VELERO_VERSION}"


VELERO = _velero_ref()
"""The Velero image (``/velero``, ``/velero-restore-helper``) under the name Velero itself defaults to."""


@attrs.frozen
class ImageFile:
    """One entry of an image's file system: a file (``source`` path or ``data``), a directory or a symlink."""

    path: str
    source: Path | None = None
    data: bytes | None = None
    mode: int = 0o644
    link: str | None = None
    directory: bool = False


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _layer_tar(files: Iterable[ImageFile], out: io.BufferedIOBase) -> None:
    """Write a reproducible layer (sorted, owned by root, mtime 0) with every parent directory present."""
    entries = {f.path.strip("/"): f for f in files}
    dirs: set[str] = set()
    for path in list(entries):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    for d in dirs:
        entries.setdefault(d, ImageFile(d, directory=True, mode=0o755))
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            f = entries[path]
            info = tarfile.TarInfo(path)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            info.mode = f.mode
            if f.directory:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif f.link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = f.link
                info.mode = 0o777
                tar.addfile(info)
            elif f.source is not None:
                info.size = f.source.stat().st_size
                with f.source.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                data = f.data or b""
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def oci_archive(
    ref: str,
    files: Sequence[ImageFile],
    dest: Path,
    *,
    entrypoint: Sequence[str] | None = None,
    cmd: Sequence[str] | None = None,
    env: Sequence[str] = (_PATH_ENV,),
    user: str | None = None,
) -> Path:
    """Write an OCI image-layout archive of one layer holding ``files``, named ``ref``, to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="image-", dir=dest.parent) as tmp:
        blobs = Path(tmp) / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        layer_path = Path(tmp) / "layer.tar"
        with layer_path.open("wb") as fh:
            _layer_tar(files, fh)
        layer_digest = _sha256_file(layer_path)
        layer_size = layer_path.stat().st_size
        layer_path.rename(blobs / layer_digest)

        def blob(content: dict[str, Any]) -> tuple[str, int]:
            raw = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
            digest = hashlib.sha256(raw).hexdigest()
            (blobs / digest).write_bytes(raw)
            return digest, len(raw)

        config: dict[str, Any] = {"Env": list(env)}
        if entrypoint:
            config["Entrypoint"] = list(entrypoint)
        if cmd:
            config["Cmd"] = list(cmd)
        if user:
            config["User"] = user
        config_digest, config_size = blob(
            {
                "architecture": _arch(),
                "os": "linux",
                "config": config,
                "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
                "history": [{"created_by": "portkit.testing.images", "comment": ref}],
            }
        )
        manifest_digest, manifest_size = blob(
            {
                "schemaVersion": 2,
                "mediaType": _OCI_MANIFEST,
                "config": {"mediaType": _OCI_CONFIG, "digest": f"sha256:{config_digest}", "size": config_size},
                "layers": [{"mediaType": _OCI_LAYER, "digest": f"sha256:{layer_digest}", "size": layer_size}],
            }
        )
        tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
        index = {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": _OCI_MANIFEST,
                    "digest": f"sha256:{manifest_digest}",
                    "size": manifest_size,
                    "platform": {"architecture": _arch(), "os": "linux"},
                    "annotations": {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tag},
                }
            ],
        }
        (Path(tmp) / "index.json").write_text(json.dumps(index, sort_keys=True))
        (Path(tmp) / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        partial = dest.with_name(dest.name + ".partial")
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name in ("oci-layout", "index.json", "blobs"):
                tar.add(Path(tmp) / name, arcname=name)
        partial.rename(dest)
    return dest


# -- the built-in images --------------------------------------------------------------------------------------
def _busybox_files() -> list[ImageFile]:
    if not BUSYBOX_BINARY.is_file():
        raise LocalClusterError(
            f"No static busybox at {BUSYBOX_BINARY}: real nodes need it for their busybox image.",
            hint="Install Debian's busybox-static package (`apt-get install busybox-static`); "
            "scripts/setup.sh does that.",
        )
    proc = subprocess.run([str(BUSYBOX_BINARY), "--list-full"], capture_output=True, text=True, check=False)
    applets = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not applets:
        raise LocalClusterError(f"`{BUSYBOX_BINARY} --list-full` failed: {proc.stderr.strip()[-300:]}")
    files = [ImageFile("bin/busybox", source=BUSYBOX_BINARY, mode=0o755)]
    for applet in applets:
        if applet != "bin/busybox":
            depth = applet.count("/")
            files.append(ImageFile(applet, link="../" * depth + "bin/busybox"))
    files += [
        ImageFile("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
        ImageFile("etc/group", data=b"root:x:0:\nnobody:x:65534:\n"),
        ImageFile("tmp", directory=True, mode=0o1777),
        ImageFile("root", directory=True, mode=0o700),
    ]
    return files


def _build_pause(dest: Path, progress: Progress) -> None:
    with tempfile.TemporaryDirectory(prefix="build-", dir=dest.parent) as tmp:
        work = Path(tmp) / "node"
        shutil.copytree(_GOMOD / "node", work)
        log = dest.parent / f"{dest.name}.build.log"
        progress("building the pod sandbox (pause) program from gomod/node")
        out = Path(tmp) / "out"
        out.mkdir()
        _run_go(
            ["build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "pause"), "./pause"],
            cwd=work,
            log=log,
            what="the pause program",
        )
        dest.mkdir(parents=True, exist_ok=True)
        shutil.move(str(out / "pause"), dest / "pause")


def _pause_files() -> list[ImageFile]:
    from portkit.testing.binaries import _module_digest

    bin_dir = _ensure(f"pause-{_module_digest('node')}", ["pause"], _build_pause, _log_progress)
    return [ImageFile("pause", source=bin_dir / "pause", mode=0o755)]


def _velero_files() -> list[ImageFile]:
    from portkit.testing.velero import ensure_velero

    velero = ensure_velero()
    return [
        ImageFile("velero", source=velero.velero, mode=0o755),
        ImageFile("velero-restore-helper", source=velero.restore_helper, mode=0o755),
        ImageFile("etc/passwd", data=b"root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
        ImageFile("etc/group", data=b"root:x:0:\nnobody:x:65534:\n"),
        ImageFile("tmp", directory=True, mode=0o1777),
        ImageFile("root", directory=True, mode=0o700),
    ]


def busybox_app_image(ref: str, script: str, dest: Path, *, files: Sequence[ImageFile] = ()) -> Path:
    """An image of the real busybox that runs ``script`` (``/app.sh``, as ``sh``) — a stand-in for an
    application image no registry can serve here (the demo's shop images, a test's workload)."""
    app = ImageFile("app.sh", data=script.encode(), mode=0o755)
    return oci_archive(ref, [*_busybox_files(), app, *files], dest, entrypoint=("/bin/sh", "/app.sh"))


@attrs.frozen
class _Builtin:
    files: Callable[[], list[ImageFile]]
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None


def builtin_images() -> dict[str, _Builtin]:
    """The images portkit can make, by reference."""
    from portkit.volumes.verify import DEFAULT_IMAGE

    busybox = _Builtin(_busybox_files, cmd=("sh",))
    return {
        BUSYBOX: busybox,
        DEFAULT_IMAGE: busybox,
        PAUSE: _Builtin(_pause_files, entrypoint=("/pause",)),
        VELERO: _Builtin(_velero_files, entrypoint=("/velero",)),
    }


def _content_key(files: Sequence[ImageFile], builtin: _Builtin) -> str:
    h = hashlib.sha256()
    h.update(repr((builtin.entrypoint, builtin.cmd)).encode())
    for f in sorted(files, key=lambda f: f.path):
        h.update(repr((f.path, f.mode, f.link, f.directory, f.data)).encode())
        if f.source is not None:
            st = f.source.stat()
            h.update(f"{f.source}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def ensure_image(ref: str, progress: Progress | None = None) -> Path:
    """The OCI archive of a built-in image (built and cached on first use)."""
    builtins = builtin_images()
    builtin = builtins.get(ref)
    if builtin is None:
        raise LocalClusterError(
            f"portkit cannot make image {ref!r} locally; it makes {', '.join(sorted(builtins))}.",
            hint="Pass the path of an OCI or docker image archive to LocalCluster.load_image() instead.",
        )
    files = builtin.files()
    safe = ref.replace("/", "_").replace(":", "_")
    dest = cache_dir() / "images" / f"{safe}-{_content_key(files, builtin)}.tar"
    if dest.exists():
        return dest
    with _Lock(cache_dir() / "images" / f".{safe}.lock"):  # one builder per image, also across processes
        if dest.exists():
            return dest
        (progress or _log_progress)(f"making image {ref}")
        for stale in dest.parent.glob(f"{safe}-*.tar"):
            stale.unlink(missing_ok=True)
        return oci_archive(ref, files, dest, entrypoint=builtin.entrypoint, cmd=builtin.cmd)


def archive_reference(path: str | os.PathLike[str]) -> str:
    """The image reference an OCI-layout or ``docker save`` archive names (its first image)."""
    try:
        with tarfile.open(path) as tar:
            names = set(tar.getnames())
            if "index.json" in names:
                index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
                for manifest in index.get("manifests") or []:
                    annotations = manifest.get("annotations") or {}
                    ref = annotations.get("io.containerd.image.name")
                    if ref:
                        return str(ref)
            if "manifest.json" in names:
                manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
                for entry in manifest:
                    for tag in entry.get("RepoTags") or []:
                        return str(tag)
    except (OSError, tarfile.TarError, ValueError, AttributeError) as exc:
        raise LocalClusterError(f"{path} is not a readable image archive: {exc}") from exc
    raise LocalClusterError(
        f"The image archive {path} names no image reference.", hint="Pass name= to load_image() to give it one."
    )
