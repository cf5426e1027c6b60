"""Pretrained weights of feature extractors: torch hub's cache, downloads that give up quickly offline, hashes.

A helper of the extractor plugins (``inception``, ``pretrained``), not a plugin itself: it registers nothing.
Files live where torch hub (and so torch-fidelity and torchvision) keeps them, ``$TORCH_HOME/hub/checkpoints``,
so weights another tool downloaded are found, and a download made here serves them too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import torch

log = logging.getLogger(__name__)

# Name lookups ignore socket timeouts and can block for the resolver's own timeout (10 s or more)
DNS_TIMEOUT_S = 3.0
SOCKET_TIMEOUT_S = 5.0


def hub_path(file_name: str) -> Path:
    """Where torch hub keeps (or would keep) the weights file ``file_name``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


def hub_file(url: str, file_name: str | None = None) -> Path | None:
    """The file of ``url`` in torch hub's cache, downloaded there if need be; None where it cannot be downloaded.

    A sha256 prefix in the file name (``vgg16-397923af.pth``) is checked, as torch hub does.
    """
    file_name = file_name or url.rsplit("/", 1)[1]
    path = hub_path(file_name)
    if path.is_file():
        return path
    if not host_resolves(url, DNS_TIMEOUT_S):
        log.info("Not downloading %s: its host does not resolve (no network?)", url)
        return None
    hash_prefix = torch.hub.HASH_REGEX.search(file_name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with socket_timeout(SOCKET_TIMEOUT_S):
            torch.hub.download_url_to_file(
                url, str(path), hash_prefix=hash_prefix.group(1) if hash_prefix else None, progress=False
            )
    except (OSError, RuntimeError) as exc:  # URLError and timeouts are OSErrors; a bad hash is a RuntimeError
        log.warning("Could not download %s: %s", url, exc)
        return None
    return path


def host_resolves(url: str, timeout: float) -> bool:
    """Whether the host urllib would connect to for ``url`` (its proxy, if any) resolves within ``timeout`` s."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        host = urllib.parse.urlsplit(proxy).hostname or ""
    resolved: list[bool] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, None)
            resolved.append(True)
        except OSError:
            resolved.append(False)
        finally:
            done.set()

    # a daemon thread, abandoned if late, so that neither this call nor interpreter exit waits on the resolver
    threading.Thread(target=lookup, daemon=True).start()
    return done.wait(timeout) and resolved[0]


@contextlib.contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    # torch.hub opens its URL without a timeout, so the process-wide default is the only handle on it
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def state_hash(state: Mapping[str, torch.Tensor], skip: Callable[[str], bool] = lambda name: False) -> str:
    """sha256 (16 hex digits) over the tensors of ``state`` by sorted name, those named by ``skip`` left out."""
    digest = hashlib.sha256()
    for name in sorted(state):
        if skip(name):
            continue
        tensor = state[name].detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
