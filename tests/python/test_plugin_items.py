"""The pytest plugin's items are honest: each runs its own request (xdist, reruns, durations,
JUnit times), its failure reads well (short summary, relative paths), and bad options, other
YAML and invalid collections are handled as pytest users expect."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET

SLOW = """\
name: Slow
requests:
{requests}
"""

SLOW_REQUEST = """\
  - name: slow {i}
    url: {url}
    steps:
      - sleep: 300ms
      - send: {{ json: {{ i: {i} }} }}
      - expect: {{ json: {{ $.i: {i} }} }}
"""


def _slow(pytester, server, n: int, tag: str) -> None:
    requests = "".join(
        SLOW_REQUEST.format(i=i, url=server.url(f"/echo?tag={tag}-{i}")) for i in range(n)
    )
    pytester.makefile(".yaml", slow=SLOW.format(requests=requests))


def _connections(server, tag: str) -> "dict[str, int]":
    counts: "dict[str, int]" = {}
    for path in server.paths:
        m = re.search(r"tag=(" + re.escape(tag) + r"-\d+)", path)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def test_with_xdist_each_request_runs_once(pytester, server):
    tag = uuid.uuid4().hex
    _slow(pytester, server, 4, tag)
    result = pytester.runpytest_subprocess("-n", "2", "slow.yaml")
    result.assert_outcomes(passed=4)
    assert _connections(server, tag) == {f"{tag}-{i}": 1 for i in range(4)}


def test_a_rerun_connects_again(pytester, server):
    key = uuid.uuid4().hex
    pytester.makefile(
        ".yaml",
        flaky=f"""\
requests:
  - name: passes the second time
    url: {server.url(f"/nth?key={key}")}
    steps:
      - expect: {{ json: {{ $.n: 2 }} }}
""",
    )
    result = pytester.runpytest("-p", "rerunfailures", "--reruns", "1", "flaky.yaml")
    assert result.parseoutcomes() == {"passed": 1, "rerun": 1}, result.stdout.str()


def test_durations_and_junit_times_are_each_items_own(pytester, server):
    _slow(pytester, server, 2, uuid.uuid4().hex)
    result = pytester.runpytest("--durations=0", "-vv", "--junitxml=junit.xml", "slow.yaml")
    result.assert_outcomes(passed=2)
    calls = re.findall(r"^([\d.]+)s call\s+slow.yaml::slow (\d)$", result.stdout.str(), re.M)
    assert sorted(i for _, i in calls) == ["0", "1"], result.stdout.str()
    for seconds, _ in calls:
        assert 0.25 <= float(seconds) < 0.55, result.stdout.str()
    cases = ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    times = [float(c.get("time", "0")) for c in cases]
    assert len(times) == 2 and all(0.25 <= t < 0.6 for t in times), times


def test_a_bad_wsrun_var_is_one_usage_error(pytester, server):
    _slow(pytester, server, 3, uuid.uuid4().hex)
    result = pytester.runpytest("--wsrun-var", "symbol", "slow.yaml")
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == ["ERROR: --wsrun-var expects K=V (a name, `=`, a value), got 'symbol'"]
    assert "slow" not in result.stdout.str()


def test_an_unknown_wsrun_env_is_one_usage_error(pytester, server):
    pytester.makefile(
        ".yaml",
        envs=f"""\
environments: {{ local: {{}}, live: {{}} }}
requests:
  - name: one
    url: {server.url("/echo")}
    steps: [ {{ send: hi }} ]
""",
    )
    result = pytester.runpytest("--wsrun-env", "lve", "envs.yaml")
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [
        "ERROR: --wsrun-env lve: envs.yaml has no environment `lve` (it has: local, live)"
    ]


def test_yaml_that_is_not_a_collection_is_not_collected(pytester, server):
    pytester.makefile(".yaml", deployment="requests: {cpu: 100m}\nlimits: {cpu: 200m}\n")
    pytester.makefile(".yml", values="- requests:\n    - name: not at the top\n")
    pytester.makefile(
        ".yaml",
        real=f"requests:\n  - name: echo\n    url: {server.url('/echo')}\n    steps: [ {{ send: hi }} ]\n",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    assert "deployment" not in result.stdout.str() and "values" not in result.stdout.str()


def test_an_invalid_collection_fails_as_one_item_and_the_rest_still_run(pytester, server):
    pytester.makefile(
        ".yaml",
        broken="requests:\n  - name: x\n    url: ws://h\n    steps:\n      - bogus: 1\n",
        fine=f"requests:\n  - name: echo\n    url: {server.url('/echo')}\n    steps: [ {{ send: hi }} ]\n",
    )
    result = pytester.runpytest("-rf")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED broken.yaml::collection - broken.yaml:5:9*bogus*"])


def test_the_ini_option_wsrun_files_chooses_the_files(pytester, server):
    body = f"requests:\n  - name: echo\n    url: {server.url('/echo')}\n    steps: [ {{ send: hi }} ]\n"
    pytester.makefile(".ws.yaml", api=body)
    pytester.makefile(".yaml", other=body)
    pytester.makeini("[pytest]\nwsrun_files = *.ws.yaml\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["api.ws.yaml::echo", "1 test collected*"])
    assert "other.yaml" not in result.stdout.str()


def test_the_short_summary_carries_the_failures_first_line_with_a_relative_path(pytester, server):
    folder = pytester.mkdir("api")
    (folder / "bad.yaml").write_text(
        f"requests:\n  - name: wrong id\n    url: {server.url('/echo')}\n    steps:\n"
        "      - send: { json: { id: 7 } }\n      - expect: { json: { $.id: 8 } }\n"
    )
    result = pytester.runpytest("-rf", str(folder / "bad.yaml"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED api/bad.yaml::wrong id - step 2 expect api/bad.yaml:6: $.id*"]
    )
    assert str(pytester.path / "api") not in result.stdout.str()


def test_snapshot_failures_name_the_plugins_update_option(pytester, server, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makefile(
        ".yaml",
        snap=f"""\
requests:
  - name: shape
    url: {server.url("/hello")}
    steps:
      - snapshot: {{ name: hello, shape: true }}
""",
    )
    result = pytester.runpytest("snap.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rerun with --wsrun-update-snapshots*"])
    result = pytester.runpytest("snap.yaml", "--wsrun-update-snapshots")
    result.assert_outcomes(passed=1)
    written = (pytester.path / "__snapshots__" / "snap__hello.snap").read_text()
    # For version control: the collection relative to the snapshot, not this machine's path.
    assert written.startswith('---\nsource: "../snap.yaml"\n'), written
    result = pytester.runpytest("snap.yaml")
    result.assert_outcomes(passed=1)


def test_assert_report_passed_shows_wsrun_failure_text(pytester, failing_collection):
    pytester.makepyfile(
        test_mine=f'''
import wsrun

COLLECTION = {failing_collection!r}

def test_it():
    report = wsrun.run(COLLECTION)
    assert report.passed
'''
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*where False = <Report failed*first: 'fails': step 2 expect*", "*wsrun failures*"]
    )
    assert "expected  8" in out and "actual    7" in out


def test_tracebacks_from_connect_hide_wsruns_own_frames(pytester, server):
    pytester.makepyfile(
        test_mine=f'''
import wsrun

def test_it():
    with wsrun.connect({server.url("/echo")!r}) as c:
        c.send(json={{"id": 7}})
        c.expect(json={{"$.id": 8}})
'''
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*c.expect(json=*", "E*AssertionFailed: step 2 expect*"])
    assert "_connect.py" not in out, out


def test_comparing_wsrun_results_shows_their_failure_text(pytester, failing_collection):
    pytester.makepyfile(
        test_mine=f"""
import wsrun

def test_it():
    assert wsrun.run({failing_collection!r}).failed == []
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*wsrun failures:*", "*step 2 expect <string>:12*", "*expected  8*"])
