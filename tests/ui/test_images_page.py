"""Uploaded images in a real browser: a manager uploads a zip on the Data page (a bad file
is listed by name and nothing is stored), and the labeler sees the stored image on the
labeling page, fetched from the app under its Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest

from annotation.models import Item, StoredImage
from tests.annotation.image_files import png, zipped

pytestmark = pytest.mark.django_db(transaction=True)


def _send(page: Any, name: str, content: bytes) -> None:
    page.set_input_files(
        "#image-files", {"name": name, "mimeType": "application/zip", "buffer": content}
    )
    page.get_by_role("button", name="Add images").click()


def test_a_zip_uploaded_on_the_data_page_shows_on_the_labeling_page(
    new_page, settings, tmp_path, make_project, manager, make_user, add_member
):
    settings.MEDIA_ROOT = tmp_path / "media"
    project = make_project()
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/data/")

    _send(page, "bad.zip", zipped({"ok.png": png(shade=20), "broken.png": b"\x89PNG\r\n\x1a\nxx"}))
    page.locator("#image-errors").wait_for()
    assert page.locator("#image-error-table td").first.inner_text() == "broken.png"
    assert "Nothing was stored" in page.locator("#image-status").inner_text()
    assert not StoredImage.objects.exists()

    _send(page, "good.zip", zipped({"scan.png": png(shade=40, size=32)}))
    page.get_by_text("Imported 1 new image items").wait_for()
    item = Item.objects.get(project=project)
    assert item.external_id == "scan.png"

    labeler = add_member(project, make_user("lina"))
    page = new_page(labeler.username)
    with page.expect_response(lambda r: "/images/" in r.url) as served:
        page.goto(f"/projects/{project.pk}/label/")
    response = served.value
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    key = StoredImage.objects.get().key
    assert response.url.endswith(f"/api/v1/projects/{project.pk}/images/{key}/")
    image = page.locator("img.item-img.stored")
    image.wait_for()
    box = image.bounding_box()
    assert box is not None and box["width"] >= 256  # drawn large enough to read
    assert page.page_errors == []
