"""The offline input-token estimate: proportional to text, flat for media, fast."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from promptgate.providers import anthropic, openai


def user(content: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


PROSE = "The quick brown fox jumps over the lazy dog while the gateway counts tokens. " * 100


def test_english_text_counts_about_three_and_a_half_characters_a_token() -> None:
    assert abs(anthropic.estimate_input_tokens(user(PROSE)) - len(PROSE) / 3.5) < 0.02 * len(PROSE)
    assert abs(openai.estimate_input_tokens(user(PROSE)) - len(PROSE) / 4) < 0.02 * len(PROSE)


def test_non_latin_characters_count_one_token_each() -> None:
    text = "日本語のテキスト" * 100
    assert anthropic.estimate_input_tokens(user(text)) >= len(text)


def test_system_prompt_and_tools_count_too() -> None:
    bare = anthropic.estimate_input_tokens(user("hi"))
    with_system = {**user("hi"), "system": PROSE}
    with_tools = {**user("hi"), "tools": [{"name": "t", "description": PROSE}]}
    assert anthropic.estimate_input_tokens(with_system) > bare + 1000
    assert anthropic.estimate_input_tokens(with_tools) > bare + 1000


def test_images_count_flat_not_by_base64_size() -> None:
    def image(size: int) -> dict[str, Any]:
        source = {"type": "base64", "media_type": "image/png", "data": "A" * size}
        return {"type": "image", "source": source}

    small = anthropic.estimate_input_tokens(user([image(100)]))
    large = anthropic.estimate_input_tokens(user([image(3_000_000)]))
    assert 1600 <= small <= large < 1650
    in_tool_result = user(
        [{"type": "tool_result", "tool_use_id": "t", "content": [image(3_000_000)]}]
    )
    assert anthropic.estimate_input_tokens(in_tool_result) < 1700


def test_a_claude_code_sized_request_is_estimated_in_about_a_millisecond() -> None:
    tools = [
        {"name": f"tool{i}", "description": PROSE[:2000], "input_schema": {}} for i in range(32)
    ]
    body = {**user(PROSE * 2), "system": PROSE, "tools": tools}
    started = time.perf_counter()
    for _ in range(20):
        anthropic.estimate_input_tokens(body)
    # Loose bound so a busy machine does not fail it; typically ~0.5 ms.
    assert (time.perf_counter() - started) / 20 < 0.01


@given(st.text())
def test_characters_are_counted_as_in_the_decoded_text(text: str) -> None:
    import math

    import orjson

    from promptgate.providers.estimate import estimate_tokens

    body = {"messages": [{"role": "user", "content": text}]}
    serialised = orjson.dumps(body).decode()
    ascii_chars = len(serialised.encode("ascii", "ignore"))
    expected = math.ceil(ascii_chars / 4 + len(serialised) - ascii_chars)
    got = estimate_tokens(body, keys=("messages",), chars_per_token=4, media_cost=lambda _: None)
    assert got == expected


def test_an_integer_past_64_bits_is_counted_not_raised() -> None:
    from promptgate.providers.estimate import estimate_tokens

    body = {"messages": [{"role": "user", "content": "hi", "n": 2**70}]}
    got = estimate_tokens(body, keys=("messages",), chars_per_token=1, media_cost=lambda _: None)
    assert got == len(f'{{"messages":[{{"role":"user","content":"hi","n":{2**70}}}]}}')
