"""Which rules' params change when an ave_core module changes, as Snakemake itself decides it.

Run in a process of its own (the Snakemake API changes the working directory and sets up logging):

    python -m tests.workflow.params_changes REPO_COPY PROJECT MODULE...

For each module, one line is appended to its source in the copy REPO_COPY; Snakemake parses that copy's
workflow against the finished PROJECT and lists the outputs whose params differ from those recorded when
they were made (the check behind its params rerun trigger, asked for every job: a dry run shows it only
for the first job of a chain, the others rerun anyway); the source is restored. Prints {module: [rules]}
as JSON. One process parses the workflow many times: a second of start-up is paid once, not per module.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.enums import ChangeType, Quietness
from snakemake.settings.types import OutputSettings, ResourceSettings


def rules_with_changed_params(snakefile: Path, project: Path) -> list[str]:
    """The rules of the jobs whose recorded params differ from the workflow's now."""
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1), snakefile=snakefile, workdir=project
        )
        with contextlib.redirect_stdout(io.StringIO()):  # it lists every output: see below
            workflow_api.dag().list_changes(ChangeType.PARAMS)
        # the DAG and records list_changes used, asked as the params rerun trigger asks them: Snakemake
        # 9.27's --list-changes params prints every output, changed or not (each check's result, true or
        # false, carries the file it checked)
        workflow = workflow_api._workflow
        changed = {job.rule.name for job in workflow.dag.jobs if workflow.persistence.params_changed(job)}
        return sorted(changed)


def module_source(repo: Path, module: str) -> Path:
    base = repo.joinpath(*module.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"


def main(repo: Path, project: Path, modules: list[str]) -> dict[str, list[str]]:
    snakefile = repo / "Snakefile"
    changed = {"": rules_with_changed_params(snakefile, project)}  # the copy as it is
    for module in modules:
        source = module_source(repo, module)
        original = source.read_bytes()
        source.write_bytes(original + b"\n# an edit\n")
        try:
            changed[module] = rules_with_changed_params(snakefile, project)
        finally:
            source.write_bytes(original)
    return changed


if __name__ == "__main__":
    result = main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), sys.argv[3:])
    sys.stdout.write(json.dumps(result) + "\n")
