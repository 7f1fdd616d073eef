"""The SDK's webhook receiving side on real bytes: ``verify`` (Callback-Secret, Standard
Webhooks signatures, cross-checked against the ``standardwebhooks`` reference library),
``parse_event`` (every event name). ``webhook_app``: test_webhook_app.py; deliveries from a
real cmpapi server: test_webhook_deliveries.py."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook as Reference
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceVerificationError

from cmpapi.client import events
from cmpapi.client.events import (
    EVENT_NAMES,
    EVENT_TYPES,
    AssetAddedEvent,
    ContentPreviewRequestedEvent,
    PingEvent,
    UnknownEvent,
)
from cmpapi.client.webhooks import (
    WebhookPayloadError,
    WebhookVerificationError,
    parse_event,
    verify,
)
from cmpapi.server.events.catalog import EVENT_NAMES as SERVER_EVENT_NAMES
from tests.client.webhook_samples import (
    BODY,
    KEY,
    NOW,
    OTHER_KEY,
    SAMPLES,
    key_paths,
    optional,
    signed,
    without,
)


def rejected(headers: Any, body: bytes = BODY, **kwargs: Any) -> str:
    """``verify``'s message for a delivery it must reject."""
    kwargs = {"signing_key": KEY, "now": NOW} | kwargs
    with pytest.raises(WebhookVerificationError) as caught:
        verify(headers, body, **kwargs)
    return str(caught.value)


# -- verify ------------------------------------------------------------------------------------


def test_a_signed_delivery_verifies() -> None:
    verify(signed(), BODY, signing_key=KEY, now=NOW)
    verify(signed(), BODY.decode(), signing_key=KEY.removeprefix("whsec_"), now=NOW)


def test_callback_secret_any_header_case_mapping_or_pairs() -> None:
    for name in ("Callback-Secret", "callback-secret", "CALLBACK-SECRET"):
        verify({name: "s3cret"}, BODY, secret="s3cret")
        verify([(name, "s3cret")], BODY, secret="s3cret")
        verify([(name.encode(), b"s3cret")], BODY, secret="s3cret")


def test_wrong_or_missing_callback_secret() -> None:
    assert "does not match" in rejected({"Callback-Secret": "s3cret!"}, secret="s3cret")
    assert "does not match" in rejected({"Callback-Secret": ""}, secret="s3cret")
    assert "no Callback-Secret" in rejected({"X-Callback-Secret": "s3cret"}, secret="s3cret")
    pairs = [("callback-secret", "s3cret"), ("Callback-Secret", "guess")]
    assert "several different callback-secret" in rejected(pairs, secret="s3cret")


def test_secret_and_key_together_both_must_pass() -> None:
    headers = signed() | {"Callback-Secret": "s3cret"}
    verify(headers, BODY, secret="s3cret", signing_key=KEY, now=NOW)
    assert "Callback-Secret" in rejected(headers, secret="other")
    assert "no webhook-signature matches" in rejected(
        headers, secret="s3cret", signing_key=OTHER_KEY
    )


def test_tampered_body_id_or_timestamp() -> None:
    headers = signed()
    assert "no webhook-signature matches" in rejected(headers, BODY.replace(b"image", b"video"))
    assert "no webhook-signature matches" in rejected(headers, BODY + b" ")
    assert "no webhook-signature matches" in rejected(headers | {"webhook-id": "msg_2"})
    later = str(int(NOW.timestamp()) + 1)
    assert "no webhook-signature matches" in rejected(headers | {"webhook-timestamp": later})
    assert "no webhook-signature matches" in rejected(headers, signing_key=OTHER_KEY)


def test_old_and_future_timestamps() -> None:
    for offset in (timedelta(minutes=5), -timedelta(minutes=5), timedelta(seconds=-299)):
        verify(signed(at=NOW + offset), BODY, signing_key=KEY, now=NOW)
    assert "301 s old (tolerance 300 s)" in rejected(signed(at=NOW - timedelta(seconds=301)))
    future = rejected(signed(at=NOW + timedelta(seconds=301)))
    assert "301 s in the future" in future
    an_hour = signed(at=NOW - timedelta(hours=1))
    assert "3600 s old" in rejected(an_hour)
    verify(an_hour, BODY, signing_key=KEY, now=NOW, tolerance=timedelta(hours=2))
    naive_now = NOW.replace(tzinfo=None)  # taken as UTC, like the reference library
    verify(signed(), BODY, signing_key=KEY, now=naive_now)


def test_default_now_is_the_current_time() -> None:
    verify(signed(at=datetime.now(UTC)), BODY, signing_key=KEY)
    long_ago = signed(at=datetime(2020, 1, 1, tzinfo=UTC))
    assert "s old (tolerance 300 s)" in rejected(long_ago, now=None)


def test_several_signatures_any_one_matching() -> None:
    good = signed()
    wrong = Reference(OTHER_KEY).sign("msg_1", NOW, BODY)
    value = good["webhook-signature"].split(",", 1)[1]
    for signatures in (
        f"{wrong} {good['webhook-signature']}",
        f"{good['webhook-signature']} {wrong}",
        f"v1a,xyz  v1,{'A' * 44} {good['webhook-signature']}",
    ):
        verify(good | {"webhook-signature": signatures}, BODY, signing_key=KEY, now=NOW)
    pairs = [*good.items(), ("Webhook-Signature", wrong)]
    verify(pairs, BODY, signing_key=KEY, now=NOW)
    # The value alone, or under another version, is no v1 signature.
    for signatures in (value, f"v2,{value}", f"v1a,{value} {wrong}", wrong):
        assert "no webhook-signature" in rejected(good | {"webhook-signature": signatures})


def test_missing_or_malformed_signature_headers() -> None:
    good = signed()
    for name in good:
        without = {k: v for k, v in good.items() if k != name}
        assert f"missing Standard Webhooks headers: {name}" in rejected(without)
        assert name in rejected(good | {name: "  "})
    assert "missing Standard Webhooks headers: webhook-id, webhook-timestamp" in rejected({})
    for stamp in ("1764590400.0", "-1764590400", "soon", "1" * 16, "١٧٦٤٥٩٠٤٠٠"):
        message = rejected(good | {"webhook-timestamp": stamp})
        assert message == "webhook-timestamp is not a Unix time in seconds", stamp
    assert "several different webhook-id" in rejected([*good.items(), ("Webhook-Id", "msg_2")])


def test_headers_as_upper_case_names_and_non_ascii_values() -> None:
    headers = {k.upper(): v for k, v in signed().items()}
    verify(headers, BODY, signing_key=KEY, now=NOW)
    odd = signed() | {"webhook-signature": "v1,é\udcff", "webhook-id": "msg_é"}
    assert "no webhook-signature" in rejected(odd)
    assert "does not match" in rejected({"Callback-Secret": "\udcff"}, secret="s3cret")


def test_configuration_errors_are_plain_value_errors() -> None:
    for kwargs, message in (
        ({}, "needs the webhook's secret"),
        ({"secret": ""}, "secret is empty"),
        ({"signing_key": "whsec_not base64!"}, "not a whsec_<base64> key"),
        ({"signing_key": "whsec_"}, "signing_key is empty"),
    ):
        with pytest.raises(ValueError, match=message) as caught:
            verify(signed(), BODY, **kwargs)
        assert not isinstance(caught.value, WebhookVerificationError)
    # Unpadded base64, as some tools print keys.
    verify(signed(), BODY, signing_key=KEY.rstrip("="), now=NOW)


MUTATIONS = ("none", "body", "id", "timestamp", "signature", "key")


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(max_size=300),
    msg_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    age=st.integers(-250, 250) | st.integers(400, 10**6) | st.integers(-(10**6), -400),
    mutation=st.sampled_from(MUTATIONS),
)
def test_verdicts_match_the_reference_library(
    body: bytes, msg_id: str, age: int, mutation: str
) -> None:
    """Whatever the body, id, age and tampering, ``verify`` accepts exactly what the
    ``standardwebhooks`` library accepts (ages stay clear of the 300 s edge: both read the
    clock)."""
    at = datetime.now(UTC) - timedelta(seconds=age)
    headers = signed(body, at=at, msg_id=msg_id)
    key = KEY
    if mutation == "body":
        body += b"x"
    elif mutation == "id":
        headers["webhook-id"] = msg_id + "x"
    elif mutation == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    elif mutation == "signature":
        headers["webhook-signature"] = headers["webhook-signature"][:-4] + "AAA="
    elif mutation == "key":
        key = OTHER_KEY
    try:
        Reference(key).verify(body, headers, json_parse=False)
        reference_ok = True
    except ReferenceVerificationError:
        reference_ok = False
    try:
        verify(headers, body, signing_key=key)
        ours_ok = True
    except WebhookVerificationError:
        ours_ok = False
    assert ours_ok == reference_ok
    assert ours_ok == (mutation == "none" and abs(age) < 300)


# -- parse_event -------------------------------------------------------------------------------


def test_the_receiving_side_needs_no_server_code() -> None:
    """``pip install cmpapi`` has no server extra: the modules load none of it."""
    code = (
        "import sys, cmpapi.client.webhooks\n"
        "heavy = ('cmpapi.server', 'fastapi', 'starlette', 'sqlalchemy', 'uvicorn')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_sdk_knows_the_servers_43_events() -> None:
    assert EVENT_NAMES == SERVER_EVENT_NAMES
    assert len(EVENT_NAMES) == 43
    assert set(SAMPLES) == EVENT_NAMES
    assert set(EVENT_TYPES) == EVENT_NAMES | {"ping"}
    # Every event model of the module is in the union (none written and forgotten).
    models = {
        obj
        for name, obj in vars(events).items()
        if name.endswith("Event") and isinstance(obj, type) and obj.__module__ == events.__name__
    }
    assert models - set(EVENT_TYPES.values()) == {events.BaseEvent, UnknownEvent}


@pytest.mark.parametrize("name", sorted(SERVER_EVENT_NAMES))
def test_each_event_parses_to_its_model(name: str) -> None:
    """The reference's documented payload of each event: bytes, str and dict alike."""
    payload = SAMPLES[name]
    for body in (json.dumps(payload).encode(), json.dumps(payload), payload):
        event = parse_event(body)
        assert type(event) is EVENT_TYPES[name]
        assert event.event_name == name
        assert event.model_dump(mode="json", exclude_unset=True) == payload
    # Drop any documented key and parsing fails; drop an optional one and it does not.
    for path in key_paths(payload["data"]):
        lacking = {"event_name": name, "data": without(payload["data"], path)}
        if optional(name, path):
            assert type(parse_event(lacking)) is EVENT_TYPES[name], path
            continue
        with pytest.raises(WebhookPayloadError, match=name):
            parse_event(lacking)


def test_new_fields_are_kept_and_new_enum_values_accepted() -> None:
    payload = json.loads(json.dumps(SAMPLES["asset_added"]))
    payload["delivered_at"] = "2026-12-01T12:00:00Z"
    payload["data"]["asset"]["type"] = "podcast"
    payload["data"]["asset"]["links"]["thumbnail"] = "https://example.com/t.jpg"
    event = parse_event(payload)
    assert isinstance(event, AssetAddedEvent)
    assert event.data.asset.type == "podcast"
    assert event.model_extra == {"delivered_at": "2026-12-01T12:00:00Z"}
    assert event.data.asset.links.model_extra == {"thumbnail": "https://example.com/t.jpg"}
    assert event.model_dump(mode="json", exclude_unset=True) == payload


def test_typed_access_to_a_content_preview() -> None:
    event = parse_event(SAMPLES["content_preview_requested"])
    assert isinstance(event, ContentPreviewRequestedEvent)
    [content] = event.data.assets.structured_contents
    assert content.content_body.fields_version.content_hash == "a1b2"
    assert content.created_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert event.data.links.acknowledge.endswith("/acknowledge")


def test_unknown_events_and_pings() -> None:
    unknown = parse_event({"event_name": "asset_teleported", "data": {"asset": {"id": "a1"}}})
    assert isinstance(unknown, UnknownEvent)
    assert unknown.data == {"asset": {"id": "a1"}}
    ping = parse_event(b'{"event_name": "ping", "data": {"webhook": {"id": "w1", "name": "Hook"}}}')
    assert isinstance(ping, PingEvent)
    assert ping.data.webhook.name == "Hook"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b"[]", "not a JSON object"),
        (b'"asset_added"', "not a JSON object"),
        (b'{"data": {}}', "not a CMP webhook"),
        (b'{"event_name": 7, "data": {}}', "not a CMP webhook"),
        (b'{"event_name": "asset_added"}', "not a CMP webhook"),
        (
            b'{"event_name": "asset_added", "data": []}',
            "asset_added: data: Input should be a valid dictionary",
        ),
        (
            b'{"event_name": "task_added", "data": {"task": {"id": 7}}}',
            "task_added: data.task.id: Input should",
        ),
        (
            b'{"event_name": "task_added", "data": {"task": {"id": "t"}}}',
            "task_added: data.task.links: Field required",
        ),
    ],
)
def test_bodies_that_are_no_event(body: bytes, message: str) -> None:
    with pytest.raises(WebhookPayloadError, match=message.replace(".", r"\.")) as caught:
        parse_event(body)
    assert isinstance(caught.value, ValueError)
