"""The code hash each rule passes as a param: the ave_core modules its script reaches, found with ast.

Checked against the standard library's ModuleFinder (which reads the compiled bytecode instead: a second,
independent way to find the same imports), on a small package built for the purpose, and on the rules.
"""

from __future__ import annotations

import re
from modulefinder import ModuleFinder
from pathlib import Path

import pytest

from ave_core.code_hash import code_hash, imported_modules
from tests.test_envs import directive, rule_blocks

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "scripts").glob("*.py"))
SCRIPT_CODE = re.compile(r"^\s+code=script_code\(([^)]*)\),$", re.MULTILINE)


def finder_modules(script: Path, root: Path) -> set[str]:
    """The ave_core modules ModuleFinder finds the script importing (searching `root` only)."""
    finder = ModuleFinder(path=[str(root)])
    finder.run_script(str(script))
    return {name for name in finder.modules if name.split(".")[0] == "ave_core"}


def rule_scripts() -> dict[str, list[str]]:
    """rule -> the scripts its `code=script_code(...)` param names, for every rule with a script."""
    found = {}
    for rule, _, block in rule_blocks():
        if directive(block, "script") is None:
            continue
        call = SCRIPT_CODE.search(block)
        found[rule] = re.findall(r'"(\w+)"', call.group(1)) if call else []
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_the_modules_found_are_those_python_would_import(script: Path) -> None:
    assert set(imported_modules(script, REPO)) == finder_modules(script, REPO)


def test_imports_in_functions_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    package = tmp_path / "ave_core"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "stage.py": "from . import helper\nfrom .sub.deep import thing\n",
        "helper.py": "def late():\n    from .lazy import x\n    return x\n",
        "lazy.py": "x = 1\n",
        "typed.py": "",
        "unused.py": "",
        "sub/__init__.py": "",
        "sub/deep.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..typed import T\n"
            "else:\n    import ave_core.helper as helper\nthing = 1\n"
        ),
    }
    for name, text in files.items():
        (package / name).write_text(text)
    script = tmp_path / "run.py"
    script.write_text("from ave_core.stage import helper\n")
    found = imported_modules(script, tmp_path)
    assert found == [
        "ave_core",
        "ave_core.helper",
        "ave_core.lazy",
        "ave_core.stage",
        "ave_core.sub",
        "ave_core.sub.deep",
    ]
    before = code_hash([script], tmp_path)
    (package / "unused.py").write_text("# nobody imports this\n")
    assert code_hash([script], tmp_path) == before
    (package / "lazy.py").write_text("x = 2\n")
    assert code_hash([script], tmp_path) != before


def test_the_hash_does_not_depend_on_where_the_code_lies(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "elsewhere"
    for folder in ("ave_core", "scripts"):
        shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    script = "scripts/direct.py"
    assert code_hash([copy / script], copy) == code_hash([REPO / script], REPO)


def test_every_rule_with_a_script_passes_the_hash_of_its_own_script() -> None:
    scripts = rule_scripts()
    assert {"probe", "direct", "render", "render_chunk", "context"} <= set(scripts), scripts
    for rule, block_scripts in scripts.items():
        own = Path(directive(next(b for r, _, b in rule_blocks() if r == rule), "script")).stem
        assert own in block_scripts, f"rule {rule}: params need code=script_code({own!r})"
        for name in block_scripts:
            assert (REPO / "scripts" / f"{name}.py").is_file(), f"rule {rule}: no scripts/{name}.py"
