# ave: an AI video editor for talking-head and educational videos, as a Snakemake workflow.
# Run in a project directory that holds input/: snakemake --cores 2 -d PROJECT


from snakemake.utils import min_version

from ave_core.config import project_overrides

min_version("9.27")


report: "report/workflow.rst"


configfile: workflow.source_path("config/config.yaml")


# a project's own config.yaml deep-merges over the defaults; --configfile and --config go on top
# (an empty one changes nothing; one that is not YAML stops here, naming its line)
if project_overrides("config.yaml"):

    configfile: "config.yaml"


include: "rules/common.smk"


# every job runs in this image under --software-deployment-method apptainer (config deploy.container)
container: AVE.deploy.container


wildcard_constraints:
    video=video_slug_pattern(),
    chunk=r"\d+",
    n=r"[1-9]\d*",
    format="m4a|mp3|flac|wav|ogg|opus",


include: "rules/analyze.smk"
include: "rules/decide.smk"
include: "rules/produce.smk"
include: "rules/shorts.smk"


rule all:
    default_target: True
    input:
        get_final_output(),


include: "rules/guard.smk"
