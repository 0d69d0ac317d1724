"""Lazy public names for a package (PEP 562): each name is imported from its private module on first use.

Importing a subpackage, or one of its modules, then costs nothing beyond what that module needs, so that
``gscp-match --help`` starts without pandas, scipy or the model stack, and a fully cached run never loads the
tokenizer or torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping


def attach(
    package: str, exports: Mapping[str, str], *, submodules: bool = False
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public names live in ``exports``.

    ``exports`` maps each public name to the module (relative to ``package``) that defines it; the package's
    ``__all__`` lists the same names (``tests/test_layers.py`` checks). With ``submodules``, any other public name
    that is a subpackage or module of ``package`` is imported on first use (``gm.tables``, as if ``__init__`` had
    imported it).

    >>> getattr_, dir_ = attach("gscp_match.core", {"Weights": "._scoring"})
    >>> getattr_("Weights").__name__, "Weights" in dir_()
    ('Weights', True)
    """
    names = dict(exports)

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            if submodules and not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
                return importlib.import_module(f".{name}", package)
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        importlib.import_module(package).__dict__[name] = value  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*importlib.import_module(package).__dict__, *names})

    return __getattr__, __dir__
