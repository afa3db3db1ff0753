"""A/B suggestions: what a labeler can read of their own annotations never includes a
suggestion they were not shown; managers still read the full provenance."""

from __future__ import annotations

import pytest

from annotation.models import Annotation
from tests.quality.helpers import claim
from tests.tasks.helpers import label_some, model_activate, sentiment_items


@pytest.mark.parametrize("role", ["labeler", "reviewer"])
def test_a_hidden_suggestion_stays_hidden_in_everything_the_labeler_reads(
    role, api, make_project, make_user, add_member, manager
):
    project = make_project(suggestions="ab", retrain_every=10, lease_seconds=600)
    sentiment_items(project, clear=70, mixed=6)
    label_some(project, add_member(project, make_user("trainer")), 12)
    assert model_activate(project).state == "active"
    bob = add_member(project, make_user("bob"), role)
    c = api(bob)

    seen = {}  # annotation id -> the suggestion `next` showed (None when hidden)
    for _ in range(16):
        body = claim(c, project).json()
        submit = c.post(
            f"/api/v1/assignments/{body['assignment']['id']}/submit/",
            {"labels": ["pos"]},
            format="json",
        )
        assert submit.status_code == 201
        annotation_id = submit.json()["id"]
        seen[annotation_id] = body["suggestion"]
        # The submit response carries no suggestion today; if it ever does, the shown one.
        assert submit.json().get("suggestion", body["suggestion"]) == body["suggestion"]
        # "Change last answer": the PATCH response carries the annotation again.
        patch = c.patch(f"/api/v1/annotations/{annotation_id}/", {"labels": ["neg"]}, format="json")
        assert patch.status_code == 200
        assert patch.json()["suggestion"] == body["suggestion"], "change last answer"

    recorded = dict(Annotation.objects.filter(pk__in=seen).values_list("pk", "suggestion"))
    hidden = {pk for pk, s in recorded.items() if s and not s["shown"]}
    assert len(hidden) >= 3 and len(seen) - len(hidden) >= 3  # both halves of the A/B
    assert all(seen[pk] is None for pk in hidden)

    own = c.get(f"/api/v1/projects/{project.pk}/annotations/?limit=1000").json()["results"]
    assert {a["id"]: a["suggestion"] for a in own} == seen, "own annotation list"
    for url in (
        f"/api/v1/projects/{project.pk}/export/",
        f"/api/v1/projects/{project.pk}/labelsets/",
    ):
        assert c.get(url).status_code == 403, url

    # Managers read what the model suggested, shown or not.
    full = api(manager).get(f"/api/v1/projects/{project.pk}/annotations/?limit=1000").json()
    by_id = {a["id"]: a["suggestion"] for a in full["results"]}
    assert {pk: by_id[pk] for pk in seen} == recorded
    assert all(by_id[pk]["labels"] and by_id[pk]["shown"] is False for pk in hidden)
