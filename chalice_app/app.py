"""selfheal's handlers: a table of contents. All logic lives in chalicelib."""

from chalice import Chalice

from chalicelib import runtime, sources
from chalicelib.events.logs import CloudWatchLogsEvent, on_cw_logs

app = Chalice(app_name="selfheal")


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
