"""Rails Action Cable: collections/actioncable.yaml passes offline against its mock server
through `wsrun.run()`; the official client, `@rails/actioncable` 8.1 from npm on the `ws`
package (tests/node/actioncable/client.mjs), subscribes, performs, receives the broadcast and is
rejected against that mock; and `wsrun.connect(protocol="actioncable")` runs the steps."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import wsrun
from reference import missing_reference_server

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "actioncable.yaml"
NODE_CLIENT = ROOT / "tests" / "node" / "actioncable" / "client.mjs"


def test_the_collection_passes_offline_against_its_mock():
    report = wsrun.run(str(COLLECTION))
    assert report.passed, [(r.name, r.error) for r in report.requests]
    assert len(report.requests) == 2


def test_the_official_actioncable_client_subscribes_performs_and_is_rejected_on_the_mock():
    if not (NODE_CLIENT.parent / "node_modules" / "@rails" / "actioncable").exists():
        missing_reference_server(
            "the @rails/actioncable npm client is not installed: npm ci --prefix tests/node/actioncable"
        )
    with wsrun.serve(COLLECTION, mock="cable") as url:
        proc = subprocess.run(
            ["node", str(NODE_CLIENT), url + "/cable"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.splitlines()[0])
    assert seen == {
        "protocol": "actioncable-v1-json",
        "connected": True,
        "received": {"body": "hi", "from": "mock"},
        "rejected": True,
    }


def test_connect_speaks_action_cable():
    with wsrun.serve(COLLECTION, mock="cable") as url:
        with wsrun.connect(url + "/cable", protocol="actioncable") as c:
            assert c.protocol == "actioncable"
            confirmed = c.step({"subscribe": {"channel": "ChatChannel", "params": {"room": "2"}}})
            assert confirmed == {"type": "confirm_subscription", "channel": "ChatChannel", "params": {"room": "2"}}
            assert c.perform("ChatChannel", "speak", {"body": "yo"}) is None
            assert c.expect(json={"$.message.body": "yo"}) == {
                "channel": "ChatChannel",
                "params": {"room": "2"},
                "message": {"body": "yo", "from": "mock"},
            }
            with pytest.raises(wsrun.AssertionFailed, match="rejected the subscription to `SecretChannel`"):
                c.step({"subscribe": {"channel": "SecretChannel"}})
