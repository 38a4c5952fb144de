"""The pytest plugin (entry point pytest11): collections as pytest items."""

from __future__ import annotations

GOOD = """\
name: Good
requests:
  - name: echo json
    url: {echo}
    steps:
      - send: {{ json: {{ id: 1 }} }}
      - expect: {{ json: {{ $.id: 1 }} }}
  - name: echo text
    url: {echo}
    steps:
      - send: {{ text: "{{{{ word }}}}" }}
      - expect: {{ text: hello }}
"""

BAD = """\
name: Bad
environments:
  one: {{ id: 1 }}
  two: {{ id: 2 }}
requests:
  - name: wrong id
    url: {echo}
    steps:
      - send: {{ json: {{ id: 7 }} }}
      - expect:
          json: {{ $.id: "{{{{ id }}}}" }}
"""


def _write(pytester, server):
    echo = server.url("/echo")
    folder = pytester.mkdir("collections")
    (folder / "good.yaml").write_text(GOOD.format(echo=echo))
    (folder / "nested").mkdir()
    (folder / "nested" / "bad.yml").write_text(BAD.format(echo=echo))
    (folder / "data.yaml").write_text("not: a collection\n")
    return folder


def test_collects_one_item_per_request(pytester, server):
    _write(pytester, server)
    result = pytester.runpytest("--collect-only", "-q", "collections")
    result.stdout.fnmatch_lines(
        [
            "collections/good.yaml::echo json",
            "collections/good.yaml::echo text",
            "collections/nested/bad.yml::wrong id",
            "3 tests collected*",
        ]
    )


def test_runs_and_reports_wsrun_failure_text(pytester, server):
    _write(pytester, server)
    result = pytester.runpytest("-v", "collections", "--wsrun-var", "word=hello")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*good.yaml::echo json PASSED*",
            "*good.yaml::echo text PASSED*",
            "*bad.yml::wrong id FAILED*",
            "*step 2 expect*bad.yml:10*",
            "*expected  1*",
            "*actual    7*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "def runtest" not in result.stdout.str()


def test_options_env_and_var(pytester, server):
    _write(pytester, server)
    # Without --wsrun-var, `word` is unknown: the request that uses it fails with wsrun's
    # message; the other one, run on its own, passes.
    result = pytester.runpytest("collections/good.yaml")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*good.yaml:11: unknown variable `word`*"])
    result = pytester.runpytest("collections/nested", "--wsrun-env", "two")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected  2*"])


def test_keyword_selection_runs_only_selected(pytester, server):
    _write(pytester, server)
    result = pytester.runpytest("-v", "collections", "-k", "echo and json")
    result.assert_outcomes(passed=1, deselected=2)


def test_an_invalid_collection_shows_its_located_error(pytester):
    pytester.makefile(".yaml", broken="requests:\n  - name: x\n    url: ws://h\n    steps:\n      - bogus: 1\n")
    result = pytester.runpytest("broken.yaml")
    result.stdout.fnmatch_lines(["*broken.yaml:5:9*bogus*"])
    assert result.ret != 0
