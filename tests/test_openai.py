"""The OpenAI client end to end against a local OpenAI-like server (tests/servers/openai.py)."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from usepolvo.openai import OpenAIClient
from usepolvo.openai.v2_3_0 import models as m

from tests.servers.openai import SPEECH, OpenAIServer
from usepolvo.core import AsyncStream, RateLimitInfo
from usepolvo.core._streaming import iter_sse


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(files=25) as srv:
        yield srv


@pytest.fixture
async def client(server: OpenAIServer) -> AsyncIterator[OpenAIClient]:
    async with OpenAIClient(api_key="sk-test", base_url=server.url, max_retries=0) as c:
        yield c


async def test_list_models_parses(client: OpenAIClient, server: OpenAIServer) -> None:
    result = await client.models.list_models()
    assert isinstance(result, m.ListModelsResponse)
    assert [x.id for x in result.data] == ["gpt-test", "tts-test"]
    assert result.data[0].owned_by == "openai"
    (req,) = server.requests_for("GET", "/v1/models")
    assert req.headers["authorization"] == "Bearer sk-test"


async def test_chat_completion_without_stream_is_json(client: OpenAIClient) -> None:
    result = await client.chat.create_chat_completion(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )
    assert isinstance(result, m.CreateChatCompletionResponse)
    assert result.choices[0].message.content == "Hello there"


async def test_chat_completion_streams_typed_chunks(client: OpenAIClient, server: OpenAIServer) -> None:
    stream = await client.chat.create_chat_completion(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert isinstance(stream, AsyncStream)
    chunks = [chunk async for chunk in stream]
    assert all(isinstance(c, m.CreateChatCompletionStreamResponse) for c in chunks)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices[0].delta.content)
        == "Hello there"
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert stream.last_event_id == "3"
    assert stream.closed and stream.response.is_closed
    (req,) = server.requests_for("POST", "/v1/chat/completions")
    assert b'"stream":true' in req.body.replace(b" ", b"")


async def test_breaking_early_closes_the_connection(client: OpenAIClient, server: OpenAIServer) -> None:
    stream = await client.chat.create_chat_completion(
        model="hold-open", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async for chunk in stream:
        assert chunk.choices[0].delta.content == "Hel"
        break
    for _ in range(200):
        if server.client_closed.is_set():
            break
        await asyncio.sleep(0.01)
    assert (stream.closed, stream.response.is_closed, server.client_closed.is_set()) == (True, True, True)


async def test_async_with_and_aclose_close_the_stream(client: OpenAIClient, server: OpenAIServer) -> None:
    stream = await client.chat.create_chat_completion(
        model="hold-open", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async with stream:
        first = await stream.__anext__()
        assert first.choices[0].delta.content == "Hel"
    assert stream.closed and stream.response.is_closed
    await asyncio.to_thread(server.client_closed.wait, 2)
    assert server.client_closed.is_set()
    await stream.aclose()  # idempotent
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_upload_file_as_multipart(client: OpenAIClient, server: OpenAIServer) -> None:
    content = b'{"prompt": "a", "completion": "b"}\n{"prompt": "c", "completion": "d"}\n'
    result = await client.files.create_file(
        file=("data.jsonl", content, "application/jsonl"), purpose="fine-tune"
    )
    assert isinstance(result, m.OpenAIFile)
    assert result.filename == "data.jsonl" and result.bytes == len(content)
    (parts,) = server.uploads
    by_name = {p.name: p for p in parts}
    assert set(by_name) == {"file", "purpose"}
    f = by_name["file"]
    assert f.filename == "data.jsonl"
    assert f.content_type == "application/jsonl"
    assert f.data == content
    purpose = by_name["purpose"]
    assert purpose.filename is None
    assert purpose.data == b"fine-tune"
    (req,) = server.requests_for("POST", "/v1/files")
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")


async def test_multipart_body_with_no_fields_is_still_sent() -> None:
    """A required multipart body whose fields are all optional goes out as an empty form
    (as a JSON body goes out as ``{}``), not as no body at all (found by Prism, issue 7)."""
    import httpx

    from usepolvo.core import APIStatusError

    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(400, json={"error": {"message": "stop here"}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = OpenAIClient(api_key="sk-test", http_client=http, max_retries=0, rate_limit=None)
    with pytest.raises(APIStatusError):
        await client.containers.create_container_file("cntr_1")
    await client.aclose()
    await http.aclose()
    (req,) = sent
    ctype = req.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    boundary = ctype.split("boundary=", 1)[1]
    assert req.content == f"--{boundary}--\r\n".encode()


async def test_binary_speech_download(client: OpenAIClient, server: OpenAIServer) -> None:
    audio = await client.audio.create_speech(model="tts-test", input="hello", voice="alloy")
    assert isinstance(audio, bytes)
    assert audio == SPEECH


async def test_cursor_pagination_over_files(client: OpenAIClient, server: OpenAIServer) -> None:
    ids = [f.id async for f in client.files.list_files(limit=10)]
    assert ids == [f"file-{i:04d}" for i in range(25)]
    reqs = server.requests_for("GET", "/v1/files")
    assert [r.query.get("after") for r in reqs] == [None, ["file-0009"], ["file-0019"]]
    assert all(r.query["limit"] == ["10"] for r in reqs)

    page = await client.files.list_files(size=7, page=2)
    assert [f.id for f in page] == [f"file-{i:04d}" for i in range(7, 14)]
    assert page.has_more
    assert isinstance(page.data[0], m.OpenAIFile)


async def _lines(text: str) -> AsyncIterator[str]:
    for line in text.splitlines():
        yield line


async def test_sse_parser_follows_the_spec() -> None:
    text = (
        ": comment\n"
        "retry: 1500\n"
        "event: update\nid: 7\ndata: first\ndata:  second\n\n"
        "data\n\n"
        "id: bad\0id\ndata: x\n\n"
        "field-we-ignore: 1\n\n"
        "data: unterminated"
    )
    events = [e async for e in iter_sse(_lines(text))]
    assert [(e.event, e.id, e.data, e.retry) for e in events] == [
        ("update", "7", "first\n second", 1500),
        ("message", "7", "", 1500),
        ("message", "7", "x", 1500),
    ]


# -- optional headers, rate-limit headers, typed streams -----------------------------------


async def test_organization_and_project_headers(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.delenv("OPENAI_PROJECT_ID", raising=False)
    async with OpenAIClient(api_key="sk-test", base_url=server.url) as plain:
        await plain.models.list_models()
    async with OpenAIClient(
        api_key="sk-test", base_url=server.url, organization="org-kw", project="proj_kw"
    ) as explicit:
        await explicit.models.list_models()
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")
    async with OpenAIClient(api_key="sk-test", base_url=server.url) as from_env:
        await from_env.models.list_models()
    async with OpenAIClient(api_key="sk-test", base_url=server.url, project="proj_kw") as mixed:
        await mixed.models.list_models()
    seen = [
        (r.headers.get("openai-organization"), r.headers.get("openai-project"))
        for r in server.requests_for("GET", "/v1/models")
    ]
    assert seen == [
        (None, None),
        ("org-kw", "proj_kw"),
        ("org-env", "proj_env"),
        ("org-env", "proj_kw"),
    ]


async def test_rate_limit_buckets_are_exposed(client: OpenAIClient) -> None:
    before = time.time()
    await client.models.list_models()
    info = client.last_rate_limit
    assert isinstance(info, RateLimitInfo)
    requests, tokens = info.buckets["requests"], info.buckets["tokens"]
    assert (requests.limit, requests.remaining, requests.used, requests.resource) == (500, 499, 1, "requests")
    assert (tokens.limit, tokens.remaining, tokens.used, tokens.resource) == (30000, 29000, 1000, "tokens")
    assert (info.limit, info.remaining) == (500, 499)  # the requests budget at the top level
    assert requests.reset is not None and tokens.reset is not None
    soon = datetime.datetime.fromtimestamp(before, tz=datetime.timezone.utc)
    assert datetime.timedelta(0) < requests.reset - soon < datetime.timedelta(seconds=5)
    assert datetime.timedelta(seconds=61) < tokens.reset - soon < datetime.timedelta(seconds=70)


async def test_status_error_carries_rate_limit(client: OpenAIClient) -> None:
    from usepolvo.core import NotFoundError

    with pytest.raises(NotFoundError) as caught:
        await client.models.retrieve_model("no-such-model")
    info = caught.value.rate_limit
    assert info is not None and info.buckets["tokens"].remaining == 29000


@pytest.mark.slow  # mypy follows the imports into the generated provider: minutes cold
def test_stream_true_is_typed_as_a_stream_of_events(tmp_path: Path) -> None:
    """mypy sees ``stream=True`` as ``AsyncStream[Event]`` and the default as the body."""
    snippet = tmp_path / "typed_streams.py"
    snippet.write_text(
        textwrap.dedent(
            """
        from typing import assert_type

        from usepolvo.core import AsyncStream
        from usepolvo.openai import OpenAIClient
        from usepolvo.openai.v2_3_0.models import (
            CreateChatCompletionResponse,
            CreateChatCompletionStreamResponse,
            SpeechAudioDeltaEvent,
            SpeechAudioDoneEvent,
        )


        async def check(ai: OpenAIClient, flag: bool) -> None:
            s = await ai.chat.create_chat_completion(model="m", messages=[], stream=True)
            assert_type(s, AsyncStream[CreateChatCompletionStreamResponse])
            async for chunk in s:
                assert_type(chunk, CreateChatCompletionStreamResponse)
            r = await ai.chat.create_chat_completion(model="m", messages=[])
            assert_type(r, CreateChatCompletionResponse)
            r = await ai.chat.create_chat_completion(model="m", messages=[], stream=False)
            assert_type(r, CreateChatCompletionResponse)
            e = await ai.chat.create_chat_completion(model="m", messages=[], stream=flag)
            assert_type(e, CreateChatCompletionResponse | AsyncStream[CreateChatCompletionStreamResponse])
            a = await ai.audio.create_speech(model="m", input="x", voice="alloy", stream_format="sse")
            assert_type(a, AsyncStream[SpeechAudioDeltaEvent | SpeechAudioDoneEvent])
            b = await ai.audio.create_speech(model="m", input="x", voice="alloy")
            assert_type(b, bytes)
        """
        )
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "mypy"),
            "--config-file",
            str(root / "pyproject.toml"),
            str(snippet),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
