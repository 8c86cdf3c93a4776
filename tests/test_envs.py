"""The conda env files list what the code imports.

For every rule with a `conda:` env and a `script:`, the third-party modules the script imports, directly or
through the ave_core code it reaches (imports inside functions too: backends import lazily), must come from
a distribution that the rule's env lists. Found statically with `ast`, following references from function
to function rather than whole modules: render imports asr for its caption parser, and must not need
faster-whisper for it. Import names are mapped to distributions with the venv's installed metadata
(`packages_distributions()`), so the venv must have every extra installed (make setup does).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "ave_core"
RULE = re.compile(r"^(?:rule|checkpoint) (\w+):", re.MULTILINE)
DIRECTIVE = r'^\s+{}:\s*\n\s+"([^"]+)"'

# Imported by code a rule's script reaches, deliberately not in any env. Each name must still be imported
# somewhere (test_allowed_gaps_are_still_imported), so the list cannot outlive the code it excuses.
NOT_IN_ENVS = {
    # the openai-whisper ASR backend is opt-in (pip extra openai-whisper): it brings all of PyTorch, so the
    # asr env keeps faster-whisper only; asr.py imports both only when asr.backend is openai-whisper
    "whisper": "opt-in openai-whisper ASR backend",
    "torch": "opt-in openai-whisper ASR backend",
    # tools.ffmpeg_binary's fallback when no ffmpeg is on PATH; every env that runs ffmpeg lists conda's
    "imageio_ffmpeg": "fallback for an ffmpeg missing from PATH",
}


# modules that Blender's bpy registers when it is imported, with no files of their own to map: they come with
# the bpy distribution (character B-roll's Blender process imports them after bpy)
BPY_MODULES = {"mathutils", "bmesh", "bpy_extras", "gpu", "aud"}


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares it: lower case, runs of - _ . as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the rules and their env files -----------------------------------------------------------------


def rule_blocks() -> Iterator[tuple[str, Path, str]]:
    """(rule name, .smk file, the rule's text) for every rule and checkpoint."""
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text(encoding="utf-8")
        starts = list(RULE.finditer(text))
        for index, match in enumerate(starts):
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            yield match.group(1), smk, text[match.start() : end]


def directive(block: str, name: str) -> str | None:
    found = re.search(DIRECTIVE.format(name), block, re.MULTILINE)
    return found.group(1) if found else None


def conda_rules() -> list[tuple[str, Path, Path | None]]:
    """(rule, env file, script or None) for each rule with a `conda:` env, resolved as Snakemake does."""
    found = []
    for name, smk, block in rule_blocks():
        env = directive(block, "conda")
        if env is None:
            continue
        script = directive(block, "script")
        found.append(
            (name, (smk.parent / env).resolve(), (smk.parent / script).resolve() if script else None)
        )
    return found


@cache
def env_file(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def requirement_name(spec: str) -> str:
    """The package name of a conda or pip requirement line ("numpy >=1.26,<2.4", "conda-forge::av")."""
    spec = spec.split("::", 1)[-1].strip()
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
    assert match, f"not a requirement: {spec!r}"
    return match.group(0)


def env_requirements(path: Path) -> dict[str, str]:
    """Every conda and pip requirement of an env file, by normalised name, as written."""
    listed: dict[str, str] = {}
    for dependency in env_file(path)["dependencies"]:
        lines = dependency["pip"] if isinstance(dependency, dict) else [dependency]
        for line in lines:
            if not line.startswith("-"):  # pip options (--no-deps) and the project itself (-e ..)
                listed[normalise(requirement_name(line))] = line
    return listed


# --- what a script imports -------------------------------------------------------------------------
#
# A module's top-level imports run whenever it is imported; an import inside a function or a method runs
# only when that code does, which is how backends keep their heavy packages optional. So the search
# follows references: from the names a script uses to the functions, classes and constants they name,
# across ave_core modules, collecting the imports of all the code so reached. A class counts whole once it
# is named (its methods are called through instances); a top-level assignment counts when its name is
# reached, but what it calls runs on import; other top-level statements always run. `if TYPE_CHECKING:`
# blocks never run.

Binding = tuple[str, str | None]  # an ave_core module, and the name taken from it (None: the module)


def module_file(module: str) -> Path | None:
    """The source file of an ave_core module (a dotted name), or None when it is no module of ours."""
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


class Code(ast.NodeVisitor):
    """What a stretch of code imports, and the names it reads."""

    def __init__(self, package: str) -> None:
        self.package = package  # what a relative import is relative to
        self.third_party: set[str] = set()  # dotted; `from a import b` gives a and a.b (b may be a module)
        self.bindings: dict[str, Binding] = {}  # names bound by importing from ave_core
        self.names: set[str] = set()
        self.attributes: set[tuple[str, str]] = set()  # `name.attribute`

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                assert alias.asname, (
                    f"`import {alias.name}`: use `as` or a from-import, which this test follows"
                )
                self.bindings[alias.asname] = (alias.name, None)
            else:
                self.third_party.add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        if base.split(".")[0] == PACKAGE:
            for alias in node.names:
                assert alias.name != "*", f"`from {base} import *` hides what is used"
                submodule = f"{base}.{alias.name}"
                binding = (submodule, None) if module_file(submodule) else (base, alias.name)
                self.bindings[alias.asname or alias.name] = binding
        elif base != "__future__":
            self.third_party.add(base)
            self.third_party.update(f"{base}.{alias.name}" for alias in node.names)

    def visit_Name(self, node: ast.Name) -> None:
        self.names.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            self.attributes.add((node.value.id, node.attr))
        self.generic_visit(node)


def read_code(nodes: list[ast.stmt], package: str) -> Code:
    code = Code(package)
    for node in nodes:
        code.visit(node)
    return code


def defined_names(statement: ast.stmt) -> list[str]:
    """The names a top-level definition or assignment binds; [] for other statements, which just run."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [statement.name]
    if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if all(isinstance(target, ast.Name) for target in targets):
            return [target.id for target in targets if isinstance(target, ast.Name)]
    return []


def walk_outside_lambdas(node: ast.AST) -> Iterator[ast.AST]:
    """ast.walk, but not into the bodies of lambdas: they run when called, not where they are written."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        if not isinstance(current, ast.Lambda):
            pending.extend(ast.iter_child_nodes(current))


def called_on_import(statement: ast.stmt) -> Code:
    """The callables an assignment calls as it runs on import (`_SPEECH = ContentPath(...)` calls ContentPath,
    and only names the functions it is given): they count at once, the rest when the name is reached."""
    code = Code(PACKAGE)
    value = getattr(statement, "value", None)
    for node in walk_outside_lambdas(value) if value is not None else []:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                code.names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                code.attributes.add((node.func.value.id, node.func.attr))
    return code


@cache
def parse_module(module: str) -> tuple[str, Code, dict[str, list[ast.stmt]]]:
    """(package, the code that runs on import, the definitions by name) of an ave_core module."""
    source = module_file(module)
    assert source is not None, module
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    on_import: list[ast.stmt] = []
    definitions: dict[str, list[ast.stmt]] = {}
    calls: list[Code] = []
    for statement in ast.parse(source.read_text(encoding="utf-8"), filename=str(source)).body:
        names = defined_names(statement)
        for name in names:
            definitions.setdefault(name, []).append(statement)
        if not names:
            on_import.append(statement)
        elif not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            calls.append(called_on_import(statement))
    code = read_code(on_import, package)
    for called in calls:
        code.names |= called.names
        code.attributes |= called.attributes
    return package, code, definitions


@cache
def third_party_imports(script: Path) -> frozenset[str]:
    """The third-party dotted names imported by the code a script runs or reaches in ave_core."""
    tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
    pending: list[tuple[Code, str | None]] = [(read_code(tree.body, PACKAGE), None)]  # (code, its module)
    loaded: set[str] = set()
    reached: set[tuple[str, str]] = set()

    def load(module: str) -> None:
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b runs a/__init__.py, then a/b.py
            name = ".".join(parts[:depth])
            if name not in loaded and module_file(name) is not None:
                loaded.add(name)
                pending.append((parse_module(name)[1], name))

    def reach(binding: Binding) -> None:
        module, name = binding
        load(module)
        if name is None or (module, name) in reached:
            return
        reached.add((module, name))
        package, on_import, definitions = parse_module(module)
        if name in definitions:
            pending.append((read_code(definitions[name], package), module))
        elif name in on_import.bindings:  # imported there from another module
            reach(on_import.bindings[name])

    found: set[str] = set()
    while pending:
        code, module = pending.pop()
        found |= code.third_party
        definitions: dict[str, list[ast.stmt]] = {}
        scope = dict(code.bindings)
        if module is not None:
            _, on_import, definitions = parse_module(module)
            scope = {**on_import.bindings, **code.bindings}
        for binding in code.bindings.values():
            load(binding[0])  # an import runs the top level of its module
        for name in code.names:
            if name in scope:
                reach(scope[name])
            elif name in definitions:
                reach((module, name))
        for name, attribute in code.attributes:
            if name in scope and scope[name][1] is None:  # module.attribute
                reach((scope[name][0], attribute))
    return frozenset(name for name in found if name.split(".")[0] not in sys.stdlib_module_names)


@cache
def distribution_of(name: str) -> str | None:
    """The installed distribution that provides an import (a dotted name), or None when none does.

    A namespace package (`google`) is shared by several distributions: the one holding the submodule wins.
    """
    parts = name.split(".")
    owners = sorted(set(metadata.packages_distributions().get(parts[0], [])))
    if len(owners) > 1 and len(parts) > 1:
        folder = "/".join(parts[:2])
        owners = [
            owner
            for owner in owners
            if any(
                str(f).startswith(f"{folder}/") or str(f) == f"{folder}.py"
                for f in metadata.distribution(owner).files or []
            )
        ]
    if not owners:
        return None
    assert len(owners) == 1, f"{name}: provided by several distributions: {owners}"
    return owners[0]


def missing_from_env(env: Path, script: Path) -> dict[str, list[str]]:
    """{distribution: the imports that need it} for what the script reaches and the env does not list."""
    listed = env_requirements(env)
    missing: dict[str, list[str]] = {}
    names = third_party_imports(script)
    for name in sorted(names):
        top = name.split(".")[0]
        if top in NOT_IN_ENVS or any(other.startswith(f"{name}.") for other in names):
            continue  # allowed, or `google` of `from google import genai`: the longer name tells more
        distribution = "bpy" if top in BPY_MODULES else distribution_of(name)
        if distribution is None:
            # `from pkg import attr` also records pkg.attr: only a name under a known top may be no module
            if distribution_of(top) is not None:
                continue
            pytest.fail(
                f"{script.name} reaches `import {name}`, which no distribution installed here provides"
            )
        if normalise(distribution) not in listed:
            missing.setdefault(distribution, []).append(name)
    return missing


# --- the tests -------------------------------------------------------------------------------------

CONDA_RULES = conda_rules()
SCRIPTED = [(rule, env, script) for rule, env, script in CONDA_RULES if script is not None]


def test_the_rules_are_found() -> None:
    rules = {rule for rule, _, _ in SCRIPTED}
    assert {"probe", "transcribe", "scenes", "direct", "thumbnails", "render"} <= rules, rules


@pytest.mark.parametrize(("rule", "env", "script"), SCRIPTED, ids=[rule for rule, _, _ in SCRIPTED])
def test_the_env_lists_what_the_script_imports(rule: str, env: Path, script: Path) -> None:
    assert env.is_file(), f"rule {rule}: conda env {env} does not exist"
    assert script.is_file(), f"rule {rule}: script {script} does not exist"
    missing = missing_from_env(env, script)
    assert not missing, (
        f"rule {rule}: {script.name} needs distributions that {env.name} does not list: "
        + "; ".join(f"{distribution} (for {', '.join(names)})" for distribution, names in missing.items())
    )


def test_every_conda_path_exists_and_every_env_is_used() -> None:
    used = {env for _, env, _ in CONDA_RULES}
    for rule, env, _ in CONDA_RULES:
        assert env.is_file(), f"rule {rule}: conda env {env} does not exist"
    unused = set((REPO / "envs").glob("*.yaml")) - used
    assert not unused, f"env files no rule uses: {sorted(p.name for p in unused)}"


def test_the_ffmpeg_fallback_is_not_what_an_env_relies_on() -> None:
    for rule, env, script in SCRIPTED:
        if any(name.split(".")[0] == "imageio_ffmpeg" for name in third_party_imports(script)):
            assert "ffmpeg" in env_requirements(env), f"rule {rule} runs ffmpeg: {env.name} must list it"


def test_allowed_gaps_are_still_imported() -> None:
    imported = {name.split(".")[0] for _, _, script in SCRIPTED for name in third_party_imports(script)}
    stale = set(NOT_IN_ENVS) - imported
    assert not stale, f"NOT_IN_ENVS names imports no rule's script reaches any more: {sorted(stale)}"


def pyproject_numpy() -> SpecifierSet:
    found = re.search(r'"numpy\s*([^";]*)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert found, "pyproject.toml: no numpy requirement"
    return SpecifierSet(found.group(1))


@pytest.mark.parametrize("env", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_file_is_well_formed_and_pins_numpy_like_pyproject(env: Path) -> None:
    spec = env_file(env)
    assert isinstance(spec, dict), f"{env.name}: not a YAML mapping"
    assert isinstance(spec.get("channels"), list) and spec["channels"], f"{env.name}: no channels"
    assert isinstance(spec.get("dependencies"), list) and spec["dependencies"], f"{env.name}: no dependencies"
    numpy = env_requirements(env).get("numpy")
    assert numpy is not None, f"{env.name}: numpy is not pinned"
    assert SpecifierSet(numpy.removeprefix("numpy").replace(" ", "")) == pyproject_numpy(), (
        f"{env.name}: {numpy!r}, but pyproject.toml has numpy{pyproject_numpy()} (movis breaks on 2.4)"
    )
