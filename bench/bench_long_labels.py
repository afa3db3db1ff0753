"""The labeling page with 200 labels, measured in Chromium (not a test): time from page load
to the first item on screen and answerable, and per-keystroke cost of the `/` filter and of
a group key narrowing the list; the same page with 2 labels alongside, alternated, for the
ratio.

Starts the embedded default on a fresh var dir (SQLite, `manage.py runserver --noreload`),
creates a labeler and two projects (200 labels in 15 groups of 9 plus 50 top-level, with
descriptions; and 2 labels), then, --rounds times, alternating the projects: loads the page
(from navigation start to the moment the first item is painted and a key may answer it,
`window.skein.state.current.visibleAt`), types a filter word key by key (the event's time
stamp to the end of the page's input handler, and to the next frame painted), clears it, and
presses a group's key (keydown to the next frame).

    .venv/bin/python bench/bench_long_labels.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_labeling_latency import (  # the sibling bench's server helpers
    CHROMIUM_ARGS,
    ROOT,
    embedded_env,
    free_port,
    manage,
    percentile,
    start_server,
)

SETUP = """
from django.contrib.auth import get_user_model
from annotation.services.imports import items_import_records
from annotation.services.projects import member_set, project_create
User = get_user_model()
boss = User.objects.create_user("boss", password="bench-pass-123", is_staff=True)
User.objects.create_user("lab", password="bench-pass-123")
labels = []
for g in range(15):
    labels.append({"name": f"group {g}", "description": f"everything about theme {g}"})
    labels += [{"name": f"leaf {g}.{c}", "parent": f"group {g}",
                "description": f"kind {g}-{c}"} for c in range(9)]
labels += [{"name": f"plain {n}", "description": f"plain word number{n}"} for n in range(50)]
for name, schema in (("long", labels), ("short", ["pos", "neg"])):
    p = project_create(creator=boss, name=name, labels=schema)
    items_import_records(project=p, records=[{"external_id": f"i{n}", "text": f"item {n}"}
                                             for n in range(500)])
    member_set(project=p, actor=boss, username="lab", role="labeler")
    print(name, p.pk, flush=True)
"""

NAVIGATION = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return { server: n.responseStart - n.requestStart, dom: n.domContentLoadedEventEnd };
}"""

PROBE = """() => {
  window.benchInput = [];
  const box = document.getElementById("label-filter");
  box.addEventListener("input", (e) => {
    const handled = performance.now();
    const row = { handler: handled - e.timeStamp, painted: null };
    window.benchInput.push(row);
    requestAnimationFrame(() => setTimeout(() => {
      row.painted = performance.now() - e.timeStamp;
    }, 0));
  });
  window.benchKey = [];
  document.addEventListener("keydown", (e) => {
    if (e.target !== document.body) return;
    const row = { handler: performance.now() - e.timeStamp, painted: null };
    window.benchKey.push(row);
    requestAnimationFrame(() => setTimeout(() => {
      row.painted = performance.now() - e.timeStamp;
    }, 0));
  });
}"""


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:44} median {statistics.median(values):6.1f} ms   "
        f"p95 {percentile(values, 0.95):6.1f} ms   max {max(values):6.1f} ms   n={len(values)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    var, env = embedded_env("skein-bench-labels-")
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v0")
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ids = dict(row.split() for row in out.splitlines() if row.split()[:1] in (["long"], ["short"]))
    port = free_port()
    server = start_server("runserver", env, port)
    base = f"http://127.0.0.1:{port}"
    load: dict[str, list[float]] = {"long": [], "short": []}
    server_ms: dict[str, list[float]] = {"long": [], "short": []}
    dom_ms: dict[str, list[float]] = {"long": [], "short": []}
    typing_handler: list[float] = []
    typing_painted: list[float] = []
    key_painted: list[float] = []
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(base_url=base)
            page.goto("/login/")
            page.fill("#id_username", "lab")
            page.fill("#id_password", "bench-pass-123")
            page.press("#id_password", "Enter")
            page.wait_for_url(f"{base}/")
            for _ in range(args.rounds):
                for name in ("long", "short"):
                    page.goto(f"/projects/{ids[name]}/label/")
                    page.wait_for_function("() => window.skein?.state?.current?.visibleAt > 0")
                    load[name].append(page.evaluate("window.skein.state.current.visibleAt"))
                    nav = page.evaluate(NAVIGATION)
                    server_ms[name].append(nav["server"])
                    dom_ms[name].append(nav["dom"])
                    if name != "long":
                        continue
                    page.evaluate(PROBE)
                    page.keyboard.press("/")
                    page.keyboard.type("number4", delay=60)
                    page.keyboard.press("Escape")
                    page.keyboard.press("1")  # group 0's key: narrows to its 9 labels
                    page.wait_for_timeout(100)
                    page.keyboard.press("Escape")
                    page.wait_for_timeout(100)
                    rows = page.evaluate("window.benchInput")
                    typing_handler += [r["handler"] for r in rows]
                    typing_painted += [r["painted"] for r in rows if r["painted"] is not None]
                    keys = page.evaluate("window.benchKey")
                    key_painted += [r["painted"] for r in keys if r["painted"] is not None]
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    print(f"SQLite in {var}, runserver, {args.rounds} rounds, pages alternated")
    print(line("page load -> first item answerable, 200 labels", load["long"]))
    print(line("page load -> first item answerable, 2 labels", load["short"]))
    for name, count in (("long", 200), ("short", 2)):
        print(line(f"  page request -> first byte, {count} labels", server_ms[name]))
        print(line(f"  page load -> DOMContentLoaded, {count} labels", dom_ms[name]))
    ratio = statistics.median(load["long"]) / statistics.median(load["short"])
    print(f"{'  ratio of medians (200 / 2)':44} {ratio:.2f}")
    print(line("filter keystroke -> handler done", typing_handler))
    print(line("filter keystroke -> next frame painted", typing_painted))
    print(line("group key / Escape -> next frame painted", key_painted))


if __name__ == "__main__":
    main()
