"""The public names of ``import gscp_match`` stay what they are, whatever submodules were imported first."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types


def test_no_public_name_is_shadowed_by_a_submodule():
    """A submodule named like a public function (``gscp_match.similarity``, ``gscp_match.ingest``) would replace
    the function on the package once imported; importing every submodule first must leave the names alone."""
    code = (
        "import importlib, pkgutil, types, gscp_match as gm\n"
        "for m in pkgutil.walk_packages(gm.__path__, 'gscp_match.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [n for n in gm.__all__ if isinstance(getattr(gm, n), types.ModuleType)]\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_every_public_name_resolves():
    gm = importlib.import_module("gscp_match")
    for name in gm.__all__:
        value = getattr(gm, name)
        assert not isinstance(value, types.ModuleType), name
    assert {m.name for m in pkgutil.iter_modules(gm.__path__)} & set(gm.__all__) == set()
