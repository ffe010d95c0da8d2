"""Commands the tool runs get the environment without a bundle's loader variables, and the
code keeps to its Python floor (requires-python) where vermin cannot see.

The real thing is in tests/test_binary.py (sshd -t run through the built binary, traced);
these are unit tests of the helper, and source scans that keep every call site on it.
"""

from __future__ import annotations

import ast
import re
import sys

import pytest

from tests.helpers.mountns import REPO
from tui.core import procenv

TUI = REPO / "tui"


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("LD_LIBRARY_PATH", "LD_LIBRARY_PATH_ORIG", "LD_PRELOAD", "_PYI_ARCHIVE_FILE",
                 "_MEIPASS2", "STATICX_BUNDLE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    return monkeypatch


def test_not_frozen_the_environment_is_passed_on_as_it_is(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("LD_LIBRARY_PATH", "/opt/mine")  # the operator's own: kept
    env = procenv.child_env(LC_ALL="C")
    assert env["LD_LIBRARY_PATH"] == "/opt/mine" and env["LC_ALL"] == "C"
    assert env["PATH"] == procenv.os.environ["PATH"]


def test_pyinstaller_style_bundle_gets_the_original_back(environ: pytest.MonkeyPatch) -> None:
    environ.setattr(sys, "frozen", True, raising=False)
    environ.setenv("LD_LIBRARY_PATH", "/tmp/_MEI123")
    environ.setenv("LD_LIBRARY_PATH_ORIG", "/opt/mine")
    environ.setenv("_PYI_ARCHIVE_FILE", "/x")
    environ.setenv("STATICX_BUNDLE_DIR", "/tmp/staticx-1")
    env = procenv.child_env()
    assert env["LD_LIBRARY_PATH"] == "/opt/mine"
    assert not [k for k in env if k.endswith("_ORIG") or k.startswith(("_PYI", "STATICX"))]
    environ.delenv("LD_LIBRARY_PATH_ORIG")
    assert "LD_LIBRARY_PATH" not in procenv.child_env()  # the bundle set it: dropped

    procenv.restore()  # and the process's own, for what third-party code starts
    assert "LD_LIBRARY_PATH" not in procenv.os.environ
    assert "STATICX_BUNDLE_DIR" not in procenv.os.environ


_SPAWNERS = {"run", "Popen", "call", "check_call", "check_output", "getoutput",
             "getstatusoutput", "system", "popen", "spawnv", "spawnve", "execv", "execve",
             "execvp", "execvpe", "posix_spawn", "posix_spawnp"}


def test_every_command_the_tool_runs_gets_child_env() -> None:
    """subprocess/os calls that start a program pass env=child_env(...) (run_bounded's
    default is child_env() too); the wizard and `match` start nothing else."""
    offenders, sites = [], 0
    for path in sorted(TUI.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("subprocess", "os")
                    and node.func.attr in _SPAWNERS):
                continue
            sites += 1
            env = next((k.value for k in node.keywords if k.arg == "env"), None)
            text = ast.unparse(env) if env is not None else ""
            if not re.fullmatch(r"child_env\(.*\)|child_env\(\) if env is None else env", text):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
    assert sites >= 2  # run_bounded's Popen and LocalTarget.run: the scan sees them


def _typeish(n: ast.AST) -> bool:
    if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
        return _typeish(n.left) and _typeish(n.right)
    if isinstance(n, ast.Name):
        return (n.id[:1].isupper() and not n.id.isupper()) or n.id in (
            "None", "str", "int", "bytes", "float", "bool", "list", "dict", "tuple", "set")
    if isinstance(n, ast.Attribute):
        return n.attr[:1].isupper() and not n.attr.isupper()
    if isinstance(n, ast.Subscript):
        return _typeish(n.value)
    return isinstance(n, ast.Constant) and n.value is None


class _RuntimeUnions(ast.NodeVisitor):
    """`X | Y` of types outside annotations: evaluated at run time, a TypeError before 3.10
    (annotations are strings here: every module has `from __future__ import annotations`)."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def visit_arg(self, node: ast.arg) -> None:
        pass  # an annotation

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for d in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if d is not None:
                self.visit(d)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.BitOr) and _typeish(node):
            self.found.append((node.lineno, ast.unparse(node)))
        else:
            self.generic_visit(node)


def test_no_type_union_is_evaluated_at_run_time() -> None:
    """The floor is Python 3.9 (pyproject's requires-python; vermin in tests/run.sh checks
    the rest): vermin cannot tell `A | B` of classes from `a | b` of numbers."""
    found = []
    for path in sorted(TUI.rglob("*.py")):
        source = path.read_text()
        assert "from __future__ import annotations" in source or "|" not in source, path
        v = _RuntimeUnions()
        v.visit(ast.parse(source))
        found += [f"{path.relative_to(REPO)}:{line}: {text}" for line, text in v.found]
    assert found == []


def test_the_scan_finds_what_it_is_for() -> None:
    v = _RuntimeUnions()
    v.visit(ast.parse("Op = FileEdit | Symlink\nx: int | None = None\n"
                      "def f(a: str | None) -> Path | None:\n    return flags | O_RDONLY\n"))
    assert v.found == [(1, "FileEdit | Symlink")]


def test_requires_python_and_ruff_agree_on_the_floor() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.9"' in text and 'target-version = "py39"' in text
