"""The code a workflow script runs: the ave_core modules it imports, directly or not, and a hash of them.

Snakemake's code trigger sees only a rule's script, not the library it calls. Each rule therefore passes
`code_hash(script)` as a param: the sha256 of every ave_core module the script reaches through imports
(found with `ast`, imports inside functions included, `if TYPE_CHECKING:` blocks left out, nothing
executed). A change to any of them reruns the rule, and no hand-kept list of modules can drift.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

PACKAGE = "ave_core"
HASH_CHARS = 16


def module_file(root: Path, module: str) -> Path | None:
    """The source of a dotted module name under `root` (the folder holding ave_core/), or None."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree` that can run: `if TYPE_CHECKING:` bodies are skipped (their else is kept)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, package: str) -> Iterator[str]:
    """Dotted names an import may load: `from a import b` gives a and a.b (b may be a submodule)."""
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative to the importing module's package
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _direct_imports(root: Path, source: Path, package: str) -> frozenset[str]:
    """The ave_core modules (and the packages they sit in) that the file's code imports."""
    return _imports_in(root, source.read_text(encoding="utf-8"), package)


@cache  # by content: a rule file names the same modules many times, and an edited file is parsed afresh
def _imports_in(root: Path, text: str, package: str) -> frozenset[str]:
    tree = ast.parse(text)
    found: set[str] = set()
    for name in _imported_names(tree, package):
        parts = name.split(".")
        if parts[0] != PACKAGE:
            continue
        for depth in range(1, len(parts) + 1):  # importing a.b runs a/__init__.py, then a/b.py
            prefix = ".".join(parts[:depth])
            if module_file(root, prefix) is not None:
                found.add(prefix)
    return frozenset(found)


def imported_modules(script: str | Path, root: str | Path) -> list[str]:
    """Every ave_core module the script imports, directly or through other ave_core modules, sorted.

    `root` is the folder that holds ave_core/ (the repository). Imports inside functions count: backends
    import lazily, and their code runs all the same.
    """
    base = Path(root).resolve()
    pending = list(_direct_imports(base, Path(script).resolve(), ""))
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        source = module_file(base, module)
        assert source is not None  # only existing modules are recorded
        package = module if source.name == "__init__.py" else module.rpartition(".")[0]
        pending.extend(_direct_imports(base, source, package))
    return sorted(seen)


def code_hash(scripts: Iterable[str | Path], root: str | Path) -> str:
    """A short sha256 of the ave_core modules the scripts import (names and sources, not where they lie)."""
    base = Path(root).resolve()
    modules = sorted({module for script in scripts for module in imported_modules(script, base)})
    digest = hashlib.sha256()
    for module in modules:
        source = module_file(base, module)
        assert source is not None
        digest.update(module.encode("utf-8") + b"\0")
        digest.update(source.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:HASH_CHARS]
