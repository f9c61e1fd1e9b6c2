"""Adapt a request whose model an alias changed to what the new model accepts.

Runs only when routing swapped the model. Anthropic requests are reshaped
by the capability table (see :mod:`promptgate.providers.reshape`); a
target the table does not know, and other wire schemas, are forwarded as
the client shaped them. Every change is listed in the access-log record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..proto.access_log_pb2 import AccessLogRecord
from ..providers.capabilities import CapabilityTable
from ..providers.reshape import reshape_request

if TYPE_CHECKING:
    from .exchange import Outbound

_BETA_HEADER = "anthropic-beta"


def swap_model(outbound: Outbound, model: str, record: AccessLogRecord) -> None:
    if outbound.endpoint.schema != "anthropic":
        return
    table = CapabilityTable.builtin()
    target = table.lookup(model)
    if target is None or target.provider != "anthropic":
        return
    beta = outbound.headers.get(_BETA_HEADER)
    reshaped = reshape_request(outbound.body, beta, target, table)
    if not reshaped.adaptations:
        return
    outbound.body = reshaped.body
    outbound.changed = True
    if reshaped.beta != beta:
        outbound.header_changes[_BETA_HEADER] = reshaped.beta
    record.model_adaptations.extend(reshaped.adaptations)
