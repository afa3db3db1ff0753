"""Labeling page latency: keypress to the next item shown, measured in Chromium (not a test).

Starts the embedded default on a fresh var dir (SQLite, filesystem broker, no worker; the
server is `manage.py runserver --noreload` as `make run` starts it, or gunicorn with
--server gunicorn), loads the demo data, logs in as alice, acknowledges the digits guideline
and labels --items items with the keyboard. The page records, for each keypress, its event
timestamp and performance.now() right after the next item is in the DOM ("shown") and after
the following frame ("painted"); this script reports median and p95 of both, and the
server-side times of the submit and next requests from the Resource Timing API.

    .venv/bin/python bench/bench_labeling_latency.py [--items 200] [--server gunicorn]
        [--look-ms 500 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:34} median {statistics.median(values):6.1f} ms   "
        f"p95 {percentile(values, 0.95):6.1f} ms   max {max(values):6.1f} ms   n={len(values)}"
    )


def embedded_env(prefix: str) -> tuple[str, dict[str, str]]:
    """A fresh var dir and the environment of the embedded default on it (SQLite, no broker
    or cache from the caller's environment)."""
    var = tempfile.mkdtemp(prefix=prefix)
    env = {
        **os.environ,
        "SKEIN_VAR_DIR": var,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_DEBUG"):
        env.pop(name, None)
    return var, env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def start_server(kind: str, env: dict[str, str], port: int) -> subprocess.Popen:
    if kind == "gunicorn":
        cmd = [
            PYTHON,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--threads",
            "4",
        ]
    else:
        cmd = [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def drive(
    base: str, items: int, seed: int, look: tuple[float, float]
) -> tuple[list[dict], list[dict]]:
    from playwright.sync_api import sync_playwright

    rng = random.Random(seed)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(base_url=base)
        page.goto("/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "skein-alice")
        page.press("#id_password", "Enter")
        page.wait_for_url(f"{base}/")
        page.get_by_role("link", name="Handwritten digits").click()
        page.get_by_role("button", name="I have read version 1").click()
        page.wait_for_function("document.getElementById('item-id').textContent !== ''")
        page.evaluate("performance.setResourceTimingBufferSize(10000)")
        for n in range(items):
            page.wait_for_timeout(rng.uniform(*look))  # the labeler looks at the item
            page.keyboard.press(str(rng.randrange(10)))
            page.wait_for_function(
                f"window.skein.timings.length > {n} && window.skein.timings[{n}].painted !== null"
            )
        timings = page.evaluate("window.skein.timings")
        resources = page.evaluate(
            "performance.getEntriesByType('resource').filter(e => /submit|next/.test(e.name))"
            ".map(e => ({name: e.name, duration: e.duration,"
            " server: e.responseStart - e.requestStart}))"
        )
        browser.close()
    return timings, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--server", choices=["runserver", "gunicorn"], default="runserver")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--look-ms",
        type=float,
        nargs=2,
        default=(500.0, 1000.0),
        metavar=("MIN", "MAX"),
        help="time spent looking at each item before the key, uniform in "
        "[MIN, MAX] ms (default 500 1000: a very fast labeler)",
    )
    args = parser.parse_args()
    var, env = embedded_env("skein-bench-latency-")
    print(f"var dir {var}: migrate, collectstatic, seed_demo …", flush=True)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "seed_demo", "--reviews", "500")
    port = free_port()
    server = start_server(args.server, env, port)
    try:
        timings, resources = drive(
            f"http://127.0.0.1:{port}", args.items, args.seed, tuple(args.look_ms)
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    shown = [t["shown"] - t["key"] for t in timings]
    painted = [t["painted"] - t["key"] for t in timings]
    print(
        f"server: {args.server}, SQLite in {var}, {args.items} items of 'Handwritten digits', "
        f"look {args.look_ms[0]:.0f}-{args.look_ms[1]:.0f} ms per item"
    )
    prefetched = sum(1 for t in timings if t.get("source") == "prefetched")
    print(f"next item already prefetched at the keypress: {prefetched} of {len(timings)}")
    print(summary("keypress -> next item in the DOM", shown))
    print(summary("keypress -> next frame painted", painted))
    for source in ("prefetched", "requested"):
        subset = [t["shown"] - t["key"] for t in timings if t.get("source") == source]
        if subset:
            print(summary(f"  of which {source}", subset))
    for kind in ("submit", "next"):
        entries = [r for r in resources if f"/{kind}/" in r["name"]]
        print(summary(f"  {kind}: request, round trip", [e["duration"] for e in entries]))
        print(summary(f"  {kind}: request -> first byte", [e["server"] for e in entries]))


if __name__ == "__main__":
    main()
