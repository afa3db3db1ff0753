"""The import readers (CSV, JSONL and the streaming JSON array parser), duplicates, gold, and
the import_items / export_labels management commands."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from annotation.errors import ImportRejected
from annotation.models import Item
from annotation.services import imports
from annotation.services.imports import items_import, items_import_records
from annotation.services.imports.readers import READERS, json_rows

CHUNK = 1 << 16


def rows_of(content: bytes) -> list:
    return list(json_rows(io.BufferedReader(io.BytesIO(content), buffer_size=CHUNK)))


def run(project, content: bytes, fmt: str):
    return items_import(project=project, stream=io.BytesIO(content), fmt=fmt)


def errors_of(project, content: bytes, fmt: str) -> list[tuple[int, str]]:
    with pytest.raises(ImportRejected) as info:
        run(project, content, fmt)
    return [(e["row"], e["field"]) for e in info.value.detail["errors"]]


# --- the JSON array parser ------------------------------------------------------------


def test_json_nested_and_tricky_strings():
    items = [
        {
            "external_id": "a",
            "text": "brackets ] [ } { and, commas,",
            "meta": {"x": [1, {"y": "]"}]},
        },
        {"external_id": "b", "text": 'quote \\" and \\\\ and \u00e9\u4e2d\U0001f600'},
        {"external_id": "c", "n": -1.5e-3, "ok": True, "none": None, "list": [[], [[]]]},
    ]
    content = json.dumps(items, ensure_ascii=False).encode()
    assert [v for _, v in rows_of(content)] == items
    assert [n for n, _ in rows_of(content)] == [1, 2, 3]
    # Pretty-printed, with odd whitespace.
    pretty = json.dumps(items, indent=4).replace("\n", "\r\n\t").encode()
    assert [v for _, v in rows_of(b" \n" + pretty + b"\n\n")] == items


@pytest.mark.parametrize(
    "number", ["12345678", "-1.25e+10", "3.14159", "1E5", "0", "-0.5", "true", "false", "null"]
)
def test_json_scalars_at_every_chunk_boundary(number):
    """A top-level scalar split anywhere by the 64 KiB read boundary parses whole."""
    for cut in range(len(number) + 1):
        head = b'[{"external_id": "pad", "text": "'
        pad = CHUNK - len(head) - len(b'"}, ') - cut
        content = head + b"x" * pad + b'"}, ' + number.encode() + b', {"external_id": "z"}]'
        assert content.index(number.encode()) == CHUNK - cut
        values = [v for _, v in rows_of(content)]
        assert values[1] == json.loads(number), (number, cut)
        assert len(values) == 3


@pytest.mark.parametrize("number", ["12345678", "-1.25e+10", "3.14159"])
def test_json_number_in_object_at_chunk_boundary(number):
    for cut in range(len(number) + 1):
        head = b'[{"external_id": "a", "text": "'
        pad = CHUNK - len(head) - len(b'", "n": ') - cut
        content = head + b"x" * pad + b'", "n": ' + number.encode() + b"}]"
        [(_, value)] = rows_of(content)
        assert value["n"] == json.loads(number)


def test_json_multibyte_character_split_by_chunk():
    head = b'[{"external_id": "a", "text": "'
    for shift in range(4):
        content = head + b"x" * (CHUNK - len(head) - shift) + "\U0001f600é".encode() + b'"}]'
        [(_, value)] = rows_of(content)
        assert value["text"].endswith("\U0001f600é")


def test_json_large_element(make_project):
    project = make_project()
    big = "word " * 60_000  # 300 KB, several chunks
    content = json.dumps(
        [
            {"external_id": "small", "text": "x"},
            {"external_id": "big", "text": big},
            {"external_id": "after", "text": "y"},
        ]
    ).encode()
    assert len(content) > 4 * CHUNK
    result = run(project, content, "json")
    assert (result.created, result.duplicates) == (3, 0)
    assert Item.objects.get(project=project, external_id="big").data["text"] == big


def test_json_bom(make_project):
    project = make_project()
    content = "\ufeff".encode() + json.dumps([{"external_id": "a", "text": "é"}]).encode()
    assert run(project, content, "json").created == 1
    assert Item.objects.get(project=project).data == {"text": "é"}


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'[{"external_id": "a", "text": "x"},]', (2, "row")),
        (b'[{"external_id": "a", "text": "x"}, ]', (2, "row")),
        (b'[{"external_id": "a", "text": "x"},,{"external_id": "b", "text": "y"}]', (2, "row")),
        (b'[,{"external_id": "a", "text": "x"}]', (1, "row")),
        (b'[{"external_id": "a", "text": "x"} {"external_id": "b", "text": "y"}]', (2, "row")),
        (b'[{"external_id": "a", "text": "x"}] garbage', (1, "file")),
        (b'[{"external_id": "a", "text": "x"}]]', (1, "file")),
        (b'[{"external_id": "a", "text": "x"}][]', (1, "file")),
        (b'[{"external_id": "a", "text": "x"}', (2, "file")),
        (b'[{"external_id": "a", "text": "x"},', (2, "file")),
        (b'[{"external_id": "a", "text": "unterminated}]', (1, "row")),
        (b'[{"external_id": "a", "n": 1' + b"0" * 5000 + b"}]", (1, "row")),
        (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", (1, "row")),
        (b'[{"external_id": "a", "text": "\xff"}]', (1, "row")),
        (b'{"external_id": "a"}', (1, "file")),
        (b"", (1, "file")),
        (b"   \n ", (1, "file")),
        (b"[]", (0, "file")),
        (b"[ \n ]", (0, "file")),
    ],
)
def test_json_rejected(make_project, content, expected):
    project = make_project(items=1)
    assert errors_of(project, content, "json")[0] == expected
    assert Item.objects.filter(project=project).count() == 1


def test_json_string_elements_are_not_errors_in_disguise(make_project):
    project = make_project()
    content = b'["row: sneaky", "external_id: x", {"external_id": "a", "text": "x"}]'
    assert errors_of(project, content, "json") == [(1, "row"), (2, "row")]


@pytest.mark.parametrize(
    "fmt, make",
    [
        (
            "json",
            lambda n: (
                "["
                + ",".join(json.dumps({"external_id": f"e{i}", "text": "t" * 50}) for i in range(n))
                + "]"
            ).encode(),
        ),
        (
            "jsonl",
            lambda n: "\n".join(
                json.dumps({"external_id": f"e{i}", "text": "t" * 50}) for i in range(n)
            ).encode(),
        ),
        (
            "csv",
            lambda n: (
                "external_id,text\n" + "".join(f"e{i},{'t' * 50}\n" for i in range(n))
            ).encode(),
        ),
    ],
)
def test_readers_stream(fmt, make):
    """The first row comes out after reading a bounded prefix, not the whole file."""
    content = make(100_000)
    assert len(content) > 5_000_000

    class Counting(io.RawIOBase):
        def __init__(self) -> None:
            self.source, self.read_bytes = io.BytesIO(content), 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            data = self.source.read(len(buffer))
            buffer[: len(data)] = data
            self.read_bytes += len(data)
            return len(data)

    raw = Counting()
    rows = READERS[fmt](io.BufferedReader(raw, buffer_size=CHUNK))
    _number, first = next(rows)
    assert first["external_id"] == "e0"
    assert raw.read_bytes <= 4 * CHUNK


# --- CSV and JSONL ----------------------------------------------------------------------


def test_csv_quoting_bom_and_blank_lines(make_project):
    project = make_project()
    content = (
        "\ufeffexternal_id, text ,source\r\n"
        'r1,"multi\nline, with ""quotes""",imdb\r\n\r\n'
        "r2,plain,\r\n"
    ).encode()
    result = run(project, content, "csv")
    assert (result.created, result.duplicates, result.rows) == (2, 0, 2)
    r1 = Item.objects.get(project=project, external_id="r1")
    assert r1.data == {"text": 'multi\nline, with "quotes"', "source": "imdb"}


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'external_id,text\nr1,ok\nr2,"bad"x\nr3,ok\n', [(3, "row")]),
        (b'external_id,text\nr1,"never closed\n', [(2, "row")]),
        (b"external_id,text\nr1\n", [(2, "row")]),
        (b"external_id,external_id\nr1,r2\n", [(1, "header")]),
        (b"external_id,\nr1,x\n", [(1, "header")]),
        (b"id,text\nr1,x\n", [(1, "header")]),
        (b"external_id,text\n   ,x\n", [(2, "external_id")]),
        (b"external_id,text\nr1,ok\nr2,\xff\xfe\n", [(3, "row")]),
        (b"external_id,text\n", [(0, "file")]),
        (b"", [(0, "file")]),
    ],
)
def test_csv_rejected(make_project, content, expected):
    project = make_project(items=1)
    assert errors_of(project, content, "csv") == expected
    assert Item.objects.filter(project=project).count() == 1


def test_jsonl(make_project):
    project = make_project()
    content = (
        '\ufeff{"external_id": "a", "text": "x"}\n\n'
        '{"external_id": 7, "data": {"image": [1, 2]}, "gold": ["neg"]}\n'
    ).encode()
    result = run(project, content, "jsonl")
    assert result.created == 2
    seven = Item.objects.get(project=project, external_id="7")
    assert (seven.data, seven.gold, seven.is_gold) == ({"image": [1, 2]}, ["neg"], True)


@pytest.mark.parametrize(
    "line, field",
    [
        (b'{"external_id": "b", "text": "x"', "row"),
        (b'{"external_id": "b", "n": 1' + b"0" * 5000 + b"}", "row"),
        (b'"just a string"', "row"),
        (b'"row: sneaky"', "row"),
        (b'{"external_id": "", "text": "x"}', "external_id"),
        (b'{"external_id": true, "text": "x"}', "external_id"),
        (b'{"external_id": "' + b"x" * 256 + b'", "text": "x"}', "external_id"),
        (b'{"external_id": "b", "data": "flat"}', "data"),
        (b'{"external_id": "b"}', "data"),
        (b'{"external_id": "b", "text": "x", "gold": 3}', "gold"),
    ],
)
def test_jsonl_rejected(make_project, line, field):
    project = make_project()
    content = b'{"external_id": "a", "text": "x"}\n' + line + b"\n"
    assert errors_of(project, content, "jsonl") == [(2, field)]
    assert not Item.objects.filter(project=project).exists()


# --- duplicates and gold ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt, content",
    [
        ("csv", b"external_id,text\na,1\nb,2\n"),
        ("jsonl", b'{"external_id": "a", "text": "1"}\n{"external_id": "b", "text": "2"}\n'),
    ],
)
def test_duplicates_counted(make_project, fmt, content):
    project = make_project()
    result = run(project, content, fmt)
    assert (result.created, result.duplicates) == (2, 0)
    again = run(project, content.replace(b"2", b"changed"), fmt)
    assert (again.created, again.duplicates) == (0, 2)
    assert Item.objects.get(project=project, external_id="b").data == {"text": "2"}
    assert Item.objects.filter(project=project).count() == 2


@pytest.mark.parametrize(
    "fmt, content",
    [
        ("csv", b"external_id,text\na,1\nb,2\na,3\na,4\n"),
        (
            "jsonl",
            b'{"external_id": "a", "text": "1"}\n{"external_id": "b", "text": "2"}\n'
            b'{"external_id": "a", "text": "3"}\n{"external_id": "a", "text": "4"}\n',
        ),
        (
            "json",
            b'[{"external_id": "a", "text": "1"}, {"external_id": "b", "text": "2"},'
            b'{"external_id": "a", "text": "3"}, {"external_id": "a", "text": "4"}]',
        ),
    ],
)
def test_an_id_repeated_in_the_file_is_a_row_error_naming_both_rows(make_project, fmt, content):
    """Not an "already present" duplicate: the file itself is wrong, and which row's data
    would win is a guess, so nothing is written."""
    project = make_project()
    first = 2 if fmt == "csv" else 1  # CSV rows are counted with the header as row 1
    with pytest.raises(ImportRejected) as caught:
        run(project, content, fmt)
    assert caught.value.detail["errors"] == [
        {
            "row": first + n,
            "field": "external_id",
            "message": f"external_id 'a' is repeated: row {first} has it too",
        }
        for n in (2, 3)
    ]
    assert not Item.objects.filter(project=project).exists()


def test_repeats_are_found_across_batches(make_project, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 3)
    project = make_project()
    content = "\n".join(
        json.dumps({"external_id": f"e{i % 5}", "text": "x"}) for i in range(12)
    ).encode()
    assert errors_of(project, content, "jsonl") == [(n, "external_id") for n in range(6, 13)]
    assert not Item.objects.filter(project=project).exists()


def test_gold_column(make_project):
    single = make_project(labels=("pos", "neg"))
    run(single, b"external_id,text,gold\na,x,pos\nb,y,\nc,z, neg \n", "csv")
    gold = dict(Item.objects.filter(project=single).values_list("external_id", "gold"))
    assert gold == {"a": ["pos"], "b": None, "c": ["neg"]}
    assert Item.objects.filter(project=single, is_gold=True).count() == 2
    multi = make_project(kind="multi_label", labels=("a", "b", "c"))
    run(multi, b"external_id,text,gold\nr1,x,c|a\n", "csv")
    assert Item.objects.get(project=multi).gold == ["a", "c"]
    errors = errors_of(multi, b"external_id,text,gold\nr2,x,a|zzz\n", "csv")
    assert errors == [(2, "gold")]
    assert errors_of(
        single, b'{"external_id": "d", "text": "x", "gold": ["pos", "neg"]}', "jsonl"
    ) == [(1, "gold")]
    assert errors_of(single, b'{"external_id": "d", "text": "x", "gold": "spam"}', "jsonl") == [
        (1, "gold")
    ]


def test_error_list_is_capped(make_project, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ERRORS_LISTED", 5)
    project = make_project()
    content = b"external_id,text\n" + b",x\n" * 20
    with pytest.raises(ImportRejected) as info:
        run(project, content, "csv")
    assert len(info.value.detail["errors"]) == 5
    assert info.value.detail["more_errors"] == 15


def test_row_limit(make_project, settings):
    settings.SKEIN_MAX_IMPORT_ROWS = 3
    project = make_project()
    content = b"external_id,text\n" + b"".join(b"e%d,x\n" % i for i in range(5))
    assert errors_of(project, content, "csv") == [(5, "file")]


def test_import_records_not_a_list(make_project):
    from annotation.errors import InvalidInput

    with pytest.raises(InvalidInput):
        imports.items_import_records(project=make_project(), records={"a": 1})


# --- management commands ----------------------------------------------------------------


def test_import_items_command(make_project, tmp_path, capsys):
    project = make_project()
    items_import_records(project=project, records=[{"external_id": "e0", "text": "t"}])
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps({"external_id": f"e{i}", "text": "t"}) for i in range(21)))
    call_command("import_items", str(project.pk), str(path))
    captured = capsys.readouterr()
    assert "20 created, 1 duplicates (21 rows)" in captured.out
    assert "import into" in captured.err and "100%" in captured.err  # the progress bar
    assert Item.objects.filter(project=project).count() == 21
    # By name, with an explicit format, without the bar.
    other = tmp_path / "items.txt"
    other.write_text("external_id,text\nz,1\n")
    call_command("import_items", project.name, str(other), "--format", "csv", "--no-progress")
    assert "1 created" in capsys.readouterr().out


def test_import_items_command_bad_file(make_project, tmp_path, capsys):
    project = make_project(items=2)
    path = tmp_path / "bad.csv"
    path.write_text('external_id,text\nr1,ok\n,missing id\nr3,"broken"x\n')
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_items", str(project.pk), str(path), "--no-progress")
    err = capsys.readouterr().err
    assert "row 3, external_id" in err and "row 4, row" in err
    assert Item.objects.filter(project=project).count() == 2
    with pytest.raises(CommandError):
        call_command("import_items", "no such project", str(path))
    with pytest.raises(CommandError):
        call_command("import_items", str(project.pk), str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError):
        call_command("import_items", str(project.pk), str(tmp_path))
    (tmp_path / "items.xml").write_text("<x/>")
    with pytest.raises(CommandError):
        call_command("import_items", str(project.pk), str(tmp_path / "items.xml"))


def _subprocess_env() -> dict[str, str]:
    """Point a child ``manage.py`` at this test run's database."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test")
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{settings['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@"
            f"{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
        )
    return env


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_import_items_process_exit_status(make_project, tmp_path):
    """As a real process: a bad file exits non-zero with every error; a good one imports."""
    project = make_project()
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"external_id": "a", "text": "x"}, {"text": "no id"}, 5]')
    done = subprocess.run(
        [sys.executable, str(manage), "import_items", str(project.pk), str(bad)],
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "row 2, external_id" in done.stderr and "row 3, row" in done.stderr
    assert "Nothing was imported" in done.stderr
    assert not Item.objects.filter(project=project).exists()
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"external_id": f"g{i}", "text": "x"} for i in range(7)]))
    done = subprocess.run(
        [sys.executable, str(manage), "import_items", str(project.pk), str(good)],
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "7 created" in done.stdout
    assert "100%" in done.stderr
    assert Item.objects.filter(project=project).count() == 7


def test_export_labels_command(api, make_project, make_user, add_member, tmp_path, capsys):
    from tests.annotation.helpers import claim, submit

    project = make_project(items=3)
    user = add_member(project, make_user("ann"))
    client = api(user)
    submit(client, claim(client, project).json()["assignment"]["id"], ["neg"])
    out = tmp_path / "labels.jsonl"
    call_command("export_labels", str(project.pk), "-o", str(out))
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(records) == 1 and records[0]["label"] == "neg"
    assert records[0]["annotations"][0]["annotator"] == "ann"
    call_command("export_labels", project.name, "--format", "csv", "--state", "all")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("external_id,labels,confidence") and len(lines) == 4
    with pytest.raises(CommandError):
        call_command("export_labels", str(project.pk), "--format", "xml")
    with pytest.raises(CommandError):
        call_command("export_labels", "nope")


def test_a_nul_character_is_a_row_error_on_every_database(make_project):
    import io

    from annotation.errors import ImportRejected
    from annotation.models import Item
    from annotation.services.imports import items_import

    project = make_project()
    body = b'{"external_id": "a", "text": "fine"}\n{"external_id": "b", "meta": {"x": "\\u0000"}}\n'
    with pytest.raises(ImportRejected) as caught:
        items_import(project=project, stream=io.BytesIO(body), fmt="jsonl")
    assert caught.value.detail["errors"] == [
        {"row": 2, "field": "meta.x", "message": "contains a NUL character, which cannot be stored"}
    ]
    assert Item.objects.filter(project=project).count() == 0


def test_a_value_the_database_cannot_store_is_a_400(api, project, manager):
    response = api(manager).post(
        f"/api/v1/projects/{project.pk}/members/",
        {"username": "a\x00b", "role": "labeler"},
        format="json",
    )
    assert response.status_code == 400


# --- values neither database can store (both databases alike) -------------------------

SURROGATE = "contains a lone UTF-16 surrogate (not valid Unicode), which cannot be stored"
NOT_FINITE = "is NaN or Infinity, which cannot be stored (not valid JSON)"


@pytest.mark.parametrize(
    "fmt, content, expected",
    [
        (
            "jsonl",
            b'{"external_id": "a", "text": "ok"}\n{"external_id": "b", "text": "x\\ud800"}\n',
            {"row": 2, "field": "text", "message": SURROGATE},
        ),
        (
            "json",
            b'[{"external_id": "a", "text": "ok"}, {"external_id": "b", '
            b'"data": {"meta": ["\\udfff"]}}]',
            {"row": 2, "field": "data.meta", "message": SURROGATE},
        ),
        (
            "jsonl",
            b'{"external_id": "a", "text": "ok"}\n{"external_id": "b\\ud83d", "text": "x"}\n',
            {"row": 2, "field": "external_id", "message": SURROGATE},
        ),
        (
            "jsonl",
            b'{"external_id": "a", "text": "ok"}\n{"external_id": "b", "\\ud800k": "x"}\n',
            {"row": 2, "field": "\\ud800k", "message": SURROGATE},
        ),
        (
            "jsonl",
            b'{"external_id": "a", "text": "ok"}\n{"external_id": "b", "score": NaN}\n',
            {"row": 2, "field": "score", "message": NOT_FINITE},
        ),
        (
            "json",
            b'[{"external_id": "a", "text": "ok"}, {"external_id": "b", "text": "x", '
            b'"meta": {"p": [1, -Infinity]}}]',
            {"row": 2, "field": "meta.p", "message": NOT_FINITE},
        ),
        (
            "jsonl",
            b'{"external_id": "a", "text": "ok"}\n{"external_id": "b", "n": Infinity}\n',
            {"row": 2, "field": "n", "message": NOT_FINITE},
        ),
    ],
)
def test_unstorable_values_are_row_errors(make_project, fmt, content, expected):
    """Before: a lone surrogate was stored on SQLite (then every read of the item was a
    500) and was a 500 on PostgreSQL; NaN rows vanished as "duplicates" on SQLite."""
    project = make_project()
    with pytest.raises(ImportRejected) as caught:
        run(project, content, fmt)
    assert caught.value.detail["errors"] == [expected]
    assert not Item.objects.filter(project=project).exists()


def test_bad_rows_through_the_api_are_400_with_row_and_field(api, make_project, manager):
    project = make_project()
    url = f"/api/v1/projects/{project.pk}/items/import/"
    body = '[{"external_id": "a", "text": "ok"}, {"external_id": "b", "text": "\\ud800"}]'
    response = api(manager).post(url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json() == {"errors": [{"row": 2, "field": "text", "message": SURROGATE}]}
    upload = io.BytesIO(b'{"external_id": "a", "v": NaN}\n')
    upload.name = "rows.jsonl"
    response = api(manager).post(url, {"file": upload}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json() == {"errors": [{"row": 1, "field": "v", "message": NOT_FINITE}]}
    upload = io.BytesIO(b"external_id,text\nr1,ok\nr2,bad \xed\xa0\x80 bytes\n")
    upload.name = "rows.csv"  # a surrogate encoded in UTF-8 bytes: not valid UTF-8
    response = api(manager).post(url, {"file": upload}, format="multipart")
    assert response.status_code == 400, response.content
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(3, "row")]
    assert not Item.objects.filter(project=project).exists()
    assert api(manager).get(f"/api/v1/projects/{project.pk}/items/").status_code == 200
