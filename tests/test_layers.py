"""The package's layers, read statically from every import in tui/ (TYPE_CHECKING ones too).

From the bottom:
- the foundation (text, rootpath, procenv, errors) imports nothing of the project;
- the engines (tcpwrappers, firewall, libs) import only the foundation;
- targets and facts gather data; diagnosis judges it; changes plans and applies edits;
- session drives one target; commands and the wizard present it.
A module may import its own layer and the layers below, never one above. Private names
(`_x`) do not cross modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TUI = Path(__file__).resolve().parent.parent / "tui"

# Layer of every top-level unit of the package; a unit is tui.<x> or tui.core.<x>.
LAYERS: dict[str, int] = {
    "tui": 0, "core": 0, "core.text": 0, "core.rootpath": 0, "core.procenv": 0, "core.errors": 0,
    "buildinfo": 0, "core.actionlog": 0, "core.bytescmp": 0,
    "core.tcpwrappers": 1, "core.firewall": 1, "core.libs": 1, "core.selinux": 1,
    "core.pkgdb": 1,
    "core.targets": 2, "core.facts": 2, "core.clientip": 2, "core.probe": 2,
    "core.diagnosis": 3, "core.instructions": 3, "core.demo": 3, "core.export": 3,
    "core.changes": 3,
    "core.session": 4, "core.reportmd": 5,
    "commands": 6, "wizard": 6,
    "cli": 7, "__main__": 8,
}
ENGINES = ("core.tcpwrappers", "core.firewall", "core.libs", "core.selinux", "core.pkgdb")
FOUNDATION = ("tui", "core", "core.text", "core.rootpath", "core.procenv", "core.errors",
              "core.actionlog", "core.bytescmp")


def _unit(module: str) -> str:
    parts = module.split(".")[1:]
    if parts[:1] == ["core"] and len(parts) > 1:
        return "core." + parts[1]
    return parts[0] if parts else "tui"


def _modules() -> dict[str, Path]:
    out = {}
    for path in TUI.rglob("*.py"):
        parts = ("tui",) + path.relative_to(TUI).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names imported from it, line) for every project import."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [a.name for a in node.names], node.lineno))
    return [f for f in found if f[0] == "tui" or f[0].startswith("tui.")]


MODULES = _modules()
EDGES = [(m, t, names, line) for m, p in sorted(MODULES.items()) for t, names, line
         in _imports(m, p)]


def test_every_unit_has_a_layer() -> None:
    assert sorted({_unit(m) for m in MODULES} - set(LAYERS)) == []


def test_no_import_reaches_up() -> None:
    bad = [f"{m}:{line} imports {t} (layer {LAYERS[_unit(t)]} above {LAYERS[_unit(m)]})"
           for m, t, _, line in EDGES if LAYERS[_unit(t)] > LAYERS[_unit(m)]]
    assert bad == []


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_import_only_the_foundation(engine: str) -> None:
    bad = [f"{m}:{line} imports {t}" for m, t, _, line in EDGES
           if _unit(m) == engine and _unit(t) not in (engine, *FOUNDATION)]
    assert bad == []


def test_the_foundation_imports_nothing_of_the_project() -> None:
    bad = [f"{m}:{line} imports {t}" for m, t, _, line in EDGES
           if _unit(m) in FOUNDATION[2:] and _unit(t) != _unit(m)]
    assert bad == []


def test_units_have_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for m, t, _, _ in EDGES:
        if _unit(m) != _unit(t):
            graph.setdefault(_unit(m), set()).add(_unit(t))
    cycles = []

    def reach(start: str, node: str, seen: set[str]) -> None:
        for nxt in graph.get(node, ()):
            if nxt == start:
                cycles.append(start)
            elif nxt not in seen:
                seen.add(nxt)
                reach(start, nxt, seen)

    for unit in graph:
        reach(unit, unit, set())
    # targets and facts are one layer and know each other's types (a target carries facts).
    assert sorted(set(cycles) - {"core.targets", "core.facts"}) == []


def test_private_names_stay_in_their_module() -> None:
    # tui._build is a module the binary's build writes, not a private name.
    bad = [f"{m}:{line} imports {n} from {t}" for m, t, names, line in EDGES
           for n in names if n.startswith("_") and not n.startswith("__")
           and f"{t}.{n}" not in (*MODULES, "tui._build")]
    assert bad == []


def test_no_subpackage_cycles_inside_diagnosis() -> None:
    """diagnosis.tcpwrappers and diagnosis.denylists used to import each other."""
    def sub(module: str) -> str | None:
        parts = module.split(".")
        return ".".join(parts[:4]) if parts[:3] == ["tui", "core", "diagnosis"] else None

    graph: dict[str, set[str]] = {}
    for m, t, _, _ in EDGES:
        a, b = sub(m), sub(t)
        if a and b and a != b and b != "tui.core.diagnosis":
            graph.setdefault(a, set()).add(b)
    pairs = sorted(f"{a} <-> {b}" for a in graph for b in graph[a]
                   if a < b and a in graph.get(b, set()))
    assert pairs == []
