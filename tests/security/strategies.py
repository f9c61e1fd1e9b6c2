"""Hypothesis strategies: a valid Anthropic or OpenAI body with a fake secret planted anywhere.

A body is generated with its encoded fields still open (`Encoded`: OpenAI
tool-call `arguments` as the JSON object they hold, text documents and
`data:` URLs as the text they carry), a fake secret is written into one of
its strings or keys chosen at random, and only then are the encoded fields
encoded. So the secret can land inside JSON in a string, inside base64, in a
key of a tool input, in a tool's schema or in a field no rule names.

Never planted: the strings the gateway names as opaque (a thinking block's
`signature`, `redacted_thinking.data`) and binary base64 (images), which by
design are not text.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
import string
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# Families whose rules need no entropy threshold, so every generated key is a hit.
_ALNUM = string.ascii_letters + string.digits


def _aws(rng: random.Random) -> str:
    return "AKIA" + "".join(rng.choices(string.ascii_uppercase + "234567", k=16))


def _github(rng: random.Random) -> str:
    return "ghp_" + "".join(rng.choices(_ALNUM, k=36))


def _slack(rng: random.Random) -> str:
    return (
        "xoxb-"
        + "".join(rng.choices(string.digits, k=11))
        + "-"
        + "".join(rng.choices(_ALNUM, k=24))
    )


def _stripe(rng: random.Random) -> str:
    return "sk_live_" + "".join(rng.choices(_ALNUM, k=24))


def _anthropic(rng: random.Random) -> str:
    return "sk-ant-api03-" + "".join(rng.choices(_ALNUM + "_-", k=93)) + "AA"


FAMILIES = {
    "aws-access-key-id": _aws,
    "github-pat": _github,
    "slack-token": _slack,
    "stripe-secret-key": _stripe,
    "anthropic-api-key": _anthropic,
}


@dataclass(frozen=True)
class FakeSecret:
    rule: str
    value: str


@st.composite
def fake_secrets(draw: st.DrawFn) -> FakeSecret:
    rule = draw(st.sampled_from(sorted(FAMILIES)))
    seed = draw(st.integers(0, 2**32 - 1))
    return FakeSecret(rule, FAMILIES[rule](random.Random(seed)))


@dataclass
class Encoded:
    """A field whose text is encoded on the wire: `json` (an object) or `base64`/`data_url`."""

    how: str
    inner: Any


@dataclass
class Opaque:
    """A string the gateway does not read by design; never planted into."""

    value: str


_words = st.text(alphabet=string.ascii_letters + " .,:-\n", min_size=0, max_size=30)
_names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12)
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), _words)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_names, inner, max_size=3)
    ),
    max_leaves=8,
)
_objects = st.dictionaries(_names, _json, max_size=4)
# A tool's input may carry base64 text in a `data` key, which the gateway decodes.
_inputs = st.one_of(
    _objects,
    st.builds(lambda o, t: {**o, "data": Encoded("base64", t)}, _objects, _words),
)


def _anthropic_block(role: str) -> st.SearchStrategy[dict[str, Any]]:
    text = st.builds(lambda t: {"type": "text", "text": t}, _words)
    if role == "assistant":
        return st.one_of(
            text,
            st.builds(
                lambda i, n, a: {"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a},
                st.integers(0, 99),
                _names,
                _inputs,
            ),
            st.builds(
                lambda t: {"type": "thinking", "thinking": t, "signature": Opaque("c2lnbmF0dXJl")},
                _words,
            ),
        )
    return st.one_of(
        text,
        st.builds(
            lambda i, c: {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": c},
            st.integers(0, 99),
            st.one_of(_words, st.lists(text, min_size=1, max_size=2)),
        ),
        st.builds(
            lambda t: {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": t},
            },
            _words,
        ),
        st.builds(
            lambda t: {
                "type": "document",
                "source": {
                    "type": "base64",
                    "media_type": "text/plain",
                    "data": Encoded("base64", t),
                },
            },
            _words,
        ),
        st.just(
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": Opaque("iVBORw0K")},
            }
        ),
        st.builds(lambda k, v: {"type": k, "data": v}, _names, _json),
    )


@st.composite
def anthropic_bodies(draw: st.DrawFn) -> dict[str, Any]:
    messages = []
    for index in range(draw(st.integers(1, 4))):
        role = "user" if index % 2 == 0 else "assistant"
        content = draw(st.one_of(_words, st.lists(_anthropic_block(role), min_size=1, max_size=3)))
        messages.append({"role": role, "content": content})
    body: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": messages}
    optional = {
        "system": st.one_of(
            _words, st.lists(st.builds(lambda t: {"type": "text", "text": t}, _words), max_size=2)
        ),
        "tools": st.lists(
            st.builds(
                lambda n, d, p: {
                    "name": n,
                    "description": d,
                    "input_schema": {"type": "object", "properties": p},
                },
                _names,
                _words,
                _objects,
            ),
            max_size=2,
        ),
        "metadata": st.builds(lambda u: {"user_id": u}, _words),
        "stop_sequences": st.lists(_words, max_size=2),
        "notes": _json,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    return body


def _openai_message(role: str) -> st.SearchStrategy[dict[str, Any]]:
    if role == "assistant":
        call = st.builds(
            lambda i, n, a: {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": n, "arguments": Encoded("json", a)},
            },
            st.integers(0, 99),
            _names,
            _inputs,
        )
        return st.one_of(
            st.builds(lambda c: {"role": role, "content": c}, _words),
            st.builds(
                lambda c: {"role": role, "content": None, "tool_calls": c},
                st.lists(call, min_size=1, max_size=2),
            ),
            st.builds(lambda r: {"role": role, "refusal": r}, _words),
        )
    part = st.one_of(
        st.builds(lambda t: {"type": "text", "text": t}, _words),
        st.builds(
            lambda t: {
                "type": "file",
                "file": {"filename": "notes.txt", "file_data": Encoded("data_url", t)},
            },
            _words,
        ),
    )
    return st.builds(
        lambda c, n: {"role": role, "content": c, **({"name": n} if n else {})},
        st.one_of(_words, st.lists(part, min_size=1, max_size=2)),
        st.one_of(st.none(), _names),
    )


@st.composite
def openai_bodies(draw: st.DrawFn) -> dict[str, Any]:
    roles = ["system"] if draw(st.booleans()) else []
    roles += ["user" if i % 2 == 0 else "assistant" for i in range(draw(st.integers(1, 4)))]
    body: dict[str, Any] = {
        "model": "gpt-4.1-mini",
        "messages": [draw(_openai_message(role)) for role in roles],
    }
    optional = {
        "tools": st.lists(
            st.builds(
                lambda n, d, p: {
                    "type": "function",
                    "function": {
                        "name": n,
                        "description": d,
                        "parameters": {"type": "object", "properties": p},
                    },
                },
                _names,
                _words,
                _objects,
            ),
            max_size=2,
        ),
        "user": _words,
        "stop": st.lists(_words, max_size=2),
        "prediction": st.builds(lambda c: {"type": "content", "content": c}, _words),
        "metadata": st.dictionaries(_names, _words, max_size=2),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    return body


def _places(value: Any) -> list[tuple[Any, Any, bool]]:
    """Every (container, key, is_key) that holds a plantable string, in document order."""
    found: list[tuple[Any, Any, bool]] = []
    if isinstance(value, Encoded):
        if isinstance(value.inner, str):
            found.append((value, "inner", False))
        else:
            found.extend(_places(value.inner))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key, True))
            if isinstance(item, str):
                found.append((value, key, False))
            else:
                found.extend(_places(item))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                found.append((value, index, False))
            else:
                found.extend(_places(item))
    return found


def _plant(container: Any, key: Any, is_key: bool, secret: str, cut: int) -> None:
    if is_key:
        new = f"{key[:cut]} {secret} {key[cut:]}"
        items = [(new if k == key else k, v) for k, v in container.items()]
        container.clear()
        container.update(items)
    elif isinstance(container, Encoded):
        text = container.inner
        container.inner = f"{text[:cut]} {secret} {text[cut:]}"
    else:
        text = container[key]
        container[key] = f"{text[:cut]} {secret} {text[cut:]}"


def _encode(value: Any) -> Any:
    if isinstance(value, Opaque):
        return value.value
    if isinstance(value, Encoded):
        inner = _encode(value.inner)
        if value.how == "json":
            return json.dumps(inner)
        data = base64.b64encode(inner.encode()).decode()
        return "data:text/plain;base64," + data if value.how == "data_url" else data
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


@dataclass(frozen=True)
class Planted:
    schema: str  # "anthropic" or "openai"
    body: dict[str, Any]
    secret: FakeSecret


@st.composite
def planted_bodies(draw: st.DrawFn) -> Planted:
    """A random valid body of either schema with one fake secret somewhere in it."""
    schema = draw(st.sampled_from(["anthropic", "openai"]))
    body = draw(anthropic_bodies() if schema == "anthropic" else openai_bodies())
    secret = draw(fake_secrets())
    places = _places(body)
    container, key, is_key = places[draw(st.integers(0, len(places) - 1))]
    length = (
        len(key)
        if is_key
        else len(container.inner if isinstance(container, Encoded) else container[key])
    )
    _plant(container, key, is_key, secret.value, draw(st.integers(0, length)))
    return Planted(schema, _encode(body), secret)


def decoded_views(raw: bytes) -> str:
    """Bytes as a provider could read them: raw, JSON-decoded strings, base64 and JSON inside."""
    views = [raw.decode("utf-8", "replace")]
    try:
        body = json.loads(raw)
    except ValueError:
        return views[0]
    views.extend(_strings(body))
    return "\n".join(views)


# Base64 as it stands in logged text: a tool input's `data` value, a `data:` URL's payload.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")


def logged_views(text: str) -> str:
    """Logged text as its reader could read it: as is, and every run of base64 in it decoded."""
    views = [text]
    for run in _BASE64_RUN.findall(text):
        with contextlib.suppress(ValueError):
            views.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
    return "\n".join(views)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if not isinstance(value, str):
        return []
    found = [value]
    payload = value.split(",", 1)[1] if value.startswith("data:") else value
    with contextlib.suppress(ValueError):
        found.append(base64.b64decode(payload, validate=True).decode("utf-8", "replace"))
    with contextlib.suppress(ValueError):
        found.extend(_strings(json.loads(value)))
    return found
