"""Uploaded images: checked with Pillow, stored through the storage API in a temporary
MEDIA_ROOT, each an item; all or nothing; served to project members only."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from annotation.models import AuditEvent, Item, StoredFileDeletion, StoredImage
from annotation.services.images import images_upload
from annotation.services.projects import project_delete
from annotation.services.queue import assignment_claim_next
from annotation.services.retention import item_data_erase_expired
from tests.annotation.image_files import png, upload, zipped

URL = "/api/v1/projects/{}/images/"


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def post(client, project, *files, **fields):
    return client.post(URL.format(project.pk), {"files": list(files), **fields}, format="multipart")


def test_a_zip_of_images_becomes_items_with_stored_files(make_project, manager, api, media):
    project = make_project()
    archive = zipped(
        {
            "cats/a.png": png(shade=10),
            "cats/b.png": png(shade=200, size=40),
            "dogs/": b"",
            "__MACOSX/cats/._a.png": b"resource fork",
            ".DS_Store": b"junk",
        }
    )
    single = png(shade=90)

    response = post(api(manager), project, upload("pets.zip", archive), upload("c.png", single))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] == 3 and body["duplicates"] == 0
    assert {i["name"] for i in body["images"]} == {"cats/a.png", "cats/b.png", "c.png"}
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert set(items) == {"cats/a.png", "cats/b.png", "c.png"}
    for image in StoredImage.objects.filter(project=project):
        assert items[image.original_name].data == {"stored_image": image.key}
        assert image.content_type == "image/png" and (image.width, image.height) != (0, 0)
        assert (media / image.file.name).is_file()
        assert image.key not in image.original_name
    assert (media / StoredImage.objects.get(original_name="c.png").file.name).read_bytes() == single
    assert len(stored_files(media)) == 3
    assert AuditEvent.objects.filter(project=project, action="images.uploaded").exists()

    again = post(api(manager), project, upload("c.png", single))
    assert again.status_code == 201
    assert again.json()["created"] == 0 and again.json()["duplicates"] == 1
    assert len(stored_files(media)) == 3  # a duplicate is not stored again


def _truncated_png() -> bytes:
    whole = png(np.random.default_rng(0).integers(0, 255, (64, 64)))
    return whole[: len(whole) // 2]


def test_a_zip_with_a_corrupt_file_names_it_and_writes_nothing(make_project, manager, api, media):
    project = make_project()
    archive = zipped(
        {
            "ok/1.png": png(shade=1),
            "ok/2.png": png(shade=2),
            "broken/3.png": _truncated_png(),
            "notes.txt": b"not an image",
        }
    )

    response = post(api(manager), project, upload("batch.zip", archive), upload("x.png", png()))

    assert response.status_code == 400
    errors = {e["file"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"broken/3.png", "notes.txt"}
    assert "damaged" in errors["broken/3.png"]
    assert "not an image" in errors["notes.txt"]
    assert not Item.objects.filter(project=project).exists()
    assert not StoredImage.objects.exists()
    assert stored_files(media) == []


def test_unsafe_names_bombs_and_foreign_files_are_refused(
    make_project, manager, api, media, settings
):
    project = make_project()
    client = api(manager)
    slip = zipped({"../../etc/evil.png": png(), "/abs.png": png(), "C:/win.png": png()})
    response = post(client, project, upload("slip.zip", slip))
    assert response.status_code == 400
    assert {e["file"] for e in response.json()["errors"]} == {
        "slip.zip:../../etc/evil.png",
        "slip.zip:/abs.png",
        "slip.zip:C:/win.png",
    }

    # A decompression bomb: 100 million pixels in a few kilobytes, refused from its header.
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 100_000
    response = post(client, project, upload("bomb.png", bomb.getvalue()))
    assert response.status_code == 400
    assert "pixels" in response.json()["errors"][0]["message"]

    # A zip bomb: a member that inflates past the per-file cap stops being read there.
    settings.SKEIN_IMAGE_MAX_BYTES = 100_000
    response = post(client, project, upload("zbomb.zip", zipped({"z.png": bytes(5_000_000)})))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"file": "z.png", "message": "larger than the limit of 100000 bytes per image"}
    ]
    settings.SKEIN_IMAGE_ZIP_MAX_BYTES = 1000
    noise = png(np.random.default_rng(1).integers(0, 255, (100, 100)))
    response = post(client, project, upload("big.zip", zipped({"a.png": noise})))
    assert response.status_code == 400 and "unpacks to more than" in str(response.json())

    # SVG (script inside an image) is not an accepted format.
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = post(client, project, upload("x.svg", svg))
    assert response.status_code == 400 and response.json()["errors"][0]["file"] == "x.svg"
    assert not StoredImage.objects.exists() and stored_files(media) == []
    assert not Item.objects.filter(project=project).exists()


def test_only_managers_upload(make_project, labeler, add_member, api, media):
    project = make_project()
    add_member(project, labeler)
    response = post(api(labeler), project, upload("a.png", png()))
    assert response.status_code == 403
    assert stored_files(media) == []


def test_members_fetch_images_and_nobody_else_does(
    make_project, manager, labeler, add_member, make_user, api, media
):
    project = make_project(gold_rate=0.0)
    add_member(project, labeler)
    files = {"a.png": png(shade=3), "g.png": png(shade=250)}
    post(api(manager), project, *(upload(n, d) for n, d in files.items()))
    Item.objects.filter(project=project, external_id="g.png").update(is_gold=True, gold=["pos"])
    keys = dict(StoredImage.objects.values_list("original_name", "key"))

    claim = assignment_claim_next(project=project, user=labeler)
    assert claim.item.data == {"stored_image": keys["a.png"]}
    responses = {}
    for name, key in keys.items():
        response = api(labeler).get(f"{URL.format(project.pk)}{key}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == files[name]
        responses[name] = response

    # A gold item's image is served exactly like any other's: same headers, no name, no date.
    def headers(r):
        return {k: v for k, v in r.headers.items() if k != "Content-Length"}

    assert headers(responses["a.png"]) == headers(responses["g.png"])
    assert responses["a.png"]["Content-Type"] == "image/png"
    assert "Last-Modified" not in responses["a.png"] and "ETag" not in responses["a.png"]
    assert "Content-Disposition" not in responses["a.png"] or "a.png" not in str(
        responses["a.png"]["Content-Disposition"]
    )

    outsider = make_user("outsider")
    assert api(outsider).get(f"{URL.format(project.pk)}{keys['a.png']}/").status_code == 404
    assert api().get(f"{URL.format(project.pk)}{keys['a.png']}/").status_code in (401, 403)
    other = make_project()
    add_member(other, outsider)
    # A member of another project cannot reach this project's image through their own.
    assert api(outsider).get(f"{URL.format(other.pk)}{keys['a.png']}/").status_code == 404


def test_items_point_at_stored_images_by_key(make_project, manager, api, media):
    project = make_project()
    response = post(api(manager), project, upload("a.png", png()), create_items="false")
    assert response.status_code == 201 and response.json()["created"] == 0
    key = response.json()["images"][0]["key"]
    assert not Item.objects.filter(project=project).exists()

    items = f"/api/v1/projects/{project.pk}/items/import/"
    good = [{"external_id": "x", "text": "a cat", "stored_image": key, "gold": "pos"}]
    assert api(manager).post(items, good, format="json").status_code == 201
    assert Item.objects.get(project=project, external_id="x").data["stored_image"] == key

    other = make_project()
    bad = [
        {"external_id": "y", "stored_image": key},  # another project's image
        {"external_id": "z", "stored_image": "../../etc/passwd"},
    ]
    response = api(manager).post(f"/api/v1/projects/{other.pk}/items/import/", bad, format="json")
    assert response.status_code == 400
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (2, "stored_image"),
        (1, "stored_image"),
    ] or sorted((e["row"], e["field"]) for e in response.json()["errors"]) == [
        (1, "stored_image"),
        (2, "stored_image"),
    ]
    assert not Item.objects.filter(project=other).exists()


@pytest.mark.django_db(transaction=True)
def test_images_leave_storage_with_their_project_and_with_erased_item_data(
    make_project, manager, api, media, make_user
):
    project = make_project(retention_days=30)
    post(api(manager), project, upload("a.png", png(shade=1)), upload("b.png", png(shade=2)))
    assert len(stored_files(media)) == 2
    old = timezone.now() - timedelta(days=31)
    Item.objects.filter(project=project, external_id="a.png").update(created_at=old)

    item_data_erase_expired()

    assert set(StoredImage.objects.values_list("original_name", flat=True)) == {"b.png"}
    assert len(stored_files(media)) == 1
    project_delete(project=project, actor=make_user("root", staff=True))  # admins delete
    assert stored_files(media) == [] and not StoredFileDeletion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_item_import_removes_the_stored_images(make_project, manager, media, settings):
    project = make_project()
    settings.SKEIN_MAX_IMPORT_ROWS = 1  # the import of two items is refused after storing
    with pytest.raises(Exception, match="rows"):
        images_upload(
            project=project,
            uploads=[("a.zip", io.BytesIO(zipped({"1.png": png(), "2.png": png(shade=5)})))],
            actor=manager,
        )
    assert not StoredImage.objects.exists() and not Item.objects.exists()
    assert stored_files(media) == []


def test_zip_members_are_read_no_further_than_the_cap(make_project, manager, media, settings):
    """The cap holds even when a member's header understates its size."""
    settings.SKEIN_IMAGE_MAX_BYTES = 1000
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("liar.png", bytes(1_000_000))
    raw = bytearray(out.getvalue())
    # Patch the declared uncompressed size (local header and central directory) to 10 bytes.
    for offset in (22, raw.rfind(b"PK\x01\x02") + 24):
        raw[offset : offset + 4] = (10).to_bytes(4, "little")
    with pytest.raises(Exception) as refused:
        images_upload(project=make_project(), uploads=[("l.zip", io.BytesIO(bytes(raw)))])
    assert "liar.png" in str(refused.value.detail)  # type: ignore[attr-defined]
    assert stored_files(media) == []


def test_a_damaged_zip_member_is_named(make_project, manager, api, media):
    archive = bytearray(zipped({"fine.png": png(shade=1), "torn.png": png(size=64, shade=9)}))
    start = archive.find(b"torn.png") + len("torn.png")  # its local header's name, then data
    archive[start + 5 : start + 15] = bytes(10)  # overwrite part of its compressed bytes
    response = post(api(manager), make_project(), upload("torn.zip", bytes(archive)))
    assert response.status_code == 400
    assert [e["file"] for e in response.json()["errors"]] == ["torn.png"]
    assert stored_files(media) == [] and not StoredImage.objects.exists()


def test_a_zip_listing_too_many_entries_is_refused_before_it_is_read(
    make_project, manager, api, media, settings
):
    settings.SKEIN_IMAGE_MAX_FILES = 10
    many = zipped({f"empty/{n}": b"" for n in range(200)})
    response = post(api(manager), make_project(), upload("many.zip", many))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "file": "many.zip",
            "message": "the zip lists 200 entries; the limit is 10 images per upload",
        }
    ]
