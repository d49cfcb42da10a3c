"""The HTML viewer in a real browser: headless Chromium driven through chromedriver (selenium).

Checks that the lanes and arrows in the DOM match the trace, that clicking a
step changes the state panel, that a screenshot is not blank, and that a
10,000-event trace loads quickly and stays virtualised. Skipped only when
Chromium or its driver is not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import pytest

from modelcheck._trace_html import write_html
from modelcheck._trace_run import record_seed
from modelcheck.trace import Snapshot, Trace, TraceEvent
from tests.modelcheck._trace_scenario import CopyScenario, find_failing_seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="needs the Debian packages chromium and chromium-driver"),
]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """``(width, height, channels, pixels)`` of an 8-bit RGB/RGBA PNG (enough for screenshots)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, [], 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                row[i] = (row[i] + a) & 255
            elif f == 2:
                row[i] = (row[i] + b) & 255
            elif f == 3:
                row[i] = (row[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += row
        prev = row
    return width, height, channels, bytes(out)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", "--window-size=1400,1600"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(driver, path: Path, timeout_s: float = 30.0) -> None:
    driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + timeout_s
    while driver.execute_script("return document.body && document.body.dataset.ready") != "1":
        assert time.monotonic() < deadline, "the viewer never became ready"
        time.sleep(0.05)


def _expected_arrows(trace: Trace) -> set[tuple[int, int, int, str]]:
    """(message id, from node, to node, delivered|dropped|lost), computed from the events."""
    sends, out = {}, set()
    for e in trace.events:
        if e.kind == "send":
            sends[e.id] = e
    ended = set()
    for e in trace.events:
        if e.kind in ("recv", "drop") and e.id in sends and e.id not in ended:
            s = sends[e.id]
            to = e.node if e.kind == "recv" else s.fields["to"]
            out.add((e.id, s.node, to, "delivered" if e.kind == "recv" else "dropped"))
            ended.add(e.id)
    out |= {(i, s.node, s.fields["to"], "lost") for i, s in sends.items() if i not in ended}
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    seed = find_failing_seed()
    trace = record_seed("trace-copy", seed, mutant="dup", scenario=CopyScenario())[1]
    path = write_html(trace, tmp_path_factory.mktemp("viewer") / "small.html")
    return trace, path


def test_lanes_and_arrows_match_the_trace(browser, small):
    trace, path = small
    _open(browser, path)
    heads = browser.execute_script(
        "return [...document.querySelectorAll('.lane-head')]"
        ".map(e => [+e.dataset.node, e.textContent])")
    assert [tuple(h) for h in heads] == sorted(trace.node_names().items())
    arrows = browser.execute_script(
        "return [...document.querySelectorAll('path.arrow')].map(e => [+e.dataset.msg,"
        " +e.dataset.from, +e.dataset.to, e.dataset.kind])")
    assert {tuple(a) for a in arrows} == _expected_arrows(trace)
    kinds = browser.execute_script(
        "return [...document.querySelectorAll('[data-kind]')].filter(e => e.dataset.step)"
        ".map(e => [+e.dataset.step, e.dataset.kind])")
    marked = dict(tuple(k) for k in kinds)
    for i, e in enumerate(trace.events):
        assert marked.get(i) == e.kind, (i, e)
    v = trace.violation["step"]
    assert browser.execute_script(
        f"return document.querySelector('rect.row-bg[data-step=\"{v}\"]')"
        ".classList.contains('violation')")


def test_clicking_a_step_changes_the_state_panel(browser, small):
    trace, path = small
    _open(browser, path)
    from selenium.webdriver.common.by import By

    panel = browser.find_element(By.ID, "state-panel")
    v = trace.violation["step"]
    assert panel.get_attribute("data-step") == str(v)  # opens at the violation
    at_violation = panel.text
    assert "values" in at_violation
    receiver = trace.states_at(v)[0]
    assert ", ".join(map(str, receiver["values"])) in at_violation
    # Click the row of an early step where the receiver holds fewer values.
    step = next(s.step for s in trace.snapshots
                if s.node == 0 and s.step >= 0 and len(s.view["values"]) == 1)
    row = browser.find_element(By.CSS_SELECTOR, f'rect.row-bg[data-step="{step}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    # A real mouse click on the row, left of the lanes (it may land on the row's label).
    from selenium.webdriver.common.action_chains import ActionChains

    offset = -row.size["width"] // 2 + 60
    ActionChains(browser).move_to_element_with_offset(row, offset, 0).click().perform()
    assert panel.get_attribute("data-step") == str(step)
    assert panel.text != at_violation
    assert "[1]" in panel.text
    assert browser.find_element(By.ID, "step-slider").get_attribute("value") == str(step)


def test_screenshot_is_not_blank(browser, small, tmp_path):
    _, path = small
    _open(browser, path)
    shot = tmp_path / "viewer.png"
    assert browser.save_screenshot(str(shot))
    width, height, channels, pixels = decode_png(shot.read_bytes())
    assert width >= 800 and height >= 600
    colours = Counter(pixels[i:i + 3] for i in range(0, len(pixels), channels * 7))
    assert len(colours) >= 40, f"only {len(colours)} colours: blank page?"
    assert colours.most_common(1)[0][1] < 0.9 * sum(colours.values())


def _big_trace(n: int = 10_000, nodes: int = 5) -> Trace:
    events, snaps = [], []
    msg = 0
    for i in range(n):
        node = i % nodes
        if i % 4 == 0:
            msg += 1
            events.append(TraceEvent(i, node, "send", {"to": (node + 1) % nodes, "id": msg,
                                                       "msg": f"M({msg})"}, msg))
        elif i % 4 == 1:
            events.append(TraceEvent(i, (node) % nodes, "recv", {"id": msg}, msg))
        else:
            events.append(TraceEvent(i, node, "tick", {"k": i}))
            snaps.append(Snapshot(i, node, {"term": i // 100, "flush_lsn": i * 8}))
    header = {"scenario": "synthetic", "seed": 0, "nodes": [{"id": k, "name": f"n{k}"}
                                                           for k in range(nodes)],
              "violation": {"property": "p", "message": "m", "step": n - 1}}
    return Trace(header, events, snaps)


def _has_row(browser, step: int) -> bool:
    return browser.execute_script(
        f"return !!document.querySelector('rect.row-bg[data-step=\"{step}\"]')")


def test_ten_thousand_events_load_fast_and_stay_virtualised(browser, tmp_path):
    path = write_html(_big_trace(), tmp_path / "big.html")
    start = time.monotonic()
    _open(browser, path)
    load_s = time.monotonic() - start
    print(f"10,000-event trace: page ready in {load_s:.2f} s")
    assert load_s < 10.0
    count = browser.execute_script(
        "return document.getElementById('svg').querySelectorAll('*').length")
    assert count < 6000, f"{count} SVG elements: rows are not virtualised"
    # It opened at the violation (the last step): that row is drawn, the first is not.
    assert _has_row(browser, 9999) and not _has_row(browser, 0)
    browser.execute_script("window.mcViewer.select(50, true)")
    time.sleep(0.2)
    assert _has_row(browser, 0) and _has_row(browser, 50) and not _has_row(browser, 9999)
    assert "flush_lsn" in browser.execute_script(
        "return document.getElementById('state-panel').textContent")
