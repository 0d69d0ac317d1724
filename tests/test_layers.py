"""The package's shape is checked, not kept by discipline: layers import only downwards, there are no import cycles,
the core is numpy/scipy only and does no I/O, and the public names are the ones listed.

See docs/architecture.md for the layers and why.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import gscp_match

PACKAGE = Path(gscp_match.__file__).parent

#: Each top-level unit of the package and its layer. A module may import its own unit and the units of lower
#: layers only; units of the same layer do not import each other. Data flows up this list, never down.
LAYERS: dict[str, int] = {
    "errors": 0,
    "_lazy": 0,
    "_version": 0,
    "_progress": 0,
    "_tempfiles": 0,
    "models": 0,
    "core": 1,
    "tables": 2,
    "text": 3,
    "ingestion": 3,
    "synthetic": 3,
    "plan": 4,
    "scale": 5,
    "match": 6,
    "evaluate": 7,
    "report": 8,
    "cli": 9,
    "__init__": 9,
}

#: What the core may import besides the standard library and itself. threadpoolctl (scikit-learn's own helper
#: for this) is imported only when scoring lanes run, to keep BLAS to one thread per lane.
CORE_THIRD_PARTY = {"numpy", "scipy", "threadpoolctl"}
#: Standard-library modules that read or write the world: none of them in the core.
IO_MODULES = {"pathlib", "json", "io", "csv", "pickle", "shutil", "tempfile", "glob", "urllib", "socket", "sqlite3"}
#: Heavy or edge libraries that importing the core must not load.
NOT_IN_CORE = ("pandas", "sklearn", "torch", "pycountry", "onnxruntime", "tokenizers", "matplotlib", "openpyxl")


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, deferred (function-level) ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.append((module, node.lineno))
            # ``from gscp_match.core import _scoring`` imports a module too
            out += [(f"{module}.{alias.name}", node.lineno) for alias in node.names if alias.name.startswith("_")]
    return out


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _internal_imports() -> dict[str, list[tuple[str, int]]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = [(m, line) for m, line in _imports(name, path) if m == "gscp_match" or m.startswith("gscp_match.")]
        graph[name] = [(m if m in modules else m.rpartition(".")[0], line) for m, line in targets]
    return graph


def test_every_unit_has_a_layer():
    units = {_unit(name) for name in _modules()}
    assert units - set(LAYERS) == set(), "give the new unit a layer in LAYERS and in docs/architecture.md"


def test_layers_import_only_downwards():
    wrong = []
    for name, targets in _internal_imports().items():
        unit = _unit(name)
        for target, line in targets:
            other = _unit(target)
            if target == "gscp_match" and unit != "__init__":
                wrong.append(f"{name}:{line} imports the top-level package (import the subpackage that owns the name)")
            elif other != unit and LAYERS[other] >= LAYERS[unit]:
                wrong.append(f"{name}:{line} imports {target} (layer {LAYERS[other]} >= {LAYERS[unit]})")
    assert wrong == []


def test_no_import_cycles():
    graph = defaultdict(set)
    for name, targets in _internal_imports().items():
        for target, _ in targets:
            if target != name and not name.startswith(target + ".") and target != "gscp_match":
                graph[name].add(target)
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_core_imports_numpy_and_scipy_only_and_does_no_io():
    wrong = []
    for name, path in _modules().items():
        if _unit(name) != "core":
            continue
        for module, line in _imports(name, path):
            top = module.split(".")[0]
            if top == "gscp_match":
                if _unit(module) not in {"core", "errors", "_lazy"}:
                    wrong.append(f"{name}:{line} imports {module}")
            elif top in IO_MODULES or module == "importlib.resources":
                wrong.append(f"{name}:{line} imports {module} (the core does no I/O)")
            elif top not in CORE_THIRD_PARTY and top not in sys.stdlib_module_names:
                wrong.append(f"{name}:{line} imports {module} (numpy and scipy only)")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                wrong.append(f"{name}:{node.lineno} calls open()")
            # ids ride along in the array containers as labels for the edges; nothing else in the core reads them
            labels = {"exclude", "conflict_tokens", "positions"}
            labels |= {"ids"} if name != "gscp_match.core._arrays" else set()
            if isinstance(node, ast.Attribute) and node.attr in labels:
                wrong.append(f"{name}:{node.lineno} reads .{node.attr} (the core works on positions, not ids)")
    assert wrong == []


def test_importing_the_core_loads_no_edge_library():
    code = (
        "import importlib, pkgutil, sys\n"
        "import gscp_match.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__, 'gscp_match.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "[getattr(core, n) for n in core.__all__]\n"
        f"print(sorted(m for m in {NOT_IN_CORE!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


SUBPACKAGES = sorted(
    name for name, path in _modules().items() if path.name == "__init__.py" and name.count(".") == 1
)


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackage_exports_resolve(name):
    package = importlib.import_module(name)
    exports = getattr(package, "_EXPORTS", None)
    if exports is not None:  # a lazy __init__: its __all__ and its table list the same names
        assert list(package.__all__) == list(exports)
    for public in getattr(package, "__all__", []):
        assert not public.startswith("_")
        getattr(package, public)


def public_names() -> list[str]:
    """Every name a user reaches without a leading underscore: ``gscp_match.X`` and ``gscp_match.<public
    module or subpackage>.X`` for the names each one lists in ``__all__``."""
    names = [f"gscp_match.{n}" for n in gscp_match.__all__]
    for module in sorted(_modules()):
        parts = module.split(".")
        if module == "gscp_match" or any(p.startswith("_") for p in parts):
            continue
        if len(parts) > 2 and parts[1] != "ingestion":  # nothing public below a subpackage's __init__
            continue
        names += [f"{module}.{n}" for n in getattr(importlib.import_module(module), "__all__", [])]
    return sorted(names)


def test_public_names_are_the_listed_ones():
    """Adding, removing or renaming a public name is an API change: do it on purpose, here."""
    listed = (Path(__file__).parent / "public_api.txt").read_text(encoding="utf-8").split()
    assert public_names() == sorted(listed)


def test_no_private_name_crosses_a_subpackage():
    """``from gscp_match.text._cache import _try_lock`` in another subpackage couples it to an implementation
    detail: a name used across subpackages gets a public name in its (private) module, or stays inside."""
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gscp_match")):
                continue
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and f"{node.module}.{alias.name}" not in modules and _unit(node.module) != _unit(name):
                    wrong.append(f"{name}:{node.lineno} imports {alias.name} from {node.module}")
    assert wrong == []
