# Deciding the edit: keyword research, and the Director's plan (which follows the creator's edits/, if any).
# Research runs per video over a search cache the whole project shares (cache/research): a query two videos
# need is made once, and one broken video of a batch cannot hold back the others' metadata.


rule research:
    input:
        analyses="results/{video}/analysis.json",
        transcripts="results/{video}/transcript.json",
    output:
        research="results/{video}/research.json",
    log:
        "logs/{video}/research.log",
    benchmark:
        "benchmarks/{video}/research.tsv"
    conda:
        "../envs/decide.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(10),
    params:
        research=section("research"),
        code=script_code("research"),
    script:
        "../scripts/research.py"


checkpoint direct:
    input:
        media="results/{video}/media.json",
        audio="results/{video}/audio.json",
        transcript="results/{video}/transcript.json",
        analysis="results/{video}/analysis.json",
        scenes="results/{video}/scenes.json",
        prompt=DIRECTOR_PROMPT,
        edits=get_edits,
    output:
        plan="results/{video}/plan.json",
        edit_script="results/{video}/edit.md",
    log:
        "logs/{video}/direct.log",
    benchmark:
        "benchmarks/{video}/direct.tsv"
    conda:
        "../envs/decide.yaml"
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(10),
    params:
        director=section("director"),
        code=script_code("direct"),
    script:
        "../scripts/direct.py"
