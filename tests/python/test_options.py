"""The options of run / run_async / validate: one list in the extension, and everything else
(the Python wrappers, the .pyi stubs) held to it."""

from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path

import pytest

import wsrun
from wsrun import _wsrun

UNKNOWN_VAR = """\
requests:
  - name: one
    url: "ws://{{ host }}/"
    steps:
      - send: { text: hi }
"""


def _wrapper_options(function) -> dict:
    params = list(inspect.signature(function).parameters.values())
    assert params[0].name == "source"
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    return {p.name: p.default for p in params[1:]}


def _stub_options(name: str) -> dict:
    stub = Path(wsrun.__file__).with_name("_wsrun.pyi")
    tree = ast.parse(stub.read_text())
    (function,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    assert [a.arg for a in function.args.args] == ["source"]
    args = function.args
    defaults = [inspect.Parameter.empty if d is None else ast.literal_eval(d) for d in args.kw_defaults]
    # `update_hint` is how the pytest plugin names its update option, not a run option.
    return {a.arg: d for a, d in zip(args.kwonlyargs, defaults) if a.arg != "update_hint"}


@pytest.mark.parametrize(
    "name, table",
    [("run", "RUN_OPTIONS"), ("run_async", "RUN_OPTIONS"), ("validate", "VALIDATE_OPTIONS")],
)
def test_wrappers_and_stubs_take_exactly_the_extensions_options(name, table):
    options = dict(getattr(_wsrun, table))
    # Same names, same order, same defaults.
    assert list(_wrapper_options(getattr(wsrun, name)).items()) == list(options.items())
    assert list(_stub_options(name).items()) == list(options.items())


def test_validate_takes_the_options_that_decide_how_collections_load():
    assert list(_wsrun.VALIDATE_OPTIONS) == ["env", "vars", "secrets", "vars_files"]
    assert set(_wsrun.VALIDATE_OPTIONS) < set(_wsrun.RUN_OPTIONS)
    assert "jobs" in _wsrun.RUN_OPTIONS and _wsrun.RUN_OPTIONS["jobs"] == 1


def test_option_tables_are_read_only():
    with pytest.raises(TypeError):
        _wsrun.RUN_OPTIONS["jobs"] = 2  # type: ignore[index]


def test_unknown_options_are_a_type_error_naming_them(echo_collection):
    with pytest.raises(TypeError, match=r"run\(\) got unexpected keyword arguments 'bogus', 'envv'"):
        _wsrun.run(echo_collection, bogus=1, envv="a")
    with pytest.raises(TypeError, match=r"validate\(\) got an unexpected keyword argument 'jobs'"):
        _wsrun.validate(echo_collection, jobs=2)
    with pytest.raises(TypeError, match="bogus"):
        wsrun.run(echo_collection, bogus=1)  # type: ignore[call-arg]


def test_an_option_of_the_wrong_type_names_the_option(echo_collection):
    with pytest.raises(TypeError, match=r"run\(\) argument 'jobs'"):
        wsrun.run(echo_collection, jobs="two")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"run\(\) argument 'requests'.*not one string"):
        wsrun.run(echo_collection, requests="echo json")
    with pytest.raises(ValueError, match=r"run\(\) argument 'timeout'"):
        wsrun.run(echo_collection, timeout="soon")


def test_every_option_given_as_none_means_its_default(echo_collection):
    report = wsrun.Report(_wsrun.run(echo_collection, **{k: None for k in _wsrun.RUN_OPTIONS}))
    assert report.passed
    assert wsrun.validate(echo_collection, **{k: None for k in _wsrun.VALIDATE_OPTIONS}) == 2


def test_options_take_any_mapping_and_sequence(server):
    text = f"""\
requests:
  - name: templated
    url: {server.url('/echo')}
    steps:
      - send: {{ text: "{{{{ word }}}}" }}
      - expect: {{ text: hello }}
  - name: other
    url: {server.url('/echo')}
    steps:
      - send: {{ text: hi }}
"""
    report = wsrun.run(
        text, vars=types.MappingProxyType({"word": "hello"}), requests=("templated",)
    )
    assert report.passed, report.requests[0].failure_text
    assert [r.name for r in report.requests] == ["templated"]


def test_validate_reads_vars_files(tmp_path):
    vars_file = tmp_path / "vars.yaml"
    vars_file.write_text("host: example.org\n")
    with pytest.raises(wsrun.CollectionError):
        wsrun.validate(UNKNOWN_VAR)
    assert wsrun.validate(UNKNOWN_VAR, vars_files=[vars_file]) == 1
    assert wsrun.validate(UNKNOWN_VAR, vars_files=[str(vars_file)]) == 1


def test_run_reads_vars_files(tmp_path, server):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text('{"word": "hello"}')
    text = f"""\
requests:
  - name: templated
    url: {server.url('/echo')}
    steps:
      - send: {{ text: "{{{{ word }}}}" }}
      - expect: {{ text: hello }}
"""
    report = wsrun.run(text, vars_files=[vars_file])
    assert report.passed, report.requests[0].failure_text


def test_secrets_with_braces_are_taken_literally_and_vars_file_errors_quote_nothing(
    tmp_path, server
):
    vars_file = tmp_path / "vars.yaml"
    vars_file.write_text('pass: "p{{4ss-secret"\n')
    text = f"""\
secrets: [pass]
requests:
  - name: braces
    url: {server.url('/echo')}
    steps:
      - send: {{ text: "{{{{ token }}}} {{{{ pass }}}}" }}
      - expect: {{ text: nope }}
"""
    report = wsrun.run(text, secrets={"token": "t{{0ken-secret"}, vars_files=[vars_file])
    failure = report.requests[0].failure_text
    assert 'actual    "*** ***"' in failure, failure
    assert "4ss-secret" not in repr(report.to_dict())
    assert "0ken-secret" not in repr(report.to_dict())

    vars_file.write_text('pass: "p4ss-secret\n')
    with pytest.raises(wsrun.CollectionError) as e:
        wsrun.run(text, vars_files=[vars_file])
    assert str(e.value).endswith("vars.yaml:1:7: unclosed quote"), str(e.value)
    assert e.value.snippet is None
    assert "4ss-secret" not in repr(e.value.__dict__)
