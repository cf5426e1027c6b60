"""The plugin API: plugins import only ganbench's public modules, and only the names those modules declare.

First-party plugins are written as a third party's would be; an import of an internal module
would break with the next internal move. (The core's own layers are checked by ``lint-imports``.)
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = ("ganbench", "ganbench.nn", "ganbench.data")
PLUGIN_FILES = sorted((REPO / "plugins").glob("*.py")) + sorted((REPO / "examples").rglob("*.py"))


def ganbench_imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) of every import of ganbench (name None for ``import module``), plugins excluded."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [(alias.name, None) for alias in node.names]
        else:
            continue
        found += [
            (node.lineno, module, name)
            for module, name in modules
            if module.split(".")[0] == "ganbench" and not module.startswith("ganbench_plugins")
        ]
    return found


def import_problems(path: Path, root: Path = REPO) -> list[str]:
    problems = []
    for line, module, name in ganbench_imports(path):
        where = f"{path.relative_to(root)}:{line}"
        if module not in PUBLIC_MODULES:
            problems.append(f"{where} imports {module}, which is internal: import from {' or '.join(PUBLIC_MODULES)}")
        elif name is not None and name not in importlib.import_module(module).__all__:
            problems.append(f"{where} imports {name} from {module}, which does not declare it in __all__")
    return problems


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_only_the_public_api(path: Path) -> None:
    assert import_problems(path) == []


def test_the_check_finds_an_internal_import_and_an_undeclared_name(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "from ganbench import hookimpl\n"
        "from ganbench.training.loop import Trainer\n"
        "import ganbench.tracking.runs\n"
        "from ganbench.data import EpochSampler\n"
    )
    internal = "which is internal: import from ganbench or ganbench.nn or ganbench.data"
    assert import_problems(plugin, root=tmp_path) == [
        f"plugin.py:2 imports ganbench.training.loop, {internal}",
        f"plugin.py:3 imports ganbench.tracking.runs, {internal}",
        "plugin.py:4 imports EpochSampler from ganbench.data, which does not declare it in __all__",
    ]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_declared_name_exists(module: str) -> None:
    imported = importlib.import_module(module)
    assert [name for name in imported.__all__ if not hasattr(imported, name)] == []


def test_the_core_keeps_its_layers() -> None:
    """The import-linter contract of pyproject.toml: each layer imports only the layers below it."""
    checked = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=REPO, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_package_of_the_core_is_installed() -> None:
    """A sub-package missing from pyproject's explicit list would be left out of a wheel."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "ganbench").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
