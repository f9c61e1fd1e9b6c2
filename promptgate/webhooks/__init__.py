"""Webhooks: signed JSON events, kept in a durable outbox and delivered with retries.

    event = Event("budget.exceeded", ProjectRef(id, name), details, now)
    worker.submit(event, subscriptions)   # one outbox row per interested URL

Deliveries follow Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`),
at least once, with the same event id on every retry.

Errors::

    SecretUnavailable   a referenced secret is not set or not readable
                        (a delivery attempt fails and is retried)
"""

from ._event import EVENT_TYPES, Event, EventType, ProjectRef, format_time
from ._http import Response, Sender, display_url, post
from ._outbox import DEAD, DELIVERED, PENDING, Delivery, Outbox, OutboxRow, SQLiteOutbox
from ._samples import sample_event, send_test
from ._signing import SecretRef, SecretUnavailable, resolve_secret, signature_headers, signing_key
from ._subscription import Subscription
from ._worker import Attempt, Clock, DeliveryWorker, RetryPolicy, attempt, utc_now

__all__ = [
    "DEAD",
    "DELIVERED",
    "EVENT_TYPES",
    "PENDING",
    "Attempt",
    "Clock",
    "Delivery",
    "DeliveryWorker",
    "Event",
    "EventType",
    "Outbox",
    "OutboxRow",
    "ProjectRef",
    "Response",
    "RetryPolicy",
    "SQLiteOutbox",
    "SecretRef",
    "SecretUnavailable",
    "Sender",
    "Subscription",
    "attempt",
    "display_url",
    "format_time",
    "post",
    "resolve_secret",
    "sample_event",
    "send_test",
    "signature_headers",
    "signing_key",
    "utc_now",
]
