"""OCI image archives made by portkit.testing.images: valid layout, content addressed, reproducible.
(Importing them into a real containerd and running them is tested in tests/integration/test_real_nodes.py.)"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from portkit.errors import LocalClusterError
from portkit.testing.images import ImageFile, archive_reference, oci_archive


def test_an_archive_is_a_valid_content_addressed_oci_layout(tmp_path: Path) -> None:
    files = [
        ImageFile("bin/tool", data=b"#!/bin/sh\necho hi\n", mode=0o755),
        ImageFile("etc/link", link="../bin/tool"),
        ImageFile("tmp", directory=True, mode=0o1777),
    ]
    path = oci_archive("localhost/x/tool:2", files, tmp_path / "a.tar", entrypoint=["/bin/tool"])
    with tarfile.open(path) as tar:
        blobs = {
            m.name.split("/")[-1]: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.name.startswith("blobs/sha256/") and m.isfile()
        }
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        assert json.load(tar.extractfile("oci-layout")) == {"imageLayoutVersion": "1.0.0"}  # type: ignore[arg-type]
    for digest, data in blobs.items():
        assert hashlib.sha256(data).hexdigest() == digest  # every blob is what its name says
    (desc,) = index["manifests"]
    assert desc["annotations"]["io.containerd.image.name"] == "localhost/x/tool:2"
    manifest = json.loads(blobs[desc["digest"].split(":")[1]])
    config = json.loads(blobs[manifest["config"]["digest"].split(":")[1]])
    layer = blobs[manifest["layers"][0]["digest"].split(":")[1]]
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    with tarfile.open(fileobj=__import__("io").BytesIO(layer)) as inner:
        members = {m.name: m for m in inner.getmembers()}
    assert members["bin/tool"].mode == 0o755 and members["bin"].isdir()  # parent directories are added
    assert members["etc/link"].issym() and members["etc/link"].linkname == "../bin/tool"
    assert members["tmp"].mode == 0o1777
    assert archive_reference(path) == "localhost/x/tool:2"
    again = oci_archive("localhost/x/tool:2", files, tmp_path / "b.tar", entrypoint=["/bin/tool"])
    with tarfile.open(again) as tar:
        assert json.load(tar.extractfile("index.json")) == index  # type: ignore[arg-type]  # reproducible


def test_archive_reference_refuses_what_is_not_an_image(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar")
    with pytest.raises(LocalClusterError, match="not a readable image archive"):
        archive_reference(bad)
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(LocalClusterError, match="names no image reference"):
        archive_reference(empty)
