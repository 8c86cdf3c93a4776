# Snakemake 9.27 can end a run as a success with jobs it never ran: a job waiting for its retry (the slurm
# profile's `retries`) is forgotten when a checkpoint finishes, and --keep-going then exits 0 (the family of
# snakemake#823; tests/workflow/test_guard.py makes it happen). Say which jobs, and fail the run.

from snakemake.logging import logger as _logger


def jobs_never_run(dag):
    """'rule (video)' of each job the run planned and neither finished nor failed."""
    never = [job for job in dag.needrun_jobs() if not dag.finished(job)]
    return [
        (
            f"{job.rule.name} ({job.wildcards_dict['video']})"
            if "video" in (getattr(job, "wildcards_dict", None) or {})
            else job.rule.name
        )
        for job in never
    ]


onsuccess:
    _never_run = jobs_never_run(workflow.dag)
    if _never_run:
        _logger.error(
            f"ave workflow: error: Snakemake ended without running {', '.join(sorted(_never_run))} — a Snakemake 9.27 "
            "bug drops a job waiting for its retry when a checkpoint finishes; run the same command again "
            "to finish them"
        )
        raise SystemExit(1)
