"""``report.html`` in a real browser: headless Chromium, driven over the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe``: it reads NUL-terminated JSON commands on
fd 3 and writes replies and events on fd 4, so plain ``os.pipe`` is all the client needs. The
page is loaded from ``file://``; every console error, uncaught exception, log error, failed load
and request for anything but a ``file:``/``data:`` URL is collected, then the DOM is queried.
Skipped (with the reason) only where no Chromium binary is installed; ``.ci/run`` installs
Debian's ``chromium``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import pytest
from run_folders import tiny_runs

from multiview.report.page import build_comparison, build_report
from multiview.report.tables import verdict_of

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM = next((p for p in map(shutil.which, BINARIES) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary on PATH (apt-get install chromium)"
)
WIDTH = 1280


class Browser:
    """A headless Chromium and a minimal DevTools-protocol client over its pipe."""

    def __init__(self, profile: Path, timeout: float = 60.0):
        self.timeout, self.next_id, self.buf, self.events = timeout, 0, b"", []
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Chromium's ends go above fd 9, so that the child's dup2 onto 3 and 4 cannot clash
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w)]
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        to_chrome_r, from_chrome_w = ends
        args = [
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--mute-audio",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # preexec_fn means a real fork, and once JAX has started in this process (any earlier
        # test in this process) its at-fork hook warns that fork and threads do not mix, which
        # the suite's warnings-as-errors turns into an error. The child only execs Chromium.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
            self.proc = subprocess.Popen(
                args,
                pass_fds=(3, 4),
                preexec_fn=lambda: (os.dup2(to_chrome_r, 3), os.dup2(from_chrome_w, 4)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        os.close(to_chrome_r)
        os.close(from_chrome_w)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_chrome], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium over the DevTools pipe")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed the DevTools pipe (exit {self.proc.poll()})")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result (events meanwhile go to ``events``)."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for ev in self.events:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            self.events.append(self._read_message(deadline))

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_chrome, self.from_chrome):
            os.close(fd)


class Page:
    """One tab that loaded ``url``; what went wrong while loading it, and its DOM."""

    def __init__(self, browser: Browser, url: str):
        self.b = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.s = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session=self.s)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=self.s,
        )
        mark = len(browser.events)
        browser.send("Page.navigate", {"url": url}, session=self.s)
        browser.wait_event("Page.loadEventFired", self.s)
        self.eval("new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
        self.events = [e for e in browser.events[mark:] if e.get("sessionId") == self.s]

    def eval(self, expression: str):
        res = self.b.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.s,
        )
        assert "exceptionDetails" not in res, res["exceptionDetails"]
        return res["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions, error log entries, failed loads."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: {p.get('args')}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log: {p['entry'].get('text')}")
            elif m == "Network.loadingFailed":
                out.append(f"failed load: {p.get('errorText')}")
        return out

    def network(self) -> list[str]:
        """URLs requested that are not the page's own ``file:`` or inline ``data:``."""
        urls = [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        return [u for u in urls if not u.startswith(("file:", "data:", "about:"))]

    def screenshot(self, path: Path) -> Path:
        height = int(self.eval("document.documentElement.scrollHeight"))
        shot = self.b.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
            },
            session=self.s,
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        b.send("Browser.getVersion")
    except (RuntimeError, TimeoutError) as err:
        b.close()
        pytest.fail(f"{CHROMIUM} does not speak the DevTools protocol over a pipe: {err}")
    yield b
    b.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tiny_runs(tmp_path_factory)


IMAGES_OK = "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.src.slice(0, 22)])"


@pytest.mark.parametrize("kind", ["simulate", "theorems"])
def test_report_renders_without_errors_or_requests(browser, runs, tmp_path, kind):
    run = runs[0]
    if kind == "theorems":  # the stored theorems run, with a real run's figures
        run = tmp_path / "theorems"
        shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "theorems_run", run)
        shutil.copytree(runs[0] / "figures", run / "figures")
    report = build_report(run)
    page = Page(browser, report.as_uri())
    assert page.errors() == []
    assert page.network() == []
    summary = json.loads((run / "summary.json").read_text())
    n = len(summary["predictions"])
    assert page.eval("document.querySelectorAll('table.verdicts tbody tr').length") == n
    verdicts = [verdict_of(p) for p in summary["predictions"]]
    for v in ("holds", "fails", "inconclusive", "not_converged"):
        rows = page.eval(f"document.querySelectorAll('table.verdicts tr.{v}').length")
        assert rows == verdicts.count(v), v
    # the verdicts are coloured: green for holds, red for fails, amber and purple for the
    # undecided ones
    color = "c => getComputedStyle(document.querySelector(c + ' .badge')).color"
    colors = {
        "holds": "rgb(26, 127, 55)",
        "fails": "rgb(207, 34, 46)",
        "inconclusive": "rgb(154, 103, 0)",
        "not_converged": "rgb(130, 80, 223)",
    }
    for v, rgb in colors.items():
        if v in verdicts:
            assert page.eval(f"({color})('tr.{v}')") == rgb, v
    images = page.eval(IMAGES_OK)
    figures = list((run / "figures").glob("*.png"))
    assert len(images) == len(figures) > 0
    assert all(ok and width > 0 and src == "data:image/png;base64," for ok, width, src in images), (
        images
    )
    # laid out within its max-width, nothing wider than the window
    assert page.eval("document.querySelector('main').getBoundingClientRect().width") <= 1200
    assert page.eval("document.documentElement.scrollWidth") <= WIDTH
    shot = page.screenshot(tmp_path / "report.png")
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("MULTIVIEW_REPORT_SCREENSHOT"):  # to look at it: a folder to copy it to
        shutil.copy(shot, Path(os.environ["MULTIVIEW_REPORT_SCREENSHOT"]) / f"report-{kind}.png")


def test_comparison_renders_without_errors_or_requests(browser, runs, tmp_path):
    out = build_comparison(runs[0], runs[1], tmp_path / "compare.html")
    page = Page(browser, out.as_uri())
    assert page.errors() == [] and page.network() == []
    fields = page.eval(
        "Array.from(document.querySelectorAll('table.config-diff tbody tr "
        "td:first-child')).map(td => td.textContent)"
    )
    assert fields == ["data.noise_scale"]
    assert all(ok and width > 0 for ok, width, _ in page.eval(IMAGES_OK))


def test_the_harness_sees_errors_and_requests(browser, tmp_path):
    """A control: a page that logs an error and fetches a remote image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png">'
        '<script>console.error("boom")</script></body></html>'
    )
    page = Page(browser, bad.as_uri())
    assert any("boom" in e for e in page.errors())
    assert page.network() == ["http://127.0.0.1:9/x.png"]
