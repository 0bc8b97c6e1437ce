"""Operator commands: ``flask clients ...``, ``flask jobs ...``, ``flask queue ...``,
``flask admin ensure-secrets``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

clients_cli = AppGroup("clients", help="Manage API clients (keys for the job API).")
jobs_cli = AppGroup("jobs", help="Operate on video jobs.")
queue_cli = AppGroup("queue", help="Inspect the queue.")


@clients_cli.command("create")
@click.argument("name")
def create_client(name: str) -> None:
    """Create a client and print its API key (shown once)."""
    from webapp.clients import service

    new = service.create_client(name)
    click.echo(f"Created client {new.client.id} ({new.client.name}).")
    click.echo("API key (shown once, store it now):")
    click.echo(new.key)


@clients_cli.command("list")
def list_clients() -> None:
    """List clients with their key prefix and state."""
    from webapp.clients import service

    for client in service.list_clients():
        state = "revoked" if client.revoked_at else "active"
        click.echo(f"{client.id}\t{client.name}\t{client.key_prefix}…\t{state}")


@clients_cli.command("revoke")
@click.argument("client_id", type=int)
def revoke_client(client_id: int) -> None:
    """Revoke a client's key; its requests then get 401."""
    from webapp.clients import service

    if service.revoke_client(client_id) is None:
        raise click.ClickException(f"no client {client_id}")
    click.echo(f"Revoked client {client_id}.")


@jobs_cli.command("cleanup")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Delete final jobs and storyboards older than this (default JOB_RETENTION_DAYS).",
)
def cleanup(days: int | None) -> None:
    """Delete old final jobs and finished storyboards, with their files."""
    from flask import current_app

    from webapp.jobs.service import cleanup_old_jobs
    from webapp.storyboards.service import cleanup_old_storyboards

    days = days or current_app.config["JOB_RETENTION_DAYS"]
    jobs = cleanup_old_jobs(days)
    click.echo(f"Deleted {jobs} jobs and {cleanup_old_storyboards(days)} storyboards.")


@jobs_cli.command("retry")
@click.argument("job_id")
def retry(job_id: str) -> None:
    """Send a failed job back to the queue (same id, history kept)."""
    from webapp.jobs import service

    try:
        job = service.retry_job(job_id)
    except LookupError:
        raise click.ClickException(f"no job {job_id}") from None
    except service.JobStateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{job.id} is {job.status}.")


@jobs_cli.command("requeue-stuck")
def requeue_stuck() -> None:
    """Return jobs with expired leases to the queue (or fail them at max attempts)."""
    from worker.maintenance import ReconcileReport, recover_expired_leases

    report = ReconcileReport()
    recover_expired_leases(report)
    click.echo(f"Requeued {len(report.requeued)}, failed {len(report.failed)}.")


@jobs_cli.command("reconcile")
def reconcile() -> None:
    """Run one reconciler pass now (lost messages, expired leases, retention)."""
    from worker.maintenance import reconcile_once

    report = reconcile_once()
    if not report.ran:
        raise click.ClickException("another reconciler pass is running; try again")
    click.echo(
        f"Requeued {len(report.requeued)}, failed {len(report.failed)}, "
        f"re-dispatched {len(report.redispatched)}, cleaned {report.cleaned}."
    )


@jobs_cli.command("recount")
def recount() -> None:
    """Rebuild the job counts the dashboard reads (after a bulk load with triggers off)."""
    from webapp.jobs.counts import rebuild

    totals = rebuild()
    click.echo(", ".join(f"{status} {n}" for status, n in totals.items()))


@queue_cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the admin API's JSON.")
def queue_stats(as_json: bool) -> None:
    """Queue depth, job counts, workers and health."""
    import json

    from webapp.admin.queue_stats import collect

    stats = collect()
    if as_json:
        click.echo(json.dumps(stats.as_dict(), indent=2, default=str))
        return
    click.echo(f"broker: {stats.broker}  healthy: {stats.healthy} {'; '.join(stats.reasons)}")
    for queue in stats.queues:
        click.echo(
            f"  {queue.name:<14} waiting={queue.waiting} delayed={queue.delayed} "
            f"in_flight={queue.in_flight} dead={queue.dead_lettered}"
        )
    click.echo("  jobs: " + " ".join(f"{k}={v}" for k, v in stats.jobs.items()))
    click.echo(f"  workers: {len(stats.workers)}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(clients_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(queue_cli)
