"""Image files a manager uploads: checked with Pillow, kept through Django's storage API,
each becoming an item (``{"stored_image": key}``) or a file items can point at.

All or nothing: every file (each image, each member of each zip) is read and fully decoded
first, and any bad one refuses the whole upload with every bad file named; only then are the
files written to storage, their rows inserted and the items imported, and a failure at any
of those steps removes what the earlier steps wrote. A worker crash between the rows and
the items can leave images no item points at; they go with their project.

Bounds: each file is read up to SKEIN_IMAGE_MAX_BYTES (a zip member's declared size is not
trusted: reading stops one byte past the cap), a zip's members together up to
SKEIN_IMAGE_ZIP_MAX_BYTES and SKEIN_IMAGE_MAX_FILES files (zip bombs), and an image's pixel
count is read from its header and refused over SKEIN_IMAGE_MAX_PIXELS before it is decoded
(decompression bombs; Pillow's own DecompressionBombWarning counts as a refusal too). A
member's name is only ever an item's external_id, never a storage path: the storage name is
the random key, so no name can reach outside the project's folder ("zip slip"); names with
``..``, absolute paths or drive letters are refused anyway, as mistakes.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image

from annotation.errors import ImportRejected, InvalidInput
from annotation.models import Item, Project, StoredImage
from annotation.services.audit import audit_record
from annotation.services.imports import MAX_ERRORS_LISTED, items_import
from annotation.services.imports.rows import STORED_IMAGE_FIELD as FIELD
from annotation.services.storage import stored_files_delete
from annotation.text import unstorable

# Formats every browser shows; Pillow is asked to recognise these and nothing else.
FORMATS = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg"),
           "GIF": ("image/gif", ".gif"), "WEBP": ("image/webp", ".webp")}  # fmt: skip
_SKIPPED = re.compile(r"(^|/)__MACOSX/|(^|/)\.[^/]*$")  # macOS resource forks, hidden files
_DRIVE = re.compile(r"^[A-Za-z]:")


class FileProblem(Exception):
    """One file is refused; the message says why (the caller names the file)."""


@dataclass(frozen=True)
class _Entry:
    """One image file of an upload: its name and a way to read its bytes (twice: once to
    check, once to store), bounded by the per-file cap."""

    name: str
    read: Callable[[], bytes]


@dataclass(frozen=True)
class _Checked:
    name: str
    read: Callable[[], bytes]
    sha256: str
    fmt: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class ImageUploadResult:
    created: int
    duplicates: int
    images: list[dict[str, Any]]


def image_check(data: bytes, *, max_pixels: int) -> tuple[str, int, int]:
    """(format, width, height) of an image Pillow can decode whole; FileProblem if it is not
    an accepted image, is damaged anywhere, or has more than ``max_pixels`` pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                image.verify()  # checksums and structure, without decoding
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                fmt, (width, height) = str(image.format), image.size
                if width * height > max_pixels:
                    raise FileProblem(
                        f"{width}x{height} is {width * height} pixels; the limit is {max_pixels}"
                    )
                image.load()  # decodes every pixel: a truncated or damaged file fails here
    except FileProblem:
        raise
    except Image.UnidentifiedImageError as exc:
        raise FileProblem("not an image in an accepted format (PNG, JPEG, GIF, WebP)") from exc
    except (
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise FileProblem(f"the image is damaged or cannot be decoded ({exc})") from exc
    return fmt, width, height


def _read_bounded(handle: IO[bytes], limit: int) -> bytes:
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileProblem(f"larger than the limit of {limit} bytes per image")
    return data


def _clean_name(raw: str) -> str:
    """A member's name as the item's external_id; FileProblem for names that try to leave
    their folder or that no database can store."""
    name = raw.replace("\\", "/")
    parts = name.split("/")
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts:
        raise FileProblem("the name points outside the zip (absolute, or with '..')")
    if unstorable(name) is not None or any(ord(c) < 32 for c in name):
        raise FileProblem("the name has characters that cannot be stored")
    name = "/".join(p for p in parts if p not in ("", "."))
    if not name or len(name) > 255:
        raise FileProblem("the name is empty or longer than 255 characters")
    return name


def _is_zip(upload: IO[bytes], name: str) -> bool:
    start = upload.read(4)
    upload.seek(0)
    return name.lower().endswith(".zip") or start in (b"PK\x03\x04", b"PK\x05\x06")


def _declared_entries(handle: IO[bytes]) -> int | None:
    """The entry count a zip's end-of-central-directory record declares (None when there is
    none to read: zipfile then says what is wrong). A zip64 count reads as 65535: more than
    any allowed upload anyway."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - (1 << 16) - 22))
    tail = handle.read()
    handle.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 12:
        return None
    return int.from_bytes(tail[at + 10 : at + 12], "little")


def _entries(
    uploads: Iterable[tuple[str, IO[bytes]]], errors: list[dict[str, str]]
) -> Iterator[_Entry]:
    """Every image file of the uploads, zips opened; problems with a zip itself or with a
    name go to ``errors``."""
    per_file = settings.SKEIN_IMAGE_MAX_BYTES
    for upload_name, handle in uploads:
        if not _is_zip(handle, upload_name):
            try:
                upload_name = _clean_name(upload_name)
            except FileProblem as exc:
                errors.append({"file": upload_name, "message": str(exc)})
                continue

            def read_upload(handle: IO[bytes] = handle) -> bytes:
                handle.seek(0)
                return _read_bounded(handle, per_file)

            yield _Entry(upload_name, read_upload)
            continue
        entries = _declared_entries(handle)
        if entries is not None and entries > 2 * settings.SKEIN_IMAGE_MAX_FILES + 100:
            # Refused before the central directory is parsed: a zip of millions of empty
            # entries would cost memory per entry just to be listed.
            errors.append(
                {
                    "file": upload_name,
                    "message": f"the zip lists {entries} entries; the limit is "
                    f"{settings.SKEIN_IMAGE_MAX_FILES} images per upload",
                }
            )
            continue
        try:
            archive = zipfile.ZipFile(handle)
            members = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            errors.append({"file": upload_name, "message": f"not a readable zip file ({exc})"})
            continue
        declared = 0
        for info in members:
            label = f"{upload_name}:{info.filename}"
            try:  # the name first: a skipped-looking name may still try to leave the zip
                name = _clean_name(info.filename)
            except FileProblem as exc:
                errors.append({"file": label, "message": str(exc)})
                continue
            if info.is_dir() or _SKIPPED.search(name):
                continue
            declared += info.file_size
            if declared > settings.SKEIN_IMAGE_ZIP_MAX_BYTES:
                errors.append(
                    {
                        "file": label,
                        "message": "the zip unpacks to more than "
                        f"{settings.SKEIN_IMAGE_ZIP_MAX_BYTES} bytes; split it",
                    }
                )
                break
            if info.flag_bits & 0x1:
                errors.append({"file": label, "message": "encrypted zip members are not accepted"})
                continue

            def read_member(archive: zipfile.ZipFile = archive, info: Any = info) -> bytes:
                with archive.open(info) as member:
                    return _read_bounded(member, per_file)

            yield _Entry(name, read_member)


def _check_all(uploads: list[tuple[str, IO[bytes]]]) -> list[_Checked]:
    """Read and decode every file; ImportRejected naming every bad one."""
    errors: list[dict[str, str]] = []
    checked: list[_Checked] = []
    first: dict[str, str] = {}
    total_bytes = 0
    max_files = settings.SKEIN_IMAGE_MAX_FILES
    for n, entry in enumerate(_entries(uploads, errors)):
        if n >= max_files:
            errors.append(
                {"file": entry.name, "message": f"more than {max_files} images; split the upload"}
            )
            break
        if entry.name in first:
            errors.append({"file": entry.name, "message": "the upload has two files by this name"})
            continue
        first[entry.name] = entry.name
        try:
            data = entry.read()
            total_bytes += len(data)
            if total_bytes > settings.SKEIN_IMAGE_ZIP_MAX_BYTES:
                raise FileProblem(
                    f"the images together are over {settings.SKEIN_IMAGE_ZIP_MAX_BYTES} bytes"
                )
            fmt, width, height = image_check(data, max_pixels=settings.SKEIN_IMAGE_MAX_PIXELS)
        except FileProblem as exc:
            errors.append({"file": entry.name, "message": str(exc)})
            continue
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError) as exc:
            # A damaged member (bad CRC, broken deflate data) or an unsupported compression.
            errors.append({"file": entry.name, "message": f"cannot be read from the zip ({exc})"})
            continue
        digest = hashlib.sha256(data).hexdigest()
        checked.append(_Checked(entry.name, entry.read, digest, fmt, width, height, len(data)))
    if not errors and not checked:
        errors.append({"file": "", "message": "the upload holds no image files"})
    if errors:
        detail: dict[str, Any] = {"errors": errors[:MAX_ERRORS_LISTED]}
        if len(errors) > MAX_ERRORS_LISTED:
            detail["more_errors"] = len(errors) - MAX_ERRORS_LISTED
        raise ImportRejected(detail)
    return checked


def _store(project: Project, checked: list[_Checked]) -> list[StoredImage]:
    """Write the files to storage; on any failure remove those written and re-raise."""
    rows: list[StoredImage] = []
    try:
        for image in checked:
            data = image.read()
            if hashlib.sha256(data).hexdigest() != image.sha256:
                raise InvalidInput({"files": [f"'{image.name}' changed while it was read."]})
            key = secrets.token_hex(16)
            content_type, suffix = FORMATS[image.fmt]
            name = default_storage.save(
                f"images/project-{project.pk}/{key}{suffix}", ContentFile(data)
            )
            rows.append(
                StoredImage(
                    project=project,
                    key=key,
                    file=name,
                    content_type=content_type,
                    width=image.width,
                    height=image.height,
                    size=image.size,
                    sha256=image.sha256,
                    original_name=image.name[:255],
                )
            )
    except BaseException:
        _remove_now([row.file.name for row in rows if row.file.name])
        raise
    return rows


def _remove_now(names: list[str]) -> None:
    """Remove files no row was committed for (nothing in the database points at them)."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            continue


def images_upload(
    *,
    project: Project,
    uploads: list[tuple[str, IO[bytes]]],
    create_items: bool = True,
    actor: Any = None,
) -> ImageUploadResult:
    """Store the images of ``uploads`` (name, stream: image files or zips of them) and, with
    ``create_items``, make one item per image whose external_id is its file name (a name the
    project already has counts as a duplicate: neither stored nor imported again).
    ImportRejected naming every bad file, and nothing written, if any file is bad."""
    if not uploads:
        raise InvalidInput({"files": ["Send one or more image files or zips (field 'files')."]})
    checked = _check_all(uploads)
    duplicates = 0
    if create_items:
        names = [c.name for c in checked]
        existing: set[str] = set()
        for start in range(0, len(names), 1000):
            existing.update(
                Item.objects.filter(
                    project=project, external_id__in=names[start : start + 1000]
                ).values_list("external_id", flat=True)
            )
        duplicates = sum(c.name in existing for c in checked)
        checked = [c for c in checked if c.name not in existing]
    rows = _store(project, checked)
    try:
        with transaction.atomic():
            StoredImage.objects.bulk_create(rows)
            audit_record(
                actor=actor,
                action="images.uploaded",
                project=project,
                target=", ".join(name for name, _ in uploads)[:200],
                details={"images": len(rows), "bytes": sum(r.size for r in rows)},
            )
    except BaseException:
        _remove_now([row.file.name for row in rows if row.file.name])
        raise
    created = 0
    if create_items and rows:
        records = "\n".join(
            json.dumps({"external_id": row.original_name, FIELD: row.key}) for row in rows
        )
        try:
            result = items_import(
                project=project,
                stream=io.BytesIO(records.encode()),
                fmt="jsonl",
                actor=actor,
                source=", ".join(name for name, _ in uploads)[:200],
            )
        except BaseException:
            images_delete(project=project, keys=[row.key for row in rows], reason="upload failed")
            raise
        created, duplicates = result.created, duplicates + result.duplicates
    return ImageUploadResult(
        created=created,
        duplicates=duplicates,
        images=[
            {"name": r.original_name, "key": r.key, "width": r.width, "height": r.height}
            for r in rows
        ],
    )


@transaction.atomic
def images_delete(*, project: Project, keys: list[str], reason: str) -> int:
    """Delete the project's images by key: rows now, files once the transaction commits."""
    rows = StoredImage.objects.filter(project=project, key__in=keys)
    names = list(rows.values_list("file", flat=True))
    stored_files_delete(names=names, reason=reason[:50])
    return rows.delete()[0]


def images_release(*, project: Project, keys: set[str], reason: str) -> int:
    """Delete those of ``keys`` no item of the project still shows (data not erased), e.g.
    after retention erased the items that pointed at them. Call in the caller's transaction."""
    if not keys:
        return 0
    still = set(
        Item.objects.filter(
            project=project, data_erased_at__isnull=True, **{f"data__{FIELD}__in": list(keys)}
        ).values_list(f"data__{FIELD}", flat=True)
    )
    return images_delete(project=project, keys=sorted(keys - still), reason=reason)
