"""Run the docstring examples of every module of the installed package, subpackages and private modules included."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gscp_match

MODULES = sorted(m.name for m in pkgutil.walk_packages(gscp_match.__path__, "gscp_match."))


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
