"""Windows, stream properties, JSON Schemas and AsyncAPI contracts through ``wsrun.run``: the
same failures as the CLI, with the offending message and the gaps in the step results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import wsrun

ASYNCAPI = Path(__file__).resolve().parents[2] / "collections" / "asyncapi" / "binance-trades.yaml"


def one_step(url: str, step: str) -> str:
    return f"requests:\n  - name: window\n    url: {url}\n    steps:\n      - {step}\n"


def test_every_property_holds_on_a_clean_stream(server):
    report = wsrun.run(
        one_step(
            server.url("/trades?n=20"),
            "expect: { during: 300ms, count: { gte: 20 }, stream: "
            "{ $.t: { increasing: strict, consecutive: true, unique: true }, "
            "$.E: { fresh: 5s }, rate: { gt: 0 } } }",
        )
    )
    assert report.passed, report.requests[0].failure_text
    assert report.requests[0].steps[0].messages == 20


def test_a_gap_fails_naming_the_message_and_listing_the_gap(server):
    report = wsrun.run(
        one_step(
            server.url("/trades?n=10&gap=4"),
            "expect: { count: 10, stream: { $.t: { consecutive: true } } }",
        )
    )
    step = report.requests[0].steps[0]
    assert not step.passed
    assert step.error == (
        "$.t is not consecutive at message 4 of 10: 4221990006 after 4221990003: "
        "missing 4221990004..4221990005"
    )
    assert step.actual == 4221990006
    assert step.message["t"] == 4221990006
    [violation] = step.stream
    assert violation["index"] == 4 and violation["window"] == 10
    assert violation["previous"] == {"index": 3, "value": 4221990003}
    assert violation["gaps"] == [{"from": 4221990004, "to": 4221990005}]
    assert "missing   4221990004..4221990005" in report.requests[0].failure_text
    as_json = report.to_dict()["collections"][0]["requests"][0]["steps"][0]
    assert as_json["failure"]["stream"] == step.stream


@pytest.mark.parametrize(
    "fault, prop, reason",
    [
        ("dup=6", "{ unique: true }", "4221990005 repeats message 5"),
        ("swap=3", "{ increasing: strict }", "4221990003 after 4221990004"),
    ],
)
def test_a_fault_fails_its_property_naming_the_message(server, fault, prop, reason):
    step_yaml = f"expect: {{ count: 8, stream: {{ $.t: {prop} }} }}"
    report = wsrun.run(one_step(server.url(f"/trades?n=8&{fault}"), step_yaml))
    step = report.requests[0].steps[0]
    assert not step.passed
    assert step.error.endswith(reason), step.error


def test_stale_times_fail_fresh_naming_their_age(server):
    step_yaml = "expect: { count: 5, stream: { $.E: { fresh: 2s } } }"
    report = wsrun.run(one_step(server.url("/trades?n=5&stale=2"), step_yaml))
    step = report.requests[0].steps[0]
    assert step.error.startswith("$.E is not within 2s of the receive time at message 2 of 5: ")
    assert step.error.endswith(" is 1h00m old when received")
    assert step.stream[0]["offenders"] == 4


def test_a_schema_failure_lists_every_error(server, tmp_path: Path):
    (tmp_path / "trade.json").write_text(
        json.dumps(
            {"type": "object", "required": ["p", "qty"], "properties": {"t": {"type": "string"}}}
        )
    )
    step_yaml = "expect: { json: { $: { schema: trade.json } } }"
    (tmp_path / "c.yaml").write_text(one_step(server.url("/trades?n=1"), step_yaml))
    step = wsrun.run(tmp_path / "c.yaml").requests[0].steps[0]
    assert step.expected == "valid against trade.json"
    assert step.detail.splitlines() == [
        '$: "qty" is a required property (required)',
        '$.t: 4221990001 is not of type "string" (type)',
    ]


def test_a_bad_schema_is_a_collection_error_at_its_line(tmp_path: Path):
    (tmp_path / "bad.json").write_text('{"type": 5}')
    step_yaml = "expect: { json: { $: { schema: bad.json } } }"
    (tmp_path / "c.yaml").write_text(one_step("ws://127.0.0.1:9/", step_yaml))
    with pytest.raises(wsrun.CollectionError) as e:
        wsrun.validate(tmp_path / "c.yaml")
    assert e.value.line == 5
    assert "bad.json is not a valid JSON Schema" in str(e.value)


def test_a_renamed_field_breaks_the_contract_naming_the_message(server, tmp_path: Path):
    (tmp_path / "asyncapi.yaml").write_text(ASYNCAPI.read_text())
    (tmp_path / "c.yaml").write_text(
        f"requests:\n  - name: contract\n    url: {server.url('/trades?n=5&rename=3')}\n"
        "    contract: { asyncapi: asyncapi.yaml, channel: trades }\n"
        "    steps:\n      - expect: { count: 5 }\n"
    )
    step = wsrun.run(tmp_path / "c.yaml").requests[0].steps[0]
    assert step.error == (
        "contract: message 3 received matches no message of channel `trades` in asyncapi.yaml"
    )
    assert step.message["price"] == "97012.34000000"
    assert step.detail.splitlines() == [
        "closest   trade (1 error)",
        '$: "p" is a required property (required)',
    ]
