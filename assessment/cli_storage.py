"""`assessment storage copy-to-bucket`: move an installation's files from its folders into the S3 bucket
it is switching to, so that setting ASSESSMENT_S3_BUCKET loses no evidence file and no rendered report.

Run it with the bucket's settings in place (the files are read from the folders the installation used
without them: ASSESSMENT_EVIDENCE_DIR and instance/reports). It copies every evidence file the database
refers to, under its SHA-256, and every rendered report of a finished job; a file already in the bucket is
left alone, so it can be run again after an interruption, and once more after the last folder-only
process has stopped. The folders are not touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from .cli_admin import EXIT_INVALID, cli_actor

storage_group = AppGroup("storage", help="Stored files: copy-to-bucket moves the folders' files into the S3 bucket.")

SHOWN = 20  # problems listed by name; the rest are counted


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


@storage_group.command("copy-to-bucket")
@click.option("--dry-run", is_flag=True, help="Say what would be copied, and copy nothing.")
def copy_to_bucket(dry_run: bool) -> None:
    """Copy the evidence files and rendered reports from the folders into the configured S3 bucket."""
    from flask import current_app
    from sqlalchemy import select

    from .adapters.blob_copy import Item, copy_blobs
    from .adapters.blobs import FolderBlobs, s3_configured
    from .adapters.evidence_store import evidence_key
    from .extensions import db, report_store
    from .models import Evidence, ReportJob
    from .services import audit

    app = current_app
    if not s3_configured(app.config):
        click.echo(
            "error: ASSESSMENT_S3_BUCKET is not set, so there is no bucket to copy to; set the ASSESSMENT_S3_* "
            "settings as the installation will run with them, then run this again.",
            err=True,
        )
        sys.exit(EXIT_INVALID)
    store = report_store(app)
    evidence_dir, reports_dir = Path(app.config["EVIDENCE_DIR"]), Path(app.instance_path) / "reports"
    hashes = db.session.scalars(select(Evidence.sha256).where(Evidence.sha256.is_not(None)).distinct()).all()
    jobs = db.session.scalars(
        select(ReportJob).where(ReportJob.status == "done", ReportJob.file_name.is_not(None)).order_by(ReportJob.id)
    ).all()
    evidence_items = [Item(evidence_key(sha), "evidence file", sha) for sha in sorted(hashes)]
    report_items = [Item(store.key_of(job), f"report of job {job.id}") for job in jobs]
    verb = "would copy" if dry_run else "copied"
    click.echo(
        f"from {evidence_dir} and {reports_dir} to {store.evidence.blobs.describe()} and {store.blobs.describe()}"
    )

    def progress(label: str):
        def show(done: int, total: int, so_far) -> None:
            if done == total or done % 100 == 0:
                click.echo(f"  {label}: {done:,} of {total:,} looked at, {so_far.copied:,} {verb}", err=True)

        return show

    results = []
    for label, source, target, items in (
        ("evidence files", FolderBlobs(evidence_dir), store.evidence.blobs, evidence_items),
        ("reports", FolderBlobs(reports_dir), store.blobs, report_items),
    ):
        result = copy_blobs(source, target, items, dry_run=dry_run, progress=progress(label) if items else None)
        results.append(result)
        click.echo(
            f"{label}: {result.copied:,} {verb} ({_size(result.bytes)}), {result.present:,} already in the bucket, "
            f"{len(result.missing):,} missing from the folder, {len(result.failed):,} refused"
        )
        for name in result.missing[:SHOWN]:
            click.echo(f"  missing: {name}", err=True)
        for name, reason in result.failed[:SHOWN]:
            click.echo(f"  refused: {name}: {reason}", err=True)
        hidden = max(0, len(result.missing) - SHOWN) + max(0, len(result.failed) - SHOWN)
        if hidden > 0:
            click.echo(f"  … and {hidden:,} more", err=True)
    if not dry_run:
        with audit.acting_as(cli_actor()):
            audit.record(
                "storage.copied_to_bucket",
                "storage",
                str(app.config["S3_BUCKET"]),
                after={
                    "evidence": results[0].copied,
                    "reports": results[1].copied,
                    "already": results[0].present + results[1].present,
                    "missing": len(results[0].missing) + len(results[1].missing),
                    "refused": len(results[0].failed) + len(results[1].failed),
                },
            )
            db.session.commit()
    if not all(result.ok for result in results):
        click.echo(
            "Some files were not copied (listed above): a missing one is lost from the folder too (restore it from a "
            "backup, then run this again); a refused one can be tried again.",
            err=True,
        )
        sys.exit(1)
