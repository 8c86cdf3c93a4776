# Understanding a video: probe, audio, transcribe, scenes, analyze.


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
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5),
    params:
        probe=section("probe"),
        original_name=get_original_name,
        name_clash=get_name_clash,
        code=code_version("media", "timebase", "tools"),
    script:
        "../scripts/probe.py"


rule extract_audio:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
    output:
        # the one decode of the source's sound, by the time base in media.json (ave_core.timebase): every
        # stage that hears the video reads these. Kept, not temp(): several stages read them, and
        # regenerating them for one would rerun the others (DESIGN.md)
        full="results/{video}/audio_48k.wav",
        wav="results/{video}/audio_16k.wav",
    log:
        "logs/{video}/extract_audio.log",
    benchmark:
        "benchmarks/{video}/extract_audio.tsv"
    conda:
        "../envs/audio.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5, per_input_gb=5),
    params:
        code=code_version("timebase", "tools"),
    script:
        "../scripts/extract_audio.py"


rule audio:
    input:
        full="results/{video}/audio_48k.wav",
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
    resources:
        mem_mb=scaled(1000, per_input_gb=500),
        runtime=scaled(10, per_input_gb=10),
    params:
        vad=section("vad"),
        audio=section("audio"),
        code=code_version("audio", "tools"),
    script:
        "../scripts/audio.py"


rule transcribe:
    input:
        wav="results/{video}/audio_16k.wav",
        audio="results/{video}/audio.json",
        captions=get_captions,
    output:
        transcript="results/{video}/transcript.json",
    log:
        "logs/{video}/transcribe.log",
    benchmark:
        "benchmarks/{video}/transcribe.tsv"
    conda:
        "../envs/asr.yaml"
    threads: 2
    resources:
        mem_mb=scaled(2000, per_input_gb=2000),
        runtime=scaled(15, per_input_gb=400),
        gpu=get_transcribe_gpus,
    params:
        asr=section("asr"),
        code=code_version("asr", "transcript", "audio"),
    script:
        "../scripts/transcribe.py"


rule scenes:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
    output:
        scenes="results/{video}/scenes.json",
        frames=directory("results/{video}/frames"),
    log:
        "logs/{video}/scenes.log",
    benchmark:
        "benchmarks/{video}/scenes.tsv"
    conda:
        "../envs/vision.yaml"
    resources:
        mem_mb=scaled(1500, per_input_gb=100),
        runtime=scaled(10, per_input_gb=20),
    params:
        scenes=section("scenes"),
        code=code_version("vision"),
    script:
        "../scripts/scenes.py"


rule analyze:
    input:
        transcript="results/{video}/transcript.json",
        audio="results/{video}/audio.json",
        wav="results/{video}/audio_16k.wav",
        media="results/{video}/media.json",
    output:
        analysis="results/{video}/analysis.json",
    log:
        "logs/{video}/analyze.log",
    benchmark:
        "benchmarks/{video}/analyze.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=scaled(1000, per_input_gb=1000),
        runtime=scaled(10, per_input_gb=20),
    params:
        analysis=section("analysis"),
        code=code_version("analysis"),
    script:
        "../scripts/analyze.py"
