"""research: a video's analysis and transcript -> research.json (searches cached for the whole project)."""

from ave_core.config import ResearchConfig
from ave_core.models import Analysis, Transcript, read_artifact, write_artifact
from ave_core.research import research_keywords
from ave_core.search import make_search_client
from ave_core.stage import stage_logging

with stage_logging(snakemake.log[0], "research") as log:
    config = ResearchConfig(**snakemake.params.research)
    research = research_keywords(
        [read_artifact(snakemake.input.analyses, Analysis)],
        [read_artifact(snakemake.input.transcripts, Transcript)],
        config,
        make_search_client(config),
    )
    write_artifact(snakemake.output.research, research)
    log.info("%d keywords (%s)", len(research.keywords), research.producer.backend)
