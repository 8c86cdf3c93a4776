# Assembling what a creator gets: the ContentContext.


rule context:
    input:
        unpack(get_context_inputs),
    output:
        context="results/{video}/context.json",
    log:
        "logs/{video}/context.log",
    benchmark:
        "benchmarks/{video}/context.tsv"
    conda:
        "../envs/core.yaml"
    params:
        context=section("context"),
        benchmarks=get_benchmarks,
        code=code_version("context", "models"),
    script:
        "../scripts/context.py"
