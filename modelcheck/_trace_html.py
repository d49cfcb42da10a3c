"""The self-contained HTML viewer of a trace (``modelcheck show TRACE -o FILE.html``).

One file, no network resources: the page template and its script live in
``modelcheck/templates/`` (package data) and are inlined together with the
trace's JSON. The script draws a lane per node, messages as arrows from send to
receive (paired by message id), drops, crashes, restarts and partitions, the
violating step highlighted, and every node's state at the selected step.
"""

from __future__ import annotations

import html
import json
import os
from importlib import resources
from pathlib import Path

from modelcheck.trace import Trace

__all__ = ["render_html", "write_html"]


def _template(name: str) -> str:
    return resources.files("modelcheck").joinpath("templates", name).read_text(encoding="utf-8")


def _script_json(trace: Trace) -> str:
    """The trace as JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(trace.to_json(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "</script>" or "<!--" inside a string would end or confuse the element; "\/" is valid JSON.
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def render_html(trace: Trace) -> str:
    """The viewer page for ``trace`` as one HTML string."""
    h = trace.header
    title = f"modelcheck trace: {h.get('scenario') or h.get('driver') or 'run'}"
    if h.get("seed") is not None:
        title += f" seed {h['seed']}"
    page = _template("viewer.html")
    script = _template("viewer.js")
    assert "__TRACE_JSON__" in page and "__VIEWER_JS__" in page
    # Replace the data last, so nothing inside the trace is ever taken for a placeholder.
    page = page.replace("__TITLE__", html.escape(title)).replace("__VIEWER_JS__", script)
    before, _, after = page.partition("__TRACE_JSON__")
    return before + _script_json(trace) + after


def write_html(trace: Trace, path: str | os.PathLike) -> Path:
    """Write the viewer page for ``trace`` to ``path``; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(trace), encoding="utf-8")
    return p
