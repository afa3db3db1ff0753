"""The Data tab's item table in a real browser: a filter goes into the URL and survives a
reload, a sort header orders the rows, the chosen columns are remembered, keyset pages move
forward and back, and each row links to the item's story with the filter."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotation.models import Item
from annotation.services.imports import items_import_records

browser_db = pytest.mark.django_db(transaction=True)


def _ids(page) -> list[str]:
    return page.locator("#item-table tbody tr td a.mono").all_inner_texts()


@browser_db
def test_filter_in_url_sort_columns_and_pages(new_page, make_project, manager, csp_violations):
    project = make_project(labels=("pos", "neg"))
    items_import_records(
        project=project,
        records=[
            {"external_id": f"r{n:02d}", "text": f"{'apple' if n % 2 else 'pear'} number {n}"}
            for n in range(12)
        ],
    )
    for n, item in enumerate(Item.objects.filter(project=project).order_by("id")):
        Item.objects.filter(pk=item.pk).update(priority=(n % 3) / 10)
    page = new_page(manager.username)
    page.goto(f"/projects/{project.pk}/data/")
    page.locator("#item-table tbody tr").first.wait_for()
    assert len(_ids(page)) == 12

    # a search and a filter: into the URL, and back from it after a reload
    page.fill("#f-search", "apple")
    page.select_option("#f-state", "open")
    page.click("#f-apply")
    page.wait_for_url("**search=apple**")
    expect(page.locator("#item-table tbody tr")).to_have_count(6)
    assert _ids(page) == [f"r{n:02d}" for n in range(1, 12, 2)]
    page.reload()
    expect(page.locator("#item-table tbody tr")).to_have_count(6)
    assert page.input_value("#f-search") == "apple"
    assert page.input_value("#f-state") == "open"

    # sorting by a column header: priority descending, ties by id descending
    page.locator("#column-chooser summary").click()
    page.check("input[data-column=priority]")
    page.uncheck("input[data-column=text]")
    page.get_by_role("button", name="Priority", exact=True).click()
    page.wait_for_url("**ordering=priority**")
    page.get_by_role("button", name="Priority ↑").click()
    page.wait_for_url("**ordering=-priority**")
    expect(page.locator("#item-table tbody td a.mono").first).to_have_text("r11")
    # apple items r01..r11 with priority (n % 3) / 10: 0.2 for r05, r11; 0.1 for r01, r07
    assert _ids(page) == ["r11", "r05", "r07", "r01", "r09", "r03"]

    # the column choice is remembered across a reload
    page.reload()
    page.locator("#item-table thead th").first.wait_for()
    heads = page.locator("#item-table thead th").all_text_contents()
    assert any(h.startswith("Priority") for h in heads) and "Text" not in heads

    # keyset pages: 4 rows a page, forward then back
    page.goto(f"/projects/{project.pk}/data/?ordering=-priority&limit=4")
    expect(page.locator("#item-table tbody tr")).to_have_count(4)
    first = _ids(page)
    page.click("#page-next")
    page.wait_for_url("**cursor=**")
    expect(page.locator("#item-table tbody td a.mono").first).not_to_have_text(first[0])
    second = _ids(page)
    assert len(second) == 4 and not set(first) & set(second)
    page.click("#page-prev")
    expect(page.locator("#item-table tbody td a.mono").first).to_have_text(first[0])
    assert _ids(page) == first

    # a row links to the item's story with the current filter
    href = page.locator("#item-table tbody a").first.get_attribute("href")
    item = Item.objects.get(project=project, external_id=first[0])
    assert href.startswith(f"/projects/{project.pk}/items/{item.pk}/?")
    assert "ordering=-priority" in href and "cursor" not in href

    # a refused filter says why
    page.goto(f"/projects/{project.pk}/data/?confidence_min=7")
    page.locator("#item-table-status").filter(has_text="refused").wait_for()
    assert "confidence_min" in page.inner_text("#item-table-status")
    assert csp_violations == []
