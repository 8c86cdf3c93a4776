# Producing what a creator publishes: B-roll, the rendered video, captions, the NLE timeline, thumbnails,
# metadata, and the assembled ContentContext.


rule broll:
    input:
        plan="results/{video}/plan.json",
        analysis="results/{video}/analysis.json",
        media="results/{video}/media.json",
    output:
        broll="results/{video}/broll/broll.json",
    log:
        "logs/{video}/broll.log",
    benchmark:
        "benchmarks/{video}/broll.tsv"
    conda:
        "../envs/outputs.yaml"
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(20),
    params:
        code=code_version("broll", "timemap"),
    script:
        "../scripts/broll.py"


rule render_audio:
    input:
        audio="results/{video}/audio_48k.wav",
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
    output:
        audio="results/{video}/render/audio.m4a",
        loudness="results/{video}/render/loudness.json",
    log:
        "logs/{video}/render_audio.log",
    benchmark:
        "benchmarks/{video}/render_audio.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(10, per_input_gb=10),
    params:
        render=section("render"),
        code=code_version("render", "timebase", "timemap", "tools"),
    script:
        "../scripts/render_audio.py"


rule render_chunk:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
        broll="results/{video}/broll/broll.json",
        captions="results/{video}/captions.srt",
    output:
        video=temp("results/{video}/render/chunk-{chunk}.mp4"),
    log:
        "logs/{video}/render_chunk-{chunk}.log",
    benchmark:
        "benchmarks/{video}/render_chunk-{chunk}.tsv"
    conda:
        "../envs/core.yaml"
    threads: 2
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(20, per_input_gb=10),
    params:
        render=section("render"),
        code=code_version("render", "timemap"),
    script:
        "../scripts/render_chunk.py"


rule render:
    input:
        unpack(get_render_chunks),
        audio="results/{video}/render/audio.m4a",
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
        wav="results/{video}/audio_16k.wav",
    output:
        video="results/{video}/final.mp4",
        report="results/{video}/render.json",
    log:
        "logs/{video}/render.log",
    benchmark:
        "benchmarks/{video}/render.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=scaled(1000, per_input_gb=1000),
        runtime=scaled(10, per_input_gb=10),
    params:
        render=section("render"),
        code=code_version("render", "timebase", "timemap", "tools"),
    script:
        "../scripts/render.py"


rule captions:
    input:
        transcript="results/{video}/transcript.json",
        plan="results/{video}/plan.json",
    output:
        srt="results/{video}/captions.srt",
        vtt="results/{video}/captions.vtt",
    log:
        "logs/{video}/captions.log",
    benchmark:
        "benchmarks/{video}/captions.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5),
    params:
        code=code_version("captions", "timemap"),
    script:
        "../scripts/captions.py"


rule timeline:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
    output:
        otio="results/{video}/timeline/timeline.otio",
    log:
        "logs/{video}/timeline.log",
    benchmark:
        "benchmarks/{video}/timeline.tsv"
    conda:
        "../envs/outputs.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5),
    params:
        code=code_version("timeline", "timemap"),
    script:
        "../scripts/timeline.py"


rule thumbnails:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
        scenes="results/{video}/scenes.json",
    output:
        thumbnails="results/{video}/thumbnails/thumbnails.json",
        emotional=report(
            "results/{video}/thumbnails/thumb-emotional.png",
            caption="../report/thumbnail.rst",
            category="{video}",
            subcategory="thumbnails",
        ),
        curiosity=report(
            "results/{video}/thumbnails/thumb-curiosity.png",
            caption="../report/thumbnail.rst",
            category="{video}",
            subcategory="thumbnails",
        ),
        authority=report(
            "results/{video}/thumbnails/thumb-authority.png",
            caption="../report/thumbnail.rst",
            category="{video}",
            subcategory="thumbnails",
        ),
    log:
        "logs/{video}/thumbnails.log",
    benchmark:
        "benchmarks/{video}/thumbnails.tsv"
    conda:
        "../envs/outputs.yaml"
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(10, per_input_gb=5),
    params:
        thumbnails=section("thumbnails"),
        code=code_version("thumbnails"),
    script:
        "../scripts/thumbnails.py"


rule metadata:
    input:
        plan="results/{video}/plan.json",
        analysis="results/{video}/analysis.json",
        transcript="results/{video}/transcript.json",
        research="results/{video}/research.json",
        thumbnails="results/{video}/thumbnails/thumbnails.json",
    output:
        metadata="results/{video}/metadata.json",
    log:
        "logs/{video}/metadata.log",
    benchmark:
        "benchmarks/{video}/metadata.tsv"
    retries: 1
    conda:
        "../envs/decide.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(10),
    params:
        director=section("director"),
        code=code_version("metadata", "timemap"),
    script:
        "../scripts/metadata.py"


rule context:
    input:
        unpack(get_context_inputs),
        video="results/{video}/final.mp4",
        captions="results/{video}/captions.srt",
        timeline="results/{video}/timeline/timeline.otio",
    output:
        context="results/{video}/context.json",
    log:
        "logs/{video}/context.log",
    benchmark:
        "benchmarks/{video}/context.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5),
    params:
        context=section("context"),
        benchmarks=get_benchmarks,
        code=code_version("context", "models"),
    script:
        "../scripts/context.py"


rule report_pages:
    input:
        media="results/{video}/media.json",
        audio="results/{video}/audio.json",
        plan="results/{video}/plan.json",
        analysis="results/{video}/analysis.json",
        scenes="results/{video}/scenes.json",
        metadata="results/{video}/metadata.json",
        thumbnails="results/{video}/thumbnails/thumbnails.json",
    output:
        timeline=report(
            "results/{video}/report/timeline.png",
            caption="../report/timeline.rst",
            category="{video}",
            subcategory="edit",
        ),
        contact_sheet=report(
            "results/{video}/report/contact_sheet.png",
            caption="../report/contact_sheet.rst",
            category="{video}",
            subcategory="shots",
        ),
        metadata=report(
            "results/{video}/report/metadata.html",
            caption="../report/metadata.rst",
            category="{video}",
            subcategory="metadata",
        ),
    log:
        "logs/{video}/report_pages.log",
    benchmark:
        "benchmarks/{video}/report_pages.tsv"
    conda:
        "../envs/outputs.yaml"
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(10),
    params:
        code=code_version("report"),
    script:
        "../scripts/report_pages.py"
