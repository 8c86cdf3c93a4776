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
        code=script_code("probe"),
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
        code=script_code("extract_audio"),
    script:
        "../scripts/extract_audio.py"


rule enhance:
    input:
        # the source's sound on its time base: the enhanced sound keeps it, sample for sample
        sound="results/{video}/audio_48k.wav",
        media="results/{video}/media.json",
    output:
        # 48 kHz for the render, 16 kHz for the stages that listen when enhance.for_analysis is on; both
        # kept, like audio_16k.wav
        enhanced="results/{video}/enhanced.flac",
        wav="results/{video}/enhanced_16k.wav",
        enhancement="results/{video}/enhance.json",
        preview=report(
            "results/{video}/report/enhance.html",
            caption="../report/enhance.rst",
            category="{video}",
            subcategory="sound",
        ),
    log:
        "logs/{video}/enhance.log",
    benchmark:
        "benchmarks/{video}/enhance.tsv"
    conda:
        "../envs/audio.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(10, per_input_gb=60),
    params:
        enhance=enhance_settings(),
        code=script_code("enhance"),
    script:
        "../scripts/enhance.py"


rule audio:
    input:
        full="results/{video}/audio_48k.wav",
        wav=get_speech_wav,
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
        analysed_audio=analysed_audio(),
        code=script_code("audio"),
    script:
        "../scripts/audio.py"


rule transcribe:
    input:
        wav=get_speech_wav,
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
    threads: job_threads
    resources:
        mem_mb=scaled(2000, per_input_gb=2000),
        runtime=scaled(15, per_input_gb=400),
        gpu=get_transcribe_gpus,
    params:
        asr=section("asr"),
        code=script_code("transcribe"),
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
        code=script_code("scenes"),
    script:
        "../scripts/scenes.py"


rule analyze:
    input:
        transcript="results/{video}/transcript.json",
        audio="results/{video}/audio.json",
        wav=get_speech_wav,
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
        code=script_code("analyze"),
    script:
        "../scripts/analyze.py"
