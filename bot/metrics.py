"""Prometheus metrics: what operators watch. Counts and timings only, never message text."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter("rls_updates_total", "Telegram updates received, by type", ["type"], registry=REGISTRY)
ANSWERS = Counter(
    "rls_answers_total", "Replies to free text, by intent and topic", ["intent", "topic"], registry=REGISTRY
)
EMERGENCIES = Counter("rls_emergency_replies_total", "Urgent-care replies, by safety rule", ["rule"], registry=REGISTRY)
FLOOD_LIMITED = Counter("rls_flood_limited_total", "Messages ignored because a user sent too many", registry=REGISTRY)
REMINDERS_SENT = Counter("rls_reminders_sent_total", "Reminder tips delivered", registry=REGISTRY)
REMINDERS_FAILED = Counter(
    "rls_reminders_failed_total", "Reminders not delivered, by reason", ["reason"], registry=REGISTRY
)
REMINDERS_RETRIED = Counter("rls_reminders_retried_total", "Reminder sends scheduled for a retry", registry=REGISTRY)
BOT_API_SECONDS = Histogram(
    "rls_bot_api_request_seconds",
    "Bot API call latency, by method",
    ["method"],
    registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DISPATCHER_LAG = Gauge("rls_dispatcher_lag_seconds", "How late the oldest due reminder is", registry=REGISTRY)
DISPATCHER_LAST_TICK = Gauge(
    "rls_dispatcher_last_tick_timestamp_seconds", "When the dispatcher last ran", registry=REGISTRY
)
PROCESSES = Gauge("rls_bot_processes", "Live bot processes on this database, sharing SEND_RATE", registry=REGISTRY)
ERRORS = Counter("rls_errors_total", "Failed updates and jobs, by exception type", ["type"], registry=REGISTRY)
SUBSCRIBERS = Gauge("rls_subscribers", "Reminder subscriptions, by status", ["status"], registry=REGISTRY)
UNPARSABLE_UPDATES = Counter(
    "rls_updates_unparsable_total",
    "Updates python-telegram-bot could not read, skipped so the next ones are answered, by source",
    ["source"],
    registry=REGISTRY,
)
WEBHOOK_REFUSED = Counter(
    "rls_webhook_refused_total", "Webhook requests or connections refused, by reason", ["reason"], registry=REGISTRY
)
INBOX_HANDLED = Counter("rls_inbox_handled_total", "Updates handled and removed from the inbox", registry=REGISTRY)
INBOX_DUPLICATES = Counter(
    "rls_inbox_duplicates_total", "Updates Telegram sent again while they still waited (ignored)", registry=REGISTRY
)
INBOX_RECLAIMED = Counter(
    "rls_inbox_reclaimed_total", "Updates claimed again because the process holding them died", registry=REGISTRY
)
INBOX_DROPPED = Counter(
    "rls_inbox_dropped_total", "Updates given up on without handling, by reason", ["reason"], registry=REGISTRY
)
INBOX_DEFERRED = Counter(
    "rls_inbox_deferred_total",
    "Updates put back in the inbox because their answer could not reach Telegram",
    registry=REGISTRY,
)
UPDATES_IN_FLIGHT = Gauge("rls_updates_in_flight", "Updates being handled by this process", registry=REGISTRY)
UPDATE_SECONDS = Histogram(
    "rls_update_handling_seconds",
    "From claiming an update to removing it from the inbox",
    registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def count_tick(report) -> None:
    REMINDERS_SENT.inc(report.sent)
    REMINDERS_RETRIED.inc(report.retried)
    if report.late:
        REMINDERS_FAILED.labels("late").inc(report.late)
    if report.lost_in_crash:
        REMINDERS_FAILED.labels("unknown_after_crash").inc(report.lost_in_crash)
    if report.in_doubt:
        REMINDERS_FAILED.labels("unknown_in_flight").inc(report.in_doubt)
    for reason, count in report.failures.items():
        REMINDERS_FAILED.labels(reason).inc(count)
