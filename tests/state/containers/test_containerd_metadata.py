"""containerd's meta.db read at a container's first event: CRI labels, image digest, pod labels.

The real-containerd test compares the files stage with what the CRI API
answers for the same container (the CRI engine's fields are the ground
truth); the others build meta.db files with :mod:`bolt_writer` to cover a
registry digest, a bucket split over many pages, and hostile databases.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import bolt_writer
import pytest
from containerd_support import Containerd

from secengine.state.containers import ContainerInfo
from secengine.state.containers.cri import CriEngine
from secengine.state.containers.files import FileError
from secengine.state.containers.files.boltdb import BoltFile
from secengine.state.containers.files.containerd import ContainerdFiles

SANDBOX = "a" * 64
APP = "b" * 64
IMAGE = "registry.example/team/app:1.2"
IMAGE_ID = "sha256:" + "1" * 64
MANIFEST = b"sha256:" + b"2" * 64
OTHER_MANIFEST = b"sha256:" + b"3" * 64


def _any(type_url: str, doc: dict[str, object]) -> bytes:
    """A protobuf Any holding ``doc`` as JSON, as containerd's typeurl writes it."""
    url, value = type_url.encode(), json.dumps(doc).encode()

    def field(tag: int, data: bytes) -> bytes:
        size, out = len(data), b""
        while True:
            b = size & 0x7F
            size >>= 7
            out += bytes([b | (0x80 if size else 0)])
            if not size:
                return bytes([tag]) + out + data

    return field(0x0A, url) + field(0x12, value)


def _image(target: bytes) -> bolt_writer.Tree:
    return {b"target": {b"digest": target, b"mediatype": b"application/json"}}


def _meta_tree(images: bolt_writer.Tree) -> bolt_writer.Tree:
    container = {
        "Version": "v1",
        "Metadata": {
            "ID": APP,
            "SandboxID": SANDBOX,
            "Config": {"labels": {"team": "blue", "huge": "x" * 500}},
            "ImageRef": IMAGE_ID,
        },
    }
    sandbox = {
        "Version": "v1",
        "Metadata": {"ID": SANDBOX, "Config": {"labels": {"app": "web"}}, "IP": "10.1.2.3"},
    }
    return {
        b"v1": {
            b"k8s.io": {
                b"containers": {
                    APP.encode(): {
                        b"extensions": {
                            b"io.cri-containerd.container.metadata": _any(
                                "github.com/containerd/cri/pkg/store/container/Metadata",
                                container,
                            )
                        }
                    },
                    SANDBOX.encode(): {
                        b"extensions": {
                            b"io.cri-containerd.sandbox.metadata": _any(
                                "github.com/containerd/cri/pkg/store/sandbox/Metadata", sandbox
                            )
                        }
                    },
                },
                b"images": images,
            }
        }
    }


def _bundle(state: Path, cid: str, kind: str) -> None:
    d = state / "io.containerd.runtime.v2.task" / "k8s.io" / cid
    d.mkdir(parents=True)
    annotations = {
        "io.kubernetes.cri.container-type": kind,
        "io.kubernetes.cri.sandbox-id": SANDBOX,
        "io.kubernetes.cri.sandbox-name": "web-1",
        "io.kubernetes.cri.sandbox-namespace": "prod",
        "io.kubernetes.cri.sandbox-uid": "uid-1",
    }
    if kind == "container":
        annotations["io.kubernetes.cri.container-name"] = "app"
        annotations["io.kubernetes.cri.image-name"] = IMAGE
    (d / "config.json").write_text(json.dumps({"annotations": annotations}))


def _node(tmp_path: Path, images: bolt_writer.Tree, leaf_items: int = 1 << 30) -> ContainerdFiles:
    state, root = tmp_path / "state", tmp_path / "root"
    _bundle(state, SANDBOX, "sandbox")
    _bundle(state, APP, "container")
    db = root / "io.containerd.metadata.v1.bolt" / "meta.db"
    db.parent.mkdir(parents=True)
    bolt_writer.write(str(db), _meta_tree(images), leaf_items=leaf_items)
    return ContainerdFiles(str(state), str(root))


def _images(extra: int = 0) -> bolt_writer.Tree:
    images: bolt_writer.Tree = {
        IMAGE.encode(): _image(MANIFEST),
        IMAGE_ID.encode(): _image(MANIFEST),
        b"registry.example/team/app@" + OTHER_MANIFEST: _image(OTHER_MANIFEST),
        b"registry.example/team/app@" + MANIFEST: _image(MANIFEST),
    }
    for i in range(extra):
        images[f"registry.example/filler/img{i:04d}:latest".encode()] = _image(OTHER_MANIFEST)
    return images


def test_labels_digest_and_pod_come_from_meta_db(tmp_path: Path) -> None:
    reader = _node(tmp_path, _images())
    problems: list[FileError] = []
    app = reader.read(APP, problems)
    assert problems == []
    assert app is not None and app.pod is not None
    assert app.filled_by == ["files:containerd", "files:containerd-meta"]
    # the registry digest of the image's repository with the same manifest, as CRI's imageRef
    assert app.image_digest == MANIFEST.decode()
    assert (app.image_id, app.image_id_full) == ("1" * 12, "1" * 64)
    # the container's own CRI labels (a value over label_max_len left out) and kubelet's
    assert app.labels["team"] == "blue" and "huge" not in app.labels
    assert app.labels["io.kubernetes.sandbox.id"] == SANDBOX
    assert app.labels["io.kubernetes.container.name"] == "app"
    # the pod's labels and IP from the sandbox's record, on the container's first read
    assert app.pod.labels == {"app": "web"}
    assert app.pod.ip == "10.1.2.3" == app.ip
    sandbox = reader.read(SANDBOX, [])
    assert sandbox is not None and sandbox.pod is not None
    assert sandbox.pod.labels == {"app": "web"}


def test_without_a_registry_digest_the_digest_is_the_image_id(tmp_path: Path) -> None:
    images = _images()
    del images[b"registry.example/team/app@" + MANIFEST]
    app = _node(tmp_path, images).read(APP, [])
    assert app is not None and app.image_digest == IMAGE_ID


def test_a_digest_is_found_among_many_images_reading_few_pages(tmp_path: Path) -> None:
    # 2,000 images over 40 leaves under a branch page: the prefix scan skips the others
    reader = _node(tmp_path, _images(extra=2000), leaf_items=50)
    app = reader.read(APP, [])
    assert app is not None and app.image_digest == MANIFEST.decode()
    assert reader.meta is not None
    with BoltFile(reader.meta.path, 64) as db:
        names = db.items((b"v1", b"k8s.io", b"images"), 0, b"registry.example/filler/img19")
    assert names is not None and len(names) == 100
    assert [n for n, _ in names][:2] == [
        b"registry.example/filler/img1900:latest",
        b"registry.example/filler/img1901:latest",
    ]


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "symlink", "not_json_record"],
)
def test_an_unusable_meta_db_is_counted_and_the_bundle_fields_stay(
    tmp_path: Path, damage: str
) -> None:
    reader = _node(tmp_path, _images())
    assert reader.meta is not None
    db = Path(reader.meta.path)
    if damage == "garbage":
        db.write_bytes(os.urandom(3 * 4096))
    elif damage == "truncated":
        db.write_bytes(db.read_bytes()[: 3 * 4096])
    elif damage == "symlink":
        target = tmp_path / "elsewhere.db"
        shutil.move(db, target)
        db.symlink_to(target)
    else:
        tree = _meta_tree(_images())
        containers = tree[b"v1"][b"k8s.io"][b"containers"]  # type: ignore[index]
        containers[APP.encode()][b"extensions"][  # type: ignore[index]
            b"io.cri-containerd.container.metadata"
        ] = b"\x0a\x03abc\x12\x05{not "
        bolt_writer.write(str(db), tree)
    problems: list[FileError] = []
    app = reader.read(APP, problems)
    assert app is not None
    assert app.name == "app" and app.image == IMAGE  # what the bundle gave
    assert app.pod is not None and app.pod.name == "web-1"
    assert len(problems) == 1 and problems[0].path.startswith(str(db))
    assert problems[0].reason in {"not_bolt", "symlink", "not_json"}


def test_the_files_say_at_once_what_the_cri_api_says(containerd: Containerd) -> None:
    """On a real containerd: the files stage (bundle + meta.db), read as soon as the
    container started, equals the CRI engine's labels, digest, image id and pod labels."""
    labels = {"app": "i14meta", "tier": "back"}
    pod = containerd.run_pod("i14meta", labels, pod_network=True)
    cid = containerd.start_container(
        pod, "app", ["/bin/sh", "-c", "sleep 30"], {"i14meta.test": "files"}
    )
    reader = ContainerdFiles(str(containerd.state), str(containerd.root))
    problems: list[FileError] = []
    files = reader.read(cid, problems)
    sandbox_files = reader.read(pod.sandbox_id, problems)
    assert problems == []
    assert files is not None and files.pod is not None and sandbox_files is not None
    assert "files:containerd-meta" in files.filled_by

    engine = CriEngine(containerd.socket)
    try:
        api = ContainerInfo(id=cid[:12], full_id=cid)
        assert engine.enrich(api) is True
        assert api.pod is not None
    finally:
        engine.close()
    assert files.labels == api.labels
    assert files.labels["i14meta.test"] == "files"
    assert files.image_digest == api.image_digest != ""
    # the image's id; the engine reads it from the CreateContainer request, where the kubelet
    # puts the id and this harness the image's name, so compare with CRI's imageRef (the id)
    assert "sha256:" + files.image_id_full == api.image_digest
    assert files.pod.labels == api.pod.labels == labels
    # the pod's own network namespace, its address from the CNI bridge
    assert files.pod.ip == api.pod.ip != ""
    assert files.ip == api.ip == files.pod.ip
