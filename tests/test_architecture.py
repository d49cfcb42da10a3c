"""The house rules that keep the design honest, checked on the source itself."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("modelcheck", "actors", "pgwal", "properties")
# Which of our packages each package may import (ARCHITECTURE.md, "Imports flow one way").
ALLOWED = {
    "modelcheck": {"modelcheck"},
    "pgwal": {"pgwal"},
    "properties": {"properties", "modelcheck"},
    "actors": {"actors", "modelcheck", "pgwal", "properties"},
}
# Sans-I/O: protocol code never reaches the clock, the OS, sockets or global randomness.
ACTOR_FORBIDDEN = {"time", "random", "socket", "os", "asyncio", "threading", "datetime"}
MODULE_LINES_MAX = 600
# Modules allowed past the limit, each with its reason (keep this list short).
MODULE_LINES_EXCEPTIONS: dict[str, int] = {}


def _modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_imports_flow_one_way():
    bad = []
    for package, allowed in ALLOWED.items():
        for path in _modules(package):
            for name in _imports(path):
                top = name.split(".")[0]
                if top in PACKAGES and top not in allowed:
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_only_choice_uses_the_random_module():
    offenders = [
        str(p.relative_to(ROOT))
        for package in ("modelcheck", "actors", "properties")
        for p in _modules(package)
        if "random" in {n.split(".")[0] for n in _imports(p)}
    ]
    assert offenders == []


def test_actors_are_sans_io():
    protocol = [ROOT / "actors" / n for n in ("safekeeper.py", "walproposer.py", "messages.py",
                                             "spec.py", "compute.py")]
    offenders = []
    for path in protocol:
        if path.exists():
            used = {n.split(".")[0] for n in _imports(path)} & ACTOR_FORBIDDEN
            if used:
                offenders.append(f"{path.name}: {sorted(used)}")
    assert offenders == []


def test_modules_stay_small():
    big = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for package in PACKAGES
        for p in _modules(package)
        if (n := len(p.read_text().splitlines()))
        > MODULE_LINES_EXCEPTIONS.get(str(p.relative_to(ROOT)), MODULE_LINES_MAX)
    ]
    assert big == [], "split these modules (or state the reason here):\n" + "\n".join(big)
