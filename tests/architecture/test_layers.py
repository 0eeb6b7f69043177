"""The package's layout is its architecture: imports point down, no cycles, small modules.

Every ``import`` statement counts, including those inside functions (lazy imports) and those under
``TYPE_CHECKING``: a lazy import that points up is still a dependency that points up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ckpt_tui"

LAYERS: dict[str, int] = {
    "model": 0,
    "io": 0,
    "reader": 1,
    "sidecar": 1,
    "sources": 2,
    "catalog": 3,
    "convert": 4,
    "compare": 4,
    "prune": 4,
    "callbacks": 5,
    "demo": 5,
    "tui": 6,
    "cli": 7,
}
"""Each room of the package and its height: a module may import only from rooms below its own
(and from its own room). ``io`` and ``model`` sit at the bottom and may use each other's leaves."""

BOTTOM_PAIRS = {("io", "model")}
"""The one sideways pair allowed at the bottom: io reports problems as ``model.entry.Issue``."""

MAX_MODULE_LINES = 400
MAX_MODULES_PER_FOLDER = 12


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path, module: str) -> set[str]:
    """Every ``ckpt_tui`` module that ``path`` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if candidate in MODULES:
                    found.add(candidate)
    return {name for name in found if name == "ckpt_tui" or name.startswith("ckpt_tui.")}


GRAPH = {name: _imports(path, name) for name, path in MODULES.items()}


def _room(module: str) -> str | None:
    """The room (folder) a module lives in; ``None`` for the package itself and its entry points."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_folder_is_a_known_room() -> None:
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(LAYERS), "a new folder needs a place in LAYERS (and in the docs)"


def test_imports_point_down() -> None:
    wrong: list[str] = []
    for module, targets in GRAPH.items():
        room = _room(module)
        if room is None:
            continue
        for target in targets:
            other = _room(target)
            if other is None or other == room or (room, other) in BOTTOM_PAIRS:
                continue
            if LAYERS[other] >= LAYERS[room]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_top_level_package_imports_nothing_eagerly() -> None:
    """``import ckpt_tui`` stays cheap: its names are resolved on first use."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    eager = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ckpt_tui")
    ]
    assert eager == []


def test_no_import_cycles() -> None:
    internal = {m: {t for t in ts if t in MODULES and t != m} for m, ts in GRAPH.items()}
    # a module's import of its own package's __init__ is how Python loads it, not a dependency
    for module, targets in internal.items():
        targets.difference_update(
            {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        )
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(internal[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(internal):
        if module not in state:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines"


def test_folders_stay_small() -> None:
    for folder in [p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"]:
        count = len([p for p in folder.glob("*.py") if p.name != "__init__.py"])
        assert count <= MAX_MODULES_PER_FOLDER, f"{folder.relative_to(PACKAGE)}: {count} modules"


def test_every_public_name_resolves() -> None:
    """The names users import from ``ckpt_tui`` keep working whatever module holds them now."""
    import ckpt_tui

    for name in ckpt_tui.__all__:
        assert getattr(ckpt_tui, name) is not None, name
    assert callable(ckpt_tui.build_catalog) and callable(ckpt_tui.validate_tree)
    assert ckpt_tui.CheckpointMetadataV1.model_fields["schema_version"].default == "1.0"
