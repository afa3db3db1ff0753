"""`make screenshots`: rewrite docs/labeling.png and docs/dashboard.png, the README's two
pictures, from the demo data (not a test: the test suite never writes tracked files).

On a throwaway var dir (SQLite, an in-memory broker, no worker): the demo seed, then a
working day (`manage.py seed_demo_history`: alice and bob label 80 reviews through the
queue, two model versions are trained and scored by the workers' services), then the web
server and Debian's Chromium through Playwright: alice answers one review and the next one
shows the model's suggestion; the manager opens the dashboard.

    .venv/bin/python scripts/screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
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
CHROMIUM = os.environ.get("SKEIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def log_in(browser, base: str, username: str, password: str, height: int):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": height}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.page_errors = []
    page.on("pageerror", lambda error: page.page_errors.append(str(error)))
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.press("#id_password", "Enter")
    page.wait_for_url(f"{base}/")
    return page


def photograph(base: str, out: Path, project_id: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = log_in(browser, base, "alice", "skein-alice", 760)
        page.goto(f"/projects/{project_id}/label/")
        page.locator(".item-text").wait_for()
        done = int(page.locator("#count-done").text_content().strip())
        page.wait_for_timeout(300)
        page.keyboard.press("1")
        page.locator("#count-done").filter(has_text=str(done + 1)).wait_for()
        page.locator("#suggestion").wait_for()
        page.wait_for_timeout(100)
        page.screenshot(path=str(out / "labeling.png"), full_page=True)

        boss = log_in(browser, base, "manager", "skein-team-lead", 860)
        boss.goto(f"/projects/{project_id}/dashboard/")
        boss.locator("#annotators tbody tr").nth(1).wait_for()
        boss.locator("#chart-hourly svg").wait_for()
        boss.wait_for_timeout(100)
        boss.screenshot(path=str(out / "dashboard.png"), full_page=True)
        browser.close()
        errors = page.page_errors + boss.page_errors
        if errors:
            raise SystemExit(f"script errors on the pages: {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"No Chromium at {CHROMIUM}; see scripts/test-deps.sh.")
    var = Path(tempfile.mkdtemp(prefix="skein-screenshots-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "SKEIN_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
    }
    server = None
    try:
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")
        manage(env, "seed_demo", "--reviews", "200")
        manage(env, "seed_demo_history")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        # The demo seed creates the movie reviews project first.
        photograph(base, args.out, project_id=1)
        print(f"wrote {args.out / 'labeling.png'} and {args.out / 'dashboard.png'}")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
