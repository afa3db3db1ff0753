"""``manage.py item_consensus_rebuild [<project> ...]``: recompute every answered item's
consensus (``quality.ItemConsensus``, the item table's label and agreement), for projects
annotated before the table existed or after answers changed outside the services."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from annotation.management.commands._project_ref import project_from_ref
from annotation.models import Project
from quality.services.item_consensus import item_consensus_rebuild


class Command(BaseCommand):
    help = "Recompute the consensus of every answered item (all projects by default)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("projects", nargs="*", help="project ids or exact names")

    def handle(self, *args: Any, **options: Any) -> None:
        refs = options["projects"]
        projects = [project_from_ref(ref) for ref in refs] if refs else Project.objects.all()
        for project in projects:
            done = item_consensus_rebuild(project=project)
            self.stdout.write(f"{project.pk} {project.name}: {done} items with a consensus")
