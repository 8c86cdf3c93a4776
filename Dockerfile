# ave in a container: the workflow, its pinned Python environment, ffmpeg and fonts.
#   docker build -t ave:0.1.0 .
#   docker run --rm -v "$PWD/my-channel:/project" ave:0.1.0 --cores 8
# On a cluster, turn it into an Apptainer image and let Snakemake run every job in it (README, "Clusters").
FROM python:3.11-slim-bookworm

# ffmpeg renders and probes; espeak-ng speaks the transcript that word times are aligned with; DejaVu is the
# thumbnails' font; the GL, EGL, fontconfig, xkbcommon, GLib and D-Bus
# libraries are what PySide6's offscreen platform (movis text in B-roll) loads; the X11, Vulkan loader and
# OpenMP libraries are what Blender's bpy module links, and Mesa's EGL with its software driver is what its
# Workbench engine draws with when there is no display and no GPU (character B-roll). Debian package versions
# are not pinned: bookworm's security updates replace them, and the base image's tag fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        espeak-ng \
        ffmpeg \
        fonts-dejavu-core \
        libdbus-1-3 \
        libegl-mesa0 \
        libegl1 \
        libfontconfig1 \
        libgl1 \
        libgl1-mesa-dri \
        libglib2.0-0 \
        libgomp1 \
        libsm6 \
        libvulkan1 \
        libx11-6 \
        libxext6 \
        libxfixes3 \
        libxi6 \
        libxkbcommon0 \
        libxrender1 \
        libxxf86vm1 \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    QT_QPA_PLATFORM=offscreen \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /opt/ave
COPY pyproject.toml README.md constraints.txt ./
COPY ave_core ./ave_core
# the same install as `make setup`, at the exact versions of constraints.txt; scenedetect and movis without
# their GUI OpenCV (pyproject.toml says why)
RUN pip install -c constraints.txt ".[all,cluster]" \
    && pip install -c constraints.txt --no-deps "scenedetect>=0.7,<0.8" "movis>=0.7,<0.8"

COPY Snakefile ./
COPY config ./config
COPY rules ./rules
COPY scripts ./scripts
COPY envs ./envs
COPY profiles ./profiles
COPY report ./report

# a project folder (input/ with the recordings) is mounted here; results/ appear beside input/
WORKDIR /project
ENTRYPOINT ["snakemake", "-s", "/opt/ave/Snakefile"]
CMD ["--cores", "all"]
