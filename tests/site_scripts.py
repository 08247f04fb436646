"""The site generators of scripts/ (gen_clinic.py, gen_city_block.py, gen_pharmacy_wing.py), loaded as modules for
the tests that check a site's files are what its script writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def load_script(monkeypatch: pytest.MonkeyPatch, script: Path) -> ModuleType:
    """The generator at `script`, imported as a module of its own name (its dataclasses look their module up),
    with scripts/ on the path for its sibling sitegen.py; both undone after the test."""
    monkeypatch.syspath_prepend(str(script.parent))
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, script.stem, module)
    spec.loader.exec_module(module)
    return module
