"""The report's HTML for Jupyter: theme-safe colours, wrapping, steps on demand, no empty
columns; checked as markup and, in a dark theme, in headless Chromium (Debian's `chromium`,
which `.ci/run` installs; the screenshot test skips without it)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import wsrun

PIL = pytest.importorskip("PIL.Image")

LONG = "x" * 400


@pytest.fixture
def long_failure(server) -> str:
    """A failure whose message is one long JSON line, next to a passing request."""
    return f"""\
name: Wide
requests:
  - name: passes
    url: {server.url('/echo')}
    steps:
      - send: {{ json: {{ id: 1 }} }}
      - expect: {{ json: {{ $.id: 1 }} }}
  - name: fails with a long message
    url: {server.url('/echo')}
    steps:
      - send: {{ json: {{ id: 7, pad: "{LONG}" }} }}
      - expect: {{ json: {{ $.id: 8 }} }}
"""


def test_the_repr_inherits_colours_marks_failures_and_wraps(long_failure):
    page = wsrun.run(long_failure)._repr_html_()
    ET.fromstring(page)
    assert "background:#" not in page and "background-color" not in page
    assert "color:inherit" in page
    assert "white-space:pre-wrap" in page and "overflow-wrap:anywhere" in page
    assert page.count("<details") == 2 and "2 steps" in page
    # The passing `expect` right after its `send` measured a round trip: a latency column.
    assert "round trip" in page
    first_row = ET.fromstring(page).find(".//details/table/tr")
    assert first_row is not None and len(first_row) == 7


def test_a_passing_report_has_no_failure_column(echo_collection):
    page = wsrun.run(echo_collection)._repr_html_()
    headers = [th.text or "" for th in ET.fromstring(page).iter("th")]
    assert headers == ["", "request", "time"]
    assert "failure" not in page and "<pre" not in page


def _chromium() -> "str | None":
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _screenshot(html: str, tmp_path: Path, width: int = 900, height: int = 500) -> "PIL.Image":
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium is not installed: `.ci/run` installs it")
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return PIL.open(shot).convert("RGB")


def _dark_page(body: str) -> str:
    # Roughly JupyterLab's dark theme: near-black background, light text.
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
        "body{background:#111;color:#ddd;font:14px sans-serif;margin:8px}"
        "</style></head><body>" + body + "</body></html>"
    )


def test_in_a_dark_theme_the_failure_stays_readable(long_failure, tmp_path):
    page = wsrun.run(long_failure)._repr_html_()
    image = _screenshot(_dark_page(page), tmp_path)
    data = image.tobytes()
    pixels = list(zip(data[0::3], data[1::3], data[2::3]))
    light = sum(1 for r, g, b in pixels if min(r, g, b) > 200)
    # Light text on the dark page covers a small share of it; a light row background (which
    # made light text unreadable) would cover a large one.
    assert light / len(pixels) < 0.08, f"{light / len(pixels):.1%} of the page is light"
    # The text is there (light glyphs), and the failure is marked in red.
    assert light > 500
    red = sum(1 for r, g, b in pixels if r > 180 and g < 110 and b < 110)
    assert red > 200
    # The long message wraps instead of widening the page beyond the window.
    assert image.size[0] == 900
    right_edge = [image.getpixel((x, y)) for x in range(892, 900) for y in range(0, 500)]
    assert not [p for p in right_edge if min(p) > 200], "text runs off the right edge"
