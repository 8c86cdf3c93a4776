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
    priority: RENDER_PATH_PRIORITY
    conda:
        "../envs/outputs.yaml"
    threads: job_threads
    resources:
        mem_mb=scaled(2000),
        # minutes: Blender took about 2 min for a 3 s character clip at 720p on 2 busy cores
        runtime=scaled(60),
    params:
        broll=section("broll"),
        character=section("character"),
        code=script_code("broll"),
    script:
        "../scripts/broll.py"


rule render_audio:
    input:
        unpack(get_render_sound),
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
    output:
        audio="results/{video}/render/audio.m4a",
        loudness="results/{video}/render/loudness.json",
    log:
        "logs/{video}/render_audio.log",
    benchmark:
        "benchmarks/{video}/render_audio.tsv"
    priority: RENDER_PATH_PRIORITY
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(10, per_input_gb=10),
    params:
        render=section("render"),
        code=script_code("render_audio"),
    script:
        "../scripts/render_audio.py"


rule render_chunk:
    input:
        unpack(get_audiogram_sound),
        video=get_video_path,
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
        broll="results/{video}/broll/broll.json",
        captions="results/{video}/captions.srt",
        cover=get_cover,
    output:
        video=temp("results/{video}/render/chunk-{chunk}.mp4"),
        # the same picture as the review page's excerpts are made: the review copies them out of it. Kept
        # (a few MB), so that a change to review.* reruns the review page alone
        review="results/{video}/render/review-{chunk}.mp4",
    log:
        "logs/{video}/render_chunk-{chunk}.log",
    benchmark:
        "benchmarks/{video}/render_chunk-{chunk}.tsv"
    priority: RENDER_PATH_PRIORITY
    conda:
        "../envs/core.yaml"
    threads: job_threads
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(20, per_input_gb=10),
    params:
        render=section("render"),
        review_width=section("review")["video_width"],
        code=script_code("render_chunk"),
    script:
        "../scripts/render_chunk.py"


rule render:
    input:
        unpack(get_render_chunks),
        unpack(get_enhancement_record),
        audio="results/{video}/render/audio.m4a",
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
        wav=get_check_wav,
    output:
        video="results/{video}/final.mp4",
        report="results/{video}/render.json",
    log:
        "logs/{video}/render.log",
    benchmark:
        "benchmarks/{video}/render.tsv"
    priority: RENDER_PATH_PRIORITY
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=scaled(1000, per_input_gb=1000),
        runtime=scaled(10, per_input_gb=10),
    params:
        render=section("render"),
        # the chunks are temp(), gone once joined: Snakemake plans them only when the join reruns, so the
        # join reruns when their code changes
        code=script_code("render", "render_chunk"),
    script:
        "../scripts/render.py"


rule export_audio:
    input:
        video="results/{video}/final.mp4",
    output:
        audio="results/{video}/final.{format}",
    log:
        "logs/{video}/export_audio-{format}.log",
    benchmark:
        "benchmarks/{video}/export_audio-{format}.tsv"
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5, per_input_gb=5),
    params:
        code=script_code("export_audio"),
    script:
        "../scripts/export_audio.py"


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
        code=script_code("captions"),
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
        code=script_code("timeline"),
    script:
        "../scripts/timeline.py"


rule thumbnails:
    input:
        video=get_video_path,
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
        scenes="results/{video}/scenes.json",
        cover=get_cover,
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
        code=script_code("thumbnails"),
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
    conda:
        "../envs/decide.yaml"
    resources:
        mem_mb=scaled(500),
        runtime=scaled(10),
    params:
        director=section("director"),
        code=script_code("metadata"),
    script:
        "../scripts/metadata.py"


rule context:
    input:
        unpack(get_context_inputs),
        video="results/{video}/final.mp4",
        captions="results/{video}/captions.srt",
        timeline="results/{video}/timeline/timeline.otio",
        # after the report pages, whose benchmark the context lists (they read broll.json, so they no
        # longer always finish first)
        report="results/{video}/report/timeline.png",
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
        code=script_code("context"),
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
        broll="results/{video}/broll/broll.json",
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
        code=script_code("report_pages"),
    script:
        "../scripts/report_pages.py"


rule review:
    input:
        unpack(get_review_copies),
        video=get_video_path,
        final="results/{video}/final.mp4",
        media="results/{video}/media.json",
        plan="results/{video}/plan.json",
        transcript="results/{video}/transcript.json",
        analysis="results/{video}/analysis.json",
    output:
        review=report(
            "results/{video}/report/review.html",
            caption="../report/review.rst",
            category="{video}",
            subcategory="edit",
        ),
    log:
        "logs/{video}/review.log",
    benchmark:
        "benchmarks/{video}/review.tsv"
    priority: RENDER_PATH_PRIORITY
    conda:
        "../envs/core.yaml"
    threads: job_threads
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(10, per_input_gb=5),
    params:
        review=section("review"),
        code=script_code("review"),
    script:
        "../scripts/review.py"
