"""timeline: the edit as an OpenTimelineIO timeline (+ FCPXML, FCP XML, EDL where the adapters allow)."""

from pathlib import Path

from ave_core.models import MediaInfo, Plan, read_artifact
from ave_core.stage import stage_logging
from ave_core.timeline import build_timeline, write_timeline

with stage_logging(snakemake.log[0], "timeline") as log:
    timeline = build_timeline(
        read_artifact(snakemake.input.plan, Plan),
        read_artifact(snakemake.input.media, MediaInfo),
        str(Path(snakemake.input.video).resolve()),
        snakemake.wildcards.video,
    )
    written = write_timeline(timeline, Path(snakemake.output.otio).parent)
    for kind, where in written.items():
        log.info("%s: %s", kind, where)
