"""selfheal's handlers: a table of contents. All logic lives in chalicelib."""

from chalice import Chalice, Response

from chalicelib import runtime, sources
from chalicelib.events.logs import CloudWatchLogsEvent, on_cw_logs

# configure_logs=False: Powertools owns the "selfheal" logger (JSON lines); Chalice's handler on it
# printed every chalicelib line a second time in plain text (runtime._configure_logging).
app = Chalice(app_name="selfheal", configure_logs=False)


@on_cw_logs(app, name="log_processor")
def log_processor(event: CloudWatchLogsEvent) -> dict:
    """Subscription batch → error groups (one write per bug)."""
    return runtime.ingest().handle(event.batch, event.remaining_ms)


@app.on_dynamodb_record(stream_arn=sources.ERROR_GROUPS_STREAM_ARN, batch_size=sources.STREAM_BATCH_SIZE)
def stream_processor(event) -> dict:
    """New or re-opened groups → fix jobs."""
    return runtime.enqueue().handle(event.to_dict())


@app.on_sqs_message(queue=sources.FIX_QUEUE_NAME, batch_size=sources.FIX_BATCH_SIZE)
def fixer(event) -> dict:
    """Fix job → claimed group → fix → recorded outcome."""
    return runtime.fix_service().handle(event.to_dict())


@app.on_cw_event(sources.ALARM_PATTERN, name="alarm_remediator")
def alarm_remediator(event) -> dict:
    """CloudWatch alarm to ALARM → governed runbook; back to OK → the action is verified healed."""
    return runtime.remediator(event.to_dict())


@app.on_cw_event(sources.FINDING_PATTERN, name="finding_remediator")
def finding_remediator(event) -> dict:
    """GuardDuty finding → governed runbook (isolation awaits approval)."""
    return runtime.remediator(event.to_dict())


@app.on_cw_event(sources.HEALTH_PATTERN, name="health_remediator")
def health_remediator(event) -> dict:
    """AWS Health scheduled change → governed runbook before the date."""
    return runtime.remediator(event.to_dict())


@app.on_cw_event(sources.EVENT_PATTERN, name="event_remediator")
def event_remediator(event) -> dict:
    """An event of a source a runbook declares (AWS Backup job, RDS instance event) → governed runbook."""
    return runtime.remediator(event.to_dict())


@app.schedule(sources.VERIFY_SCHEDULE, name="remediation_verifier")
def remediation_verifier(event) -> dict:
    """Actions that did not heal by their deadline → one escalation each."""
    return runtime.remediate().verify()


@app.schedule(sources.SWEEP_SCHEDULE, name="budget_sweeper")
def budget_sweeper(event) -> dict:
    """Groups SKIPPED for budget → re-opened oldest first while budget remains (hourly)."""
    return runtime.sweep().run()


@app.route("/github/webhook", methods=["POST"], content_types=["application/json"])
def github_webhook() -> Response:
    """GitHub delivery → signature checked → PR merged / closed / commented → the group's fate."""
    request = app.current_request
    status, body = runtime.resolve().webhook(dict(request.headers), request.raw_body)
    return Response(body=body, status_code=status)


@app.schedule(sources.HEAL_SCHEDULE, name="heal_checker")
def heal_checker(event) -> dict:
    """Merged fixes quiet for the quiet period → HEALED."""
    return runtime.heal_checker().run()
