"""Fuzzed command lines, config files and search spaces: every input either validates or is refused with a
clear error and a non-zero exit, never a traceback."""

import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganbench import cli
from ganbench.config import FIELDS, RunConfig
from ganbench.errors import ConfigError
from ganbench.tuning.space import build_space

# derandomized: CI sees the same examples on every run, so a red build is reproducible, not luck
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
RUN_OPTIONS = [p for p in cli.cli.commands["run"].params if p.param_type_name == "option" and p.name != "help"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["dcgan", "shapes", "hinge", "gp", "fid", "cpu", "cuda", "nan", "-1", "0", "1e-3"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
config_keys = st.sampled_from(sorted(FIELDS)) | st.text(min_size=1, max_size=10)


class Validated(Exception):
    """Raised where training would start: the input passed every check."""


@pytest.fixture
def stop_before_work(monkeypatch, tmp_path):
    def validated(*args, **kwargs):
        raise Validated

    monkeypatch.setattr("ganbench.training.runner.build_components", validated)
    monkeypatch.chdir(tmp_path)  # results of a valid run would land here


def _run_cli(args: list[str], monkeypatch) -> int:
    """ganbench's exit code for ``args``; 0 when they validated and training would start."""
    monkeypatch.setattr(sys, "argv", ["ganbench", *args])
    try:
        cli.main()
    except Validated:
        return 0
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def _option_value(option) -> st.SearchStrategy[list[str]]:
    flag = option.opts[-1]
    if option.is_flag:
        return st.just([flag])
    return st.lists(
        st.text(max_size=12) | st.sampled_from(["0", "-5", "1e9", "nan", "width=abc", "size=-1", "x=", "=1"]),
        min_size=1,
        max_size=2,
    ).map(lambda texts: [part for text in texts for part in (flag, text)])


command_lines = st.lists(st.sampled_from(RUN_OPTIONS).flatmap(_option_value), max_size=4).map(
    lambda parts: [arg for part in parts for arg in part]
)


@FUZZ
@given(args=command_lines)
def test_any_run_command_line_validates_or_exits_with_a_clear_error(args, stop_before_work, monkeypatch, capsys):
    code = _run_cli(["run", *args], monkeypatch)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code:
        assert code in (1, 2) and err.strip(), f"a refusal says why: {args}"


@FUZZ
@given(document=st.dictionaries(config_keys, values, max_size=5))
def test_any_config_file_validates_or_exits_with_a_clear_error(document, stop_before_work, monkeypatch, capsys):
    path = Path("config.yaml")
    path.write_text(yaml.safe_dump(document))
    code = _run_cli(["run", "--config", str(path)], monkeypatch)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code:
        assert code in (1, 2) and err.strip(), f"a refusal says why: {document}"


@FUZZ
@given(text=st.text(max_size=80))
def test_any_config_text_is_read_or_refused(text, stop_before_work, monkeypatch, capsys):
    for name in ("config.yaml", "config.toml"):
        Path(name).write_text(text)
        code = _run_cli(["run", "--config", name], monkeypatch)
        assert "Traceback" not in capsys.readouterr().err and code in (0, 1, 2)


@FUZZ
@given(
    overrides=st.dictionaries(
        st.sampled_from(["lr_g", "batch_size", "n_disc", "augment", "beta1"]) | config_keys, values, max_size=4
    )
)
def test_any_search_space_builds_or_is_refused_with_a_config_error(overrides, registry):
    try:
        space = build_space(RunConfig(), registry, overrides)
    except ConfigError as error:
        assert str(error)
    else:
        assert set(space.distributions).isdisjoint(space.fixed)
