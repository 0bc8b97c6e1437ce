"""Dashboard pages and the fragments they refresh. Each swappable region has its own URL and
template (``_name.html``), used both inside the full page and alone as the htmx response."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, send_file, url_for

from webapp.admin import audit
from webapp.admin.queue_stats import collect
from webapp.clients import service as clients
from webapp.dashboard import bp
from webapp.dashboard import service as data
from webapp.dashboard.auth_views import actor
from webapp.jobs import service as jobs
from webapp.jobs.models import ALL_STATUSES
from webapp.jobs.params import parse_cursor, parse_limit
from webapp.storyboards import service as storyboards
from worker.providers import provider_names
from worker.storage import VARIANTS, get_storage


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def fragment_or_page(template: str, fragment: str, **context):
    """The whole page, or just its region for htmx; caches must keep them apart."""
    response = render_template(fragment if is_htmx() else template, **context)
    return response, 200, {"Vary": "HX-Request"}


def overview_context() -> dict:
    stats = collect()
    buckets = data.throughput()
    waiting = stats.jobs.get("queued", 0)
    return {
        "stats": stats,
        "buckets": buckets,
        "peak": max([b.completed + b.failed for b in buckets] + [1]),
        "drain_seconds": data.drain_estimate(waiting, buckets),
    }


@bp.get("/")
def overview():
    """Queue depth, status counts, throughput, workers; refreshes itself."""
    return render_template("overview.html", **overview_context())


@bp.get("/overview/stats")
def overview_stats():
    """The overview's live region."""
    return render_template("_overview.html", **overview_context())


def job_filters() -> dict:
    args = request.args
    status = args.get("status") or None
    provider = args.get("provider") or None
    if status and status not in ALL_STATUSES:
        abort(400, "Unknown status.")
    if provider and provider not in provider_names():
        abort(400, "Unknown provider.")
    client_id = args.get("client", type=int)
    try:
        return {
            "status": status,
            "provider": provider,
            "storyboard_id": parse_cursor(args.get("storyboard"), "storyboard", "storyboard"),
            "client_id": client_id,
            "search": (args.get("q") or "").strip()[:200] or None,
            "after": parse_cursor(args.get("after"), "after", "video"),
            "limit": parse_limit(args.get("limit"), default=25, maximum=100),
        }
    except Exception:  # noqa: BLE001 - ApiError from the shared parsers
        abort(400, "Bad filter value.")


@bp.get("/jobs")
def jobs_page():
    """All jobs: filters, search in prompt and error text, keyset pages."""
    filters = job_filters()
    page = jobs.list_jobs(**filters)
    return fragment_or_page(
        "jobs.html",
        "_jobs_table.html",
        page=page,
        filters=filters,
        statuses=ALL_STATUSES,
        providers=provider_names(),
        clients=clients.list_clients(),
    )


@bp.get("/jobs/<job_id>")
def job_page(job_id: str):
    """Everything about one job: fields, attempts timeline, live progress, the video."""
    job = jobs.get_job(job_id) or abort(404)
    return render_template("job.html", job=job, attempts=data.attempts(job_id))


@bp.get("/jobs/<job_id>/status")
def job_status(job_id: str):
    """The job's status region; it stops polling once the job is final."""
    job = jobs.get_job(job_id) or abort(404)
    headers = {"HX-Trigger": "job-final"} if job.is_final else {}
    return render_template("_job_status.html", job=job), 200, headers


@bp.get("/jobs/<job_id>/details")
def job_details(job_id: str):
    """The fields and attempts regions (refreshed when the job becomes final)."""
    job = jobs.get_job(job_id) or abort(404)
    return render_template("_job_details.html", job=job, attempts=data.attempts(job_id))


@bp.get("/jobs/<job_id>/attempts")
def job_attempts(job_id: str):
    """Stack traces of every attempt, loaded on demand."""
    job = jobs.get_job(job_id) or abort(404)
    return render_template("_attempts.html", job=job, attempts=data.attempts(job_id))


@bp.get("/jobs/<job_id>/media/<variant>")
def job_media(job_id: str, variant: str):
    """The stored video or thumbnail for the player (range requests supported)."""
    job = jobs.get_job(job_id) or abort(404)
    relative = {"video": job.video_path, "thumbnail": job.thumbnail_path}.get(variant)
    if not relative:
        abort(404)
    path = get_storage().resolve(relative)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=VARIANTS[variant][1], conditional=True, max_age=0)


@bp.post("/jobs/<job_id>/retry")
def retry_job(job_id: str):
    """One-click retry; htmx swaps the row in place."""
    try:
        job = jobs.retry_job(job_id)
    except LookupError:
        abort(404)
    except jobs.JobStateError as exc:
        abort(409, str(exc))
    audit.record("job.retry", actor=actor(), target=job_id, ip=request.remote_addr)
    if is_htmx():
        return render_template("_job_row.html", job=job, retried=True)
    return redirect(url_for("dashboard.job_page", job_id=job_id))


@bp.post("/jobs/<job_id>/delete")
def delete_job(job_id: str):
    """Delete a job and its files; htmx removes the row."""
    if not jobs.delete_job(job_id):
        abort(404)
    audit.record("job.delete", actor=actor(), target=job_id, ip=request.remote_addr)
    if is_htmx():
        return ""
    return redirect(url_for("dashboard.jobs_page"))


@bp.get("/failed")
def failed_page():
    """Failures grouped by error signature, with the jobs of the selected group."""
    signature = request.args.get("signature") or None
    after = request.args.get("after") or None
    rows, has_more = data.failed_jobs(signature, after=after)
    return fragment_or_page(
        "failed.html",
        "_failed_jobs.html",
        groups=data.failure_groups(),
        rows=rows,
        has_more=has_more,
        signature=signature,
    )


@bp.post("/failed/retry")
def retry_selected():
    """Bulk retry of the selected rows (server-side, in batches)."""
    ids = [i for i in request.form.getlist("job_id") if i.startswith("video_")][:1000]
    ids = [i for i in ids if "\x00" not in i]  # PostgreSQL can neither store nor compare NUL
    retried = jobs.retry_failed(ids)
    audit.record(
        "job.retry_bulk", actor=actor(), ip=request.remote_addr, detail={"count": len(retried)}
    )
    return redirect_failed(request.form.get("signature"), len(retried))


@bp.post("/failed/groups/<signature>/retry")
def retry_group(signature: str):
    """Retry every failed job with this error signature, a batch at a time."""
    total = 0
    while ids := data.failed_ids_for_signature(signature):
        total += len(jobs.retry_failed(ids))
    audit.record(
        "job.retry_group",
        actor=actor(),
        target=signature,
        ip=request.remote_addr,
        detail={"count": total},
    )
    return redirect_failed(None, total)


def redirect_failed(signature: str | None, count: int):
    target = url_for("dashboard.failed_page", signature=signature or None, retried=count)
    if is_htmx():
        return "", 204, {"HX-Location": target}
    return redirect(target)


@bp.get("/storyboards")
def storyboards_page():
    """Storyboards with their scenes' statuses."""
    return render_template("storyboards.html", boards=storyboards.list_recent())


@bp.get("/storyboards/<storyboard_id>")
def storyboard_page(storyboard_id: str):
    """Scenes in order with thumbnails, statuses and retry; the compiled film."""
    board = storyboards.get_storyboard(storyboard_id) or abort(404)
    scenes = storyboards.scenes(storyboard_id)
    return render_template(
        "storyboard.html", board=board, scenes=scenes, summary=storyboards.aggregate(board, scenes)
    )


@bp.get("/storyboards/<storyboard_id>/film")
def storyboard_film(storyboard_id: str):
    """The compiled film for the player."""
    board = storyboards.get_storyboard(storyboard_id) or abort(404)
    if board.compile_status != "completed" or not board.compiled_path:
        abort(404)
    path = get_storage().resolve(board.compiled_path)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype="video/mp4",
        conditional=True,
        max_age=0,
    )


@bp.get("/webhooks")
def webhooks_page():
    """Webhook deliveries with their status; redelivery."""
    from webapp.webhooks.service import recent_deliveries

    return render_template("webhooks.html", deliveries=recent_deliveries())


@bp.post("/webhooks/deliveries/<int:delivery_id>/redeliver")
def redeliver(delivery_id: int):
    """Send a delivery again (same event id, a new attempt)."""
    from webapp.webhooks.delivery import redeliver as redeliver_now

    redeliver_now(delivery_id) or abort(404)
    audit.record(
        "webhook.redeliver", actor=actor(), target=str(delivery_id), ip=request.remote_addr
    )
    return redirect(url_for("dashboard.webhooks_page"))


@bp.get("/clients")
def clients_page():
    """API clients: create (the key is shown once) and revoke."""
    return render_template("clients.html", clients=clients.list_clients(), new=None)


@bp.post("/clients")
def create_client():
    name = (request.form.get("name") or "").strip()
    if not name or len(name) > 128 or "\x00" in name:
        return render_template(
            "clients.html",
            clients=clients.list_clients(),
            new=None,
            error="Give the client a name of 1-128 characters.",
        ), 422
    new = clients.create_client(name)
    audit.record(
        "client.create",
        actor=actor(),
        target=str(new.client.id),
        ip=request.remote_addr,
        detail={"name": name},
    )
    return render_template("clients.html", clients=clients.list_clients(), new=new)


@bp.post("/clients/<int:client_id>/revoke")
def revoke_client(client_id: int):
    client = clients.revoke_client(client_id) or abort(404)
    audit.record("client.revoke", actor=actor(), target=str(client_id), ip=request.remote_addr)
    if is_htmx():
        return render_template("_client_row.html", client=client)
    return redirect(url_for("dashboard.clients_page"))


@bp.get("/audit")
def audit_page():
    """Operator actions, newest first."""
    before = request.args.get("before", type=int)
    return render_template("audit.html", events=audit.recent(before_id=before))
