"""The Kubernetes Container Runtime Interface (CRI): containerd's and CRI-O's gRPC API.

- :mod:`.api_pb2`: the ``runtime.v1`` messages, generated from k8s.io/cri-api's
  ``api.proto`` by ``tools/gen_cri_api.py`` and shipped (version in its header);
- :mod:`.client`: :class:`CriClient`, typed calls with deadlines, gRPC errors
  translated to :class:`CriError`;
- :mod:`.engine`: :class:`CriEngine`, the asynchronous metadata engine (pod
  labels and IP, image digest) with its bounded caches and back-off.

gRPC is imported only when this package is (the syscall source builds a
CRI engine only when a CRI socket is configured or found).
"""

from secengine.state.containers.cri.client import CriClient, CriError
from secengine.state.containers.cri.engine import CriEngine

__all__ = ["CriClient", "CriEngine", "CriError"]
