"""Memory of one web worker before and after a labeler's answer queues training (not a test).

Starts gunicorn with one sync worker (no --preload, so the worker loads the app itself, as
each of `-w N` workers does) on a fresh SQLite database under a temporary var dir, with an
in-memory broker (the published jobs go nowhere; no Celery worker runs). A labeler then
answers --answers items through the API; the project's `retrain_every` is 5, so every
answer's after-submit hook queues a training check. The script reports the worker's
resident memory (VmRSS from /proc) after start-up and after each answer, and each submit's
time, so the cost of whatever the first triggering answer loads shows as a jump.

    .venv/bin/python bench/bench_web_memory.py [--answers 5] [--code PATH]

`--code` measures another checkout of Skein (e.g. the commit before a change, unpacked with
`git archive <commit> | tar -x -C /tmp/before`) with this venv's interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-labeler-9"

SEED = """
from django.contrib.auth import get_user_model
from annotation.services.imports import items_import_records
from annotation.services.projects import member_set, project_create

User = get_user_model()
boss = User.objects.create_user("boss", password="bench-boss-9")
User.objects.create_user("lab", password="{password}")
project = project_create(creator=boss, name="bench", labels=[{{"name": "pos"}}, {{"name": "neg"}}],
                         retrain_every=5)
member_set(project=project, actor=boss, username="lab", role="labeler")
items_import_records(project=project, records=[
    {{"external_id": f"i{{n}}", "text": f"review number {{n}}"}} for n in range(50)])
print(project.pk)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def call(base: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    request = urllib.request.Request(
        base + path, method="POST", data=json.dumps(body or {}).encode()
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        raw = response.read()
        return json.loads(raw) if raw else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=5)
    parser.add_argument("--code", type=Path, default=ROOT, help="the Skein checkout to run")
    args = parser.parse_args()
    code = args.code.resolve()
    var = Path(tempfile.mkdtemp(prefix="skein-bench-mem-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "SKEIN_VAR_DIR": str(var),
        "CELERY_BROKER_URL": "memory://",
        "DATABASE_URL": f"sqlite:///{var / 'bench.sqlite3'}",
        "PYTHONPATH": str(code),
    }
    env.pop("SKEIN_TEST_QUEUE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=code, env=env, check=True
    )
    project = (
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEED.format(password=PASSWORD)],
            cwd=code,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (var / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
        ],
        cwd=code,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        login = {"username": "lab", "password": PASSWORD}
        token = call(base, "/api/v1/auth/token/", login)["token"]
        (worker,) = children(server.pid)
        print(f"code: {code}")
        print(f"worker pid {worker}: after start-up and a login  {rss_mib(worker):7.1f} MiB")
        for n in range(args.answers):
            claim = call(base, f"/api/v1/projects/{project}/next/", token=token)
            started = time.perf_counter()
            call(
                base,
                f"/api/v1/assignments/{claim['assignment']['id']}/submit/",
                {"labels": ["pos"], "duration_ms": 900, "client_id": f"bench-{n}"},
                token,
            )
            took = (time.perf_counter() - started) * 1000
            print(
                f"  answer {n + 1} (queues a training check): submit {took:7.1f} ms, "
                f"worker {rss_mib(worker):7.1f} MiB"
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
