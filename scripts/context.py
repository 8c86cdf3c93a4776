"""context: every artifact of a video -> context.json."""

from ave_core.context import build_context
from ave_core.models import write_artifact
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "context") as log:
    context = build_context(
        snakemake.wildcards.video,
        artifacts=dict(snakemake.input.items()),
        benchmarks=snakemake.params.benchmarks,
        **snakemake.params.context,
    )
    write_artifact(snakemake.output.context, context)
    log.info("assembled %d artifacts", len(context.artifacts))
