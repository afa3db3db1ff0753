"""Image bytes for the featurizer, read in the worker: uploaded images through Django's
storage API, and image URLs only from the hosts an operator allowed.

The featurizer (tasks.learning) is pure and never reads a file or the network; its image
fields (kind ``image_file``) take encoded bytes. Here each chunk of items is featurized
``SUB_CHUNK`` rows at a time, their image fields swapped for the bytes they point at, so a
worker holds at most that many files in memory, whatever the chunk's size.

No SSRF: the server never fetches a URL from item data unless its host is listed in
SKEIN_IMAGE_FETCH_HOSTS (empty by default: URL images are only shown, by the labeler's
browser, and featurized as text as before). An allowed fetch runs here in the worker, never
in a web request: http(s) only, no redirects followed, FETCH_TIMEOUT seconds, at most
SKEIN_IMAGE_MAX_BYTES read. An image that cannot be had is a row of zeros, never a failed run.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.files.storage import default_storage

from annotation.models import StoredImage
from tasks.learning import Featurizer

logger = logging.getLogger(__name__)

SUB_CHUNK = 256  # rows whose image files are held in memory at once
HEARTBEAT_SECONDS = 30.0  # decoding a big chunk of photos takes minutes: say we are alive
FETCH_TIMEOUT = 10.0  # seconds, to connect and for each read


def fetch_urls_allowed() -> bool:
    """Whether image URLs may be featurized from their pixels (some host is allowed)."""
    return bool(settings.SKEIN_IMAGE_FETCH_HOSTS)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


def url_allowed(url: str) -> bool:
    """http(s) to a host of SKEIN_IMAGE_FETCH_HOSTS (exact names; "*.example.org" allows
    its subdomains), with no user:password part."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return False
    for allowed in settings.SKEIN_IMAGE_FETCH_HOSTS:
        if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
            return True
    return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could point anywhere: refuse it (an HTTPError), never follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def image_fetch(url: str) -> bytes | None:
    """The bytes at an allowed URL, or None (not allowed, failed, or over the size cap)."""
    if not url_allowed(url):
        return None
    limit = settings.SKEIN_IMAGE_MAX_BYTES
    request = urllib.request.Request(url, headers={"User-Agent": "Skein image fetch"})
    try:
        with _opener.open(request, timeout=FETCH_TIMEOUT) as response:
            data: bytes = response.read(limit + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("image fetch failed for %s: %s", url, exc)
        return None
    return data if len(data) <= limit else None


def _stored_bytes(project_id: int, keys: set[str]) -> dict[str, bytes]:
    """The files of the project's images by key (a key of another project reads nothing)."""
    names = dict(
        StoredImage.objects.filter(project_id=project_id, key__in=keys).values_list("key", "file")
    )
    out = {}
    for key, name in names.items():
        try:
            with default_storage.open(name, "rb") as handle:
                out[key] = handle.read(settings.SKEIN_IMAGE_MAX_BYTES + 1)
        except OSError as exc:
            logger.warning("stored image %s unreadable: %s", name, exc)
    return out


def _resolved(values: Sequence[Any], project_id: int) -> list[bytes | None]:
    keys = {v for v in values if isinstance(v, str) and not _is_url(v)}
    stored = _stored_bytes(project_id, keys) if keys else {}
    out: list[bytes | None] = []
    for value in values:
        if _is_url(value):
            out.append(image_fetch(value))
        elif isinstance(value, str):
            out.append(stored.get(value))
        else:
            out.append(None)
    return out


def featurize_columns(
    featurizer: Featurizer,
    columns: Mapping[str, Sequence[Any]],
    n: int,
    *,
    project_id: int,
    heartbeat: Callable[[], Any] | None = None,
) -> Any:
    """``featurizer.transform_fields`` with the image fields' keys (or allowed URLs) read as
    bytes, SUB_CHUNK rows at a time; ``heartbeat`` is called every HEARTBEAT_SECONDS, so a
    long run of decoding is not taken for a dead worker's."""
    fields = [f.name for f in featurizer.spec.fields if f.kind == "image_file"]
    if not fields or n == 0:
        return featurizer.transform_fields(columns, n)
    parts = []
    beat = time.monotonic()
    for start in range(0, n, SUB_CHUNK):
        if heartbeat is not None and time.monotonic() - beat > HEARTBEAT_SECONDS:
            heartbeat()
            beat = time.monotonic()
        end = min(n, start + SUB_CHUNK)
        sub: dict[str, Sequence[Any]] = {k: list(v[start:end]) for k, v in columns.items()}
        for name in fields:
            sub[name] = _resolved(sub.get(name) or [None] * (end - start), project_id)
        parts.append(featurizer.transform_fields(sub, end - start))
    if len(parts) == 1:
        return parts[0]
    if sp.issparse(parts[0]):
        return sp.vstack(cast(list[Any], parts), format="csr")
    return np.vstack(cast(list[Any], parts))


def featurize(
    featurizer: Featurizer,
    items: Sequence[Mapping[str, Any]],
    *,
    project_id: int,
    heartbeat: Callable[[], Any] | None = None,
) -> Any:
    """``featurizer.transform`` over item dicts, image fields read as in `featurize_columns`."""
    columns = {f.name: [data.get(f.name) for data in items] for f in featurizer.spec.fields}
    return featurize_columns(
        featurizer, columns, len(items), project_id=project_id, heartbeat=heartbeat
    )
