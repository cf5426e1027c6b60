import pytest

from ganbench.errors import ConfigError
from ganbench.tuning.settings import SearchSettings, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("8h", 28800), ("1h30m", 5400), ("0.5d", 43200)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "8 hours", "h", "-5m"])
def test_durations_that_are_not_refused_with_an_example(text):
    with pytest.raises(ConfigError, match="--timeout"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"trials": 0}, "--trials"),
        ({"sampler": "grid"}, "--sampler"),
        ({"pruner": "sha"}, "--pruner"),
        ({"confirm_seeds": -1}, "--confirm-seeds -1 must be 0"),
    ],
)
def test_invalid_settings_name_the_option(settings, named):
    with pytest.raises(ConfigError, match=named):
        SearchSettings(**settings)
