# Understanding a video: probe, audio.


rule probe:
    input:
        video=get_video_path,
    output:
        media="results/{video}/media.json",
    log:
        "logs/{video}/probe.log",
    benchmark:
        "benchmarks/{video}/probe.tsv"
    conda:
        "../envs/core.yaml"
    params:
        probe=section("probe"),
        original_name=get_original_name,
        code=code_version("media", "tools"),
    script:
        "../scripts/probe.py"


rule extract_audio:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
    output:
        wav=temp("results/{video}/audio_16k.wav"),
    log:
        "logs/{video}/extract_audio.log",
    benchmark:
        "benchmarks/{video}/extract_audio.tsv"
    conda:
        "../envs/audio.yaml"
    params:
        code=code_version("audio", "tools"),
    script:
        "../scripts/extract_audio.py"


rule audio:
    input:
        video=get_video_path,
        wav="results/{video}/audio_16k.wav",
        media="results/{video}/media.json",
    output:
        audio="results/{video}/audio.json",
    log:
        "logs/{video}/audio.log",
    benchmark:
        "benchmarks/{video}/audio.tsv"
    conda:
        "../envs/audio.yaml"
    params:
        vad=section("vad"),
        audio=section("audio"),
        code=code_version("audio", "tools"),
    script:
        "../scripts/audio.py"
