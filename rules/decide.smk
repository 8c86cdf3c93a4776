# Deciding the edit: keyword research shared by the project, and the Director's plan per video.


rule research:
    input:
        analyses=expand("results/{video}/analysis.json", video=sorted(VIDEOS)),
        transcripts=expand("results/{video}/transcript.json", video=sorted(VIDEOS)),
    output:
        research="results/research.json",
    log:
        "logs/research.log",
    benchmark:
        "benchmarks/research.tsv"
    retries: 1
    conda:
        "../envs/decide.yaml"
    params:
        research=section("research"),
        code=code_version("research"),
    script:
        "../scripts/research.py"


rule direct:
    input:
        media="results/{video}/media.json",
        audio="results/{video}/audio.json",
        transcript="results/{video}/transcript.json",
        analysis="results/{video}/analysis.json",
        scenes="results/{video}/scenes.json",
        prompt=DIRECTOR_PROMPT,
    output:
        plan="results/{video}/plan.json",
    log:
        "logs/{video}/direct.log",
    benchmark:
        "benchmarks/{video}/direct.tsv"
    retries: 1
    conda:
        "../envs/decide.yaml"
    params:
        director=section("director"),
        code=code_version("director", "llm"),
    script:
        "../scripts/direct.py"
