"""``manage.py export_labels <project>``: stream the project's labels to a file or stdout."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.errors import DomainError
from annotation.management.commands._project_ref import project_from_ref
from annotation.services.exports import export_options, export_records, render_export
from quality.export_aggregation import export_aggregator


class Command(BaseCommand):
    help = "Export one record per item with its annotations and aggregate label."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("--format", default="jsonl")
        parser.add_argument("--aggregation", default="majority")
        parser.add_argument("--state", default="labeled")
        parser.add_argument("--include-private", action="store_true")
        parser.add_argument("--output", "-o", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        project = project_from_ref(options["project"])
        try:
            opts = export_options(
                fmt=options["format"], aggregation=options["aggregation"], state=options["state"]
            )
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from exc
        records = export_records(
            project=project,
            aggregate=export_aggregator(project=project, aggregation=opts["aggregation"]),
            state=opts["state"],
            include_private=options["include_private"],
        )
        with ExitStack() as stack:
            out = (
                stack.enter_context(open(options["output"], "w", encoding="utf-8"))
                if options["output"]
                else sys.stdout
            )
            for piece in render_export(records, opts["format"]):
                out.write(piece)
