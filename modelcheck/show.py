"""Terminal rendering of a trace: a readable step list (``modelcheck show TRACE``).

Colours (rich) when writing to a terminal, plain text otherwise, the same
words either way. Each line is one step: its number, virtual time, the node's
name, the kind and the fields; the violating step is marked ``!!`` and
followed by the violation. ``state_at`` adds every node's view at one step.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from modelcheck.trace import Trace

__all__ = ["format_step", "render_lines", "show", "state_lines"]

_STYLE = {"send": "blue", "recv": "green", "drop": "bold red", "crash": "bold red",
          "lost": "red", "restart": "magenta", "start": "magenta", "partition": "bold yellow",
          "heal": "yellow", "timer": "dim cyan", "exit": "bold magenta", "close": "dim",
          "closed": "dim", "connect": "cyan", "accept": "cyan"}


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return "None" if v is None else str(v)


def format_step(trace: Trace, i: int, names: dict[int, str] | None = None) -> tuple[str, str, str]:
    """``(prefix, kind, fields)`` text of step ``i`` (the kind is what gets coloured)."""
    names = names if names is not None else trace.node_names()
    e = trace.events[i]
    v = trace.violation
    mark = "!!" if v is not None and v.get("step") == i else "  "
    who = "network" if e.node < 0 else names.get(e.node, f"n{e.node}")
    prefix = f"{mark}{i:>6} t={e.t:<7} {who:<10}"
    fields = " ".join(f"{k}={_value(x)}" for k, x in e.fields.items())
    return prefix, e.kind, fields


def _header_lines(trace: Trace) -> list[str]:
    h = trace.header
    bits = [f"{k}={h[k]}" for k in ("scenario", "driver", "seed", "mutant", "acceptors",
                                     "outcome") if h.get(k) is not None]
    out = ["trace " + " ".join(bits) + f" events={len(trace.events)} "
           f"snapshots={len(trace.snapshots)}"]
    names = trace.node_names()
    if names:
        out.append("nodes " + " ".join(f"{nid}={name}" for nid, name in names.items()))
    return out


def _violation_line(trace: Trace) -> str | None:
    v = trace.violation
    if v is None:
        return None
    return (f"{v.get('outcome', 'safety')} violation of {v['property']} at step "
            f"{v.get('step')}: {v['message']}")


def render_lines(trace: Trace, *, first: int = 0, last: int | None = None) -> list[str]:
    """The plain-text step list (header, steps ``first..last``, violation)."""
    names = trace.node_names()
    out = _header_lines(trace)
    stop = len(trace.events) - 1 if last is None else min(last, len(trace.events) - 1)
    for i in range(max(0, first), stop + 1):
        prefix, kind, fields = format_step(trace, i, names)
        out.append(f"{prefix} {kind:<9} {fields}".rstrip())
    line = _violation_line(trace)
    if line:
        out.append(line)
    return out


def _flat(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "_type":
                _flat(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out.append((prefix or "view", _value(value) if not isinstance(value, list)
                    else "[" + ", ".join(_compact(x) for x in value) + "]"))


def _compact(v: Any) -> str:
    if isinstance(v, list):
        return "(" + ", ".join(_compact(x) for x in v) + ")"
    if isinstance(v, dict):
        inner = ", ".join(f"{k}={_compact(x)}" for k, x in v.items() if k != "_type")
        return f"{v.get('_type', '')}({inner})"
    return _value(v)


def state_lines(trace: Trace, step: int) -> list[str]:
    """Every node's recorded view at ``step``, one ``node key=value`` line per field."""
    names = trace.node_names()
    states = trace.states_at(step)
    out = [f"state at step {step}:"]
    for nid, name in names.items():
        if nid not in states:
            out.append(f"  {name}: no recorded view")
            continue
        pairs: list[tuple[str, str]] = []
        _flat("", states[nid], pairs)
        out.append(f"  {name}:")
        out.extend(f"    {k} = {v}" for k, v in pairs)
    return out


def show(trace: Trace, *, file: IO[str] | None = None, color: bool | None = None,
         first: int = 0, last: int | None = None, state_at: int | None = None) -> None:
    """Print the step list to ``file`` (stdout); colours when it is a terminal (or ``color``)."""
    out = file if file is not None else sys.stdout
    use_color = out.isatty() if color is None else color
    lines = render_lines(trace, first=first, last=last)
    extra = state_lines(trace, state_at) if state_at is not None else []
    if not use_color:
        out.write("".join(line + "\n" for line in lines + extra))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, force_terminal=True, highlight=False, soft_wrap=True)
    names = trace.node_names()
    head = _header_lines(trace)
    for line in head:
        console.print(Text(line, style="bold"))
    stop = len(trace.events) - 1 if last is None else min(last, len(trace.events) - 1)
    vstep = (trace.violation or {}).get("step")
    for i in range(max(0, first), stop + 1):
        prefix, kind, fields = format_step(trace, i, names)
        text = Text(prefix + " ", style="bold red" if i == vstep else "dim")
        text.append(f"{kind:<9}", style=_STYLE.get(kind, "white"))
        text.append(" " + fields, style="bold red" if i == vstep else "")
        console.print(text)
    vline = _violation_line(trace)
    if vline:
        console.print(Text(vline, style="bold red"))
    for line in extra:
        console.print(Text(line))
