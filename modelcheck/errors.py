"""The one exception hierarchy of the engine.

Every error the engine raises on purpose derives from :class:`ModelcheckError`;
the ones about a caller's arguments also derive from the matching builtin, so
``except ValueError`` keeps working for people who expect it.
"""

from __future__ import annotations


class ModelcheckError(Exception):
    """Base class of every error raised on purpose by ``modelcheck``."""


class InvalidArgument(ModelcheckError, ValueError):
    """An argument or option is outside what the engine accepts (names the field)."""


class DeadlockError(ModelcheckError):
    """Every task is blocked and no timer is pending, while some task still expects to run."""

    def __init__(self, now_ms: int, blocked: list[str]) -> None:
        self.now_ms = now_ms
        self.blocked = blocked
        super().__init__(
            f"deadlock at t={now_ms} ms: no runnable task and no pending timer; "
            f"blocked tasks: {', '.join(blocked)}"
        )


class TaskFailed(ModelcheckError):
    """A simulated task (or actor handler) raised an exception: a *crash* outcome."""

    def __init__(self, task: str, now_ms: int, error: BaseException) -> None:
        self.task = task
        self.now_ms = now_ms
        self.error = error
        super().__init__(f"task {task} failed at t={now_ms} ms: {type(error).__name__}: {error}")


class ReplayDiverged(ModelcheckError):
    """A replay asked for a choice the recording does not have (the code or inputs changed)."""


class TraceError(ModelcheckError, ValueError):
    """A trace file is malformed or from an unsupported version (names the field)."""
