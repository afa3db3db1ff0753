"""``manage.py import_items <project> <file>``: import a CSV, JSONL or JSON file, streamed."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.errors import DomainError
from annotation.management.commands._project_ref import project_from_ref
from annotation.services.imports import format_from_name, items_import


class Command(BaseCommand):
    help = "Import items into a project from a .csv, .jsonl or .json file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("file")
        parser.add_argument("--format", choices=["csv", "jsonl", "json"])
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        project = project_from_ref(options["project"])
        path = options["file"]
        if not os.path.isfile(path):
            raise CommandError(f"No file '{path}'.")
        try:
            fmt = options["format"] or format_from_name(path)
        except DomainError as exc:
            raise CommandError(str(exc.detail)) from exc
        size = os.path.getsize(path)
        bar = tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            disable=options["no_progress"],
            desc=f"import into {project.name}",
        )

        def progress(rows: int, bytes_read: int) -> None:
            bar.update(bytes_read - bar.n)
            bar.set_postfix(rows=rows)

        try:
            with open(path, "rb") as stream:
                result = items_import(
                    project=project,
                    stream=stream,
                    fmt=fmt,
                    progress=progress,
                    source=os.path.basename(path),
                )
        except DomainError as exc:
            bar.close()
            detail = exc.detail
            for error in detail.get("errors", []) if isinstance(detail, dict) else []:
                self.stderr.write(f"row {error['row']}, {error['field']}: {error['message']}")
            if isinstance(detail, dict) and detail.get("more_errors"):
                self.stderr.write(f"... and {detail['more_errors']} more errors")
            raise CommandError("Nothing was imported.") from exc
        bar.close()
        self.stdout.write(
            f"{result.created} created, {result.duplicates} duplicates ({result.rows} rows); "
            f"{result.near_duplicates.items} new items in {result.near_duplicates.groups} "
            "near-duplicate groups (same normalised text)."
        )
