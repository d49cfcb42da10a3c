"""Support for :mod:`modelcheck.stateful`: settings profiles, the Hypothesis chooser, traces.

Profiles are registered with Hypothesis as ``modelcheck-dev``, ``modelcheck-ci``
and ``modelcheck-long`` (prefixed so that a project's own ``ci`` profile is
never overwritten) and selected by the environment variable
``MODELCHECK_PROFILE`` (``dev`` when unset). They are applied to the machines'
``TestCase`` only, never loaded globally.

Traces use :mod:`modelcheck.trace`'s format (``docs/trace-format.md``): the
header has ``driver: "stateful"``, the machine (``module:qualname``), the
mutant, options, outcome and violation; ``events`` is the run's event log
(so ``modelcheck show`` draws it); ``actions`` are
:func:`modelcheck.system.action_to_dict` dicts, or the coarse machine's
stretches, which :func:`modelcheck.stateful.replay_trace` applies again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from modelcheck.choice import Chooser, SeededChooser
from modelcheck.errors import InvalidArgument, TraceError
from modelcheck.trace import Trace, event_from_tuple, load_trace

PROFILE_ENV = "MODELCHECK_PROFILE"
TRACE_DIR_ENV = "MODELCHECK_TRACE_DIR"

NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
"""Every phase but ``explain``: that phase re-runs a failure under a line tracer to say
which lines only failing examples ran; for these machines it cost more than search and
shrinking together (a coarse bad-quorum hunt: 155 s with it, 37 s without, same result)."""

_COMMON: dict[str, Any] = {
    "deadline": None,
    "phases": NO_EXPLAIN,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.filter_too_much],
}
PROFILES: dict[str, dict[str, Any]] = {
    # quick local feedback; failures go to the local example database
    "dev": {"max_examples": 50, "stateful_step_count": 50},
    # reproducible and bounded: same examples on every run, no database
    "ci": {"max_examples": 60, "stateful_step_count": 60, "derandomize": True,
           "database": None, "print_blob": True, "report_multiple_bugs": False},
    # a long hunt
    "long": {"max_examples": 2000, "stateful_step_count": 200},
}
for _name, _values in PROFILES.items():
    settings.register_profile(f"modelcheck-{_name}", **_COMMON, **_values)


def profile_name(name: str | None = None) -> str:
    """The profile to use: ``name``, else ``$MODELCHECK_PROFILE``, else ``dev``."""
    chosen = name or os.environ.get(PROFILE_ENV) or "dev"
    if chosen not in PROFILES:
        raise InvalidArgument(
            f"{PROFILE_ENV}={chosen!r} is not a modelcheck profile; "
            f"available: {', '.join(PROFILES)}")
    return chosen


def profile_settings(name: str | None = None) -> settings:
    """The Hypothesis settings of a profile (see :func:`profile_name`)."""
    return settings.get_profile(f"modelcheck-{profile_name(name)}")


class HypothesisChooser(Chooser):
    """A :class:`~modelcheck.choice.Chooser` whose answers are Hypothesis draws.

    ``below(n)`` draws an integer in ``[0, n)`` (shrinks towards 0, the first
    option). ``chance(p)`` for ``0 < p < 1`` draws a 16-bit integer and answers
    True when it lands in the top ``p`` fraction, so a 1 % fault stays a 1 %
    fault (a plain ``booleans()`` draw would make it 50 %) and shrinking goes
    towards False (no fault). After ``draws_max`` draws the chooser continues
    with a :class:`SeededChooser` seeded by one more draw, so a long run never
    overruns Hypothesis' data buffer; the run is still a function of the data.
    """

    __slots__ = ("data", "draws", "draws_max", "_rest")

    def __init__(self, data: Any, *, draws_max: int = 2000) -> None:
        if not hasattr(data, "draw"):
            raise InvalidArgument(f"HypothesisChooser needs st.data()'s object, got {data!r}")
        if draws_max < 0:
            raise InvalidArgument(f"draws_max={draws_max} must be >= 0")
        self.data = data
        self.draws = 0
        self.draws_max = draws_max
        self._rest: SeededChooser | None = None

    def _int(self, n: int) -> int:
        if self._rest is not None:
            return self._rest.below(n)
        if self.draws >= self.draws_max:
            self._rest = SeededChooser(self.data.draw(st.integers(0, (1 << 64) - 1),
                                                      label="rest-seed"))
            return self._rest.below(n)
        self.draws += 1
        return self.data.draw(st.integers(0, n - 1))

    def below(self, n: int) -> int:
        if n <= 1:
            if n == 1:
                return 0
            raise InvalidArgument(f"below: n={n} must be >= 1")
        return self._int(n)

    def chance(self, p: float) -> bool:
        if p <= 0.0:
            return False
        if p >= 1.0:
            return True
        return self._int(1 << 16) >= round((1.0 - p) * (1 << 16))


def trace_dir(override: str | os.PathLike | None = None) -> Path:
    """Where traces go: ``override``, else ``$MODELCHECK_TRACE_DIR``, else ``.hypothesis/traces``.

    (``.hypothesis/`` is already git-ignored and holds Hypothesis' own database.)
    """
    return Path(override or os.environ.get(TRACE_DIR_ENV) or Path(".hypothesis") / "traces")


def write_trace(directory: Path, header: dict[str, Any], actions: list[Any],
                events: list[tuple] | None = None) -> Path:
    """Write a :class:`modelcheck.trace.Trace` named after the machine and property."""
    directory.mkdir(parents=True, exist_ok=True)
    name = (header.get("violation") or {}).get("property", "failure")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{header.get('machine', 'run')}-{name}")
    path = directory / f"{stem}.trace.json"
    trace = Trace(header, [event_from_tuple(e) for e in events or ()], [], actions)
    trace.save(path)
    return path


def read_trace(path: str | os.PathLike) -> Trace:
    """Load and check a trace file written by a machine (raises :class:`TraceError`)."""
    trace = load_trace(path)
    if trace.header.get("driver") != "stateful" or not isinstance(trace.actions, list):
        raise TraceError(f"{path}: header.driver={trace.header.get('driver')!r} with "
                         "actions, expected a 'stateful' trace with an actions list")
    return trace
