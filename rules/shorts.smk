# Shorts: the best moments of the edit as vertical clips that follow the speaker, captioned word by word.
# shorts_select is a checkpoint: how many shorts a video gets is known once it has run; each short is then
# its own job (short_render), like the render's chunks, and `shorts` gathers their checks into shorts.json.


checkpoint shorts_select:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
        audio="results/{video}/audio.json",
        transcript="results/{video}/transcript.json",
        analysis="results/{video}/analysis.json",
        scenes="results/{video}/scenes.json",
        plan="results/{video}/plan.json",
    output:
        selection="results/{video}/shorts/selection.json",
    log:
        "logs/{video}/shorts_select.log",
    benchmark:
        "benchmarks/{video}/shorts_select.tsv"
    conda:
        "../envs/shorts.yaml"
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(10, per_input_gb=5),
    params:
        shorts=section_part("shorts", ShortsMoments),
        director=section("director"),
        code=script_code("shorts_select"),
    script:
        "../scripts/shorts_select.py"


rule short_render:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
        # the sound on the source's time base (as the render reads it), and its 16 kHz twin for the check
        sound="results/{video}/audio_48k.wav",
        wav="results/{video}/audio_16k.wav",
        selection="results/{video}/shorts/selection.json",
    output:
        video="results/{video}/shorts/short-{n}.mp4",
        check="results/{video}/shorts/short-{n}.check.json",
    log:
        "logs/{video}/short_render-{n}.log",
    benchmark:
        "benchmarks/{video}/short_render-{n}.tsv"
    conda:
        "../envs/shorts.yaml"
    threads: job_threads
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(20, per_input_gb=10),
    params:
        shorts=section_part("shorts", ShortsLook),
        code=script_code("short_render"),
    script:
        "../scripts/short_render.py"


rule shorts:
    input:
        unpack(get_short_renders),
        selection="results/{video}/shorts/selection.json",
    output:
        shorts="results/{video}/shorts/shorts.json",
    log:
        "logs/{video}/shorts.log",
    benchmark:
        "benchmarks/{video}/shorts.tsv"
    conda:
        "../envs/shorts.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5),
    params:
        code=script_code("shorts"),
    script:
        "../scripts/shorts.py"
