# What people want to see without reading logs: the EMF metrics the handlers emit (namespace
# "selfheal", dimension service = selfheal), the queues' depth and the functions' errors.

locals {
  metrics_namespace = "selfheal"
  decisions         = ["Act", "DryRun", "Suppressed", "AwaitingApproval", "Approved", "Escalate", "Failed", "Healed", "Ignore"]

  dashboard_widgets = [
    {
      # Counts of routine traffic are logged, not custom metrics (each would be billed all month; with
      # var.routine_metrics they are metrics too): Logs Insights sums them when the dashboard is read.
      type = "log", x = 0, y = 0, width = 12, height = 6
      properties = {
        title = "Errors seen and new groups", region = local.region, view = "timeSeries"
        query = "SOURCE '${aws_cloudwatch_log_group.functions["log_processor"].name}' | filter ispresent(ErrorsSeen) or ispresent(NewGroups) | stats sum(ErrorsSeen) as errors_seen, sum(NewGroups) as new_groups by bin(5m)"
      }
    },
    {
      type = "log", x = 0, y = 24, width = 12, height = 6
      properties = {
        title = "Fix jobs queued and PRs opened", region = local.region, view = "timeSeries"
        query = "SOURCE '${aws_cloudwatch_log_group.functions["stream_processor"].name}' | SOURCE '${aws_cloudwatch_log_group.functions["fixer"].name}' | filter ispresent(JobsQueued) or ispresent(PullRequests) | stats sum(JobsQueued) as jobs_queued, sum(PullRequests) as prs_opened by bin(1h)"
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title = "Fix outcomes", region = local.region, stat = "Sum", period = 3600, view = "timeSeries", stacked = true
        metrics = [
          [local.metrics_namespace, "FixFailed", "service", "selfheal", { label = "failed" }],
          [local.metrics_namespace, "FixSkipped", "service", "selfheal", { label = "skipped" }],
          [local.metrics_namespace, "JobsOverBudget", "service", "selfheal", { label = "over budget" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title   = "Runbook decisions by kind", region = local.region, stat = "Sum", period = 3600, view = "timeSeries", stacked = true
        metrics = [for d in local.decisions : [local.metrics_namespace, "Runbook${d}", "service", "selfheal", { label = d }]]
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 6, height = 6
      properties = {
        title   = "Escalations (need a human)", region = local.region, stat = "Sum", period = 86400, view = "singleValue"
        metrics = [[local.metrics_namespace, "RunbookEscalate", "service", "selfheal"]]
      }
    },
    {
      type = "metric", x = 18, y = 6, width = 6, height = 6
      properties = {
        title = "Time to heal (seconds, act → OK)", region = local.region, period = 86400, view = "singleValue"
        metrics = [
          [local.metrics_namespace, "TimeToHealSeconds", "service", "selfheal", { stat = "Average", label = "average" }],
          [local.metrics_namespace, "TimeToHealSeconds", "service", "selfheal", { stat = "Maximum", label = "max" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 24, height = 6
      properties = {
        title = "Work waiting or failed", region = local.region, stat = "Maximum", period = 300, view = "timeSeries"
        metrics = concat(
          [for q in [aws_sqs_queue.fix_queue.name, aws_sqs_queue.fix_dlq.name, aws_sqs_queue.failed_events.name] :
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]],
          [for f in values(local.functions) : ["AWS/Lambda", "Errors", "FunctionName", f, { stat = "Sum" }]],
        )
      }
    },
    # Did it heal? (issue 12): what became of the PRs, counted by the group's fate.
    {
      type = "metric", x = 0, y = 18, width = 12, height = 6
      properties = {
        title   = "Fix fate: merged, healed, regressed, rejected", region = local.region, stat = "Sum", period = 86400, view = "timeSeries"
        metrics = [for m in local.fix_fates : [local.metrics_namespace, m, "service", "selfheal", { label = trimprefix(m, "Fixes") }]]
      }
    },
    {
      type = "metric", x = 12, y = 18, width = 6, height = 6
      properties = {
        title   = "Fix fate (last 7 days)", region = local.region, stat = "Sum", period = 604800, view = "singleValue"
        metrics = [for m in local.fix_fates : [local.metrics_namespace, m, "service", "selfheal", { label = trimprefix(m, "Fixes") }]]
      }
    },
    # Many services (issue 14): events from a log group no service owns are recorded and counted.
    {
      type = "metric", x = 18, y = 18, width = 6, height = 6
      properties = {
        title   = "Events from unknown log groups", region = local.region, stat = "Sum", period = 3600, view = "timeSeries"
        metrics = [[local.metrics_namespace, "UnknownLogGroups", "service", "selfheal", { label = "unknown log groups" }]]
      }
    },
    # Proof before the PR: what CI made of the fixes, and how many of the PRs people decided on were
    # merged. Both read metrics the webhook and the heal checker already emit (counts of rare events:
    # billed only in the hours they happen), so neither adds a metric. The merge rate here is merged /
    # (merged + rejected) in the window; `selfheal fixes stats` gives merged / opened from the table.
    {
      type = "metric", x = 12, y = 24, width = 12, height = 6
      properties = {
        title   = "CI outcomes: ready, repair attempts, CI failed, duplicates avoided", region = local.region, stat = "Sum", period = 86400, view = "timeSeries", stacked = false
        metrics = [for m in local.ci_outcomes : [local.metrics_namespace, m, "service", "selfheal", { label = local.ci_outcome_labels[m] }]]
      }
    },
    {
      type = "metric", x = 0, y = 30, width = 12, height = 6
      properties = {
        title = "Merge rate (% of decided PRs merged, last 7 days)", region = local.region, stat = "Sum", period = 604800, view = "singleValue"
        metrics = [
          [{ expression = "100 * FILL(merged, 0) / (FILL(merged, 0) + FILL(rejected, 0))", label = "merge rate %", id = "merge_rate" }],
          [local.metrics_namespace, "FixesMerged", "service", "selfheal", { id = "merged", label = "merged" }],
          [local.metrics_namespace, "FixesRejected", "service", "selfheal", { id = "rejected", label = "rejected" }],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 30, width = 12, height = 6
      properties = {
        title = "Merge rate by day (% of decided PRs merged)", region = local.region, stat = "Sum", period = 86400, view = "timeSeries"
        metrics = [
          [{ expression = "100 * FILL(merged, 0) / (FILL(merged, 0) + FILL(rejected, 0))", label = "merge rate %", id = "merge_rate" }],
          [local.metrics_namespace, "FixesMerged", "service", "selfheal", { id = "merged", visible = false }],
          [local.metrics_namespace, "FixesRejected", "service", "selfheal", { id = "rejected", visible = false }],
        ]
      }
    },
  ]
  fix_fates = ["FixesMerged", "FixesHealed", "FixesRegressed", "FixesRejected"]

  # Healing per layer: the remediators log one "runbook outcome" line per decision with its runbook,
  # layer, decision and (healed) time_to_heal_s. A layer dimension on Runbook<Decision> and
  # TimeToHealSeconds would bill $0.30 per metric per layer every month; Logs Insights reads the lines
  # when the dashboard is opened. `selfheal.py runbooks stats` gives the same figures from the governor.
  healing_layers = ["infrastructure", "platform", "application", "data", "network"]
  remediator_sources = join(" | ", [
    for f in ["alarm_remediator", "finding_remediator", "health_remediator", "event_remediator", "remediation_verifier"] :
    "SOURCE '${aws_cloudwatch_log_group.functions[f].name}'"
  ])
  healing_widgets = concat(
    [for i, layer in local.healing_layers : {
      type = "log", x = (i % 4) * 6, y = 42 + floor(i / 4) * 6, width = 6, height = 6
      properties = {
        title = "Healing: ${layer} layer (decisions)", region = local.region, view = "bar"
        query = "${local.remediator_sources} | filter message = 'runbook outcome' and layer = '${layer}' | stats count(*) as decisions by decision"
      }
    }],
    [{
      type = "log", x = 6, y = 48, width = 18, height = 6
      properties = {
        title = "Time to heal per layer (seconds: healed, median, p90)", region = local.region, view = "table"
        query = "${local.remediator_sources} | filter message = 'runbook outcome' and decision = 'healed' and ispresent(time_to_heal_s) | stats count(*) as healed, pct(time_to_heal_s, 50) as median_s, pct(time_to_heal_s, 90) as p90_s by layer"
      }
    }],
  )
  ci_outcomes = ["FixesReady", "FixesRepairing", "FixesCiFailed", "DuplicatesAvoided"]
  ci_outcome_labels = {
    FixesReady    = "ready (checks green)", FixesRepairing = "repair attempt (checks red)",
    FixesCiFailed = "CI failed after repair", DuplicatesAvoided = "duplicate PR avoided",
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${local.name}-${var.stage}"
  dashboard_body = jsonencode({ widgets = concat(local.dashboard_widgets, local.healing_widgets) })
}
