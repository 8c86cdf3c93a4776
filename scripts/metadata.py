"""metadata: titles paired with the thumbnails, description with chapters, tags from the shared research."""

from pathlib import Path

from ave_core.config import DirectorConfig
from ave_core.llm import make_llm
from ave_core.metadata import make_metadata
from ave_core.models import Analysis, Plan, Research, Thumbnails, Transcript, read_artifact, write_artifact
from ave_core.stage import stage_logging
from ave_core.timemap import EditMap

with stage_logging(snakemake.log[0], "metadata") as log:
    plan = read_artifact(snakemake.input.plan, Plan)
    metadata = make_metadata(
        plan,
        read_artifact(snakemake.input.analysis, Analysis),
        read_artifact(snakemake.input.transcript, Transcript),
        read_artifact(snakemake.input.research, Research),
        EditMap.from_keep(plan.keep),
        read_artifact(snakemake.input.thumbnails, Thumbnails),
        make_llm(DirectorConfig(**snakemake.params.director), Path.cwd()),
    )
    write_artifact(snakemake.output.metadata, metadata)
    log.info("%d titles", len(metadata.titles))
