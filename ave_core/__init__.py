"""ave_core: the library behind the ave workflow. It never imports Snakemake."""

__version__ = "0.1.0"
