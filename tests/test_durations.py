"""core/durations.py: what parses, and what a wrong duration is told to write instead."""

from __future__ import annotations

import pytest

from mlmon_codegen.core import durations


@pytest.mark.parametrize(("text", "ms"), [("30s", 30_000), ("5m", 300_000), ("1h30m", 5_400_000),
                                          ("1w", 7 * 86_400_000), ("250ms", 250), (" 2d ", 172_800_000)])
def test_valid_durations_parse(text: str, ms: int) -> None:
    assert durations.parse(text) == ms


@pytest.mark.parametrize(("given", "said"), [
    # A YAML `15` is an int; quoted "15" a string: both are told which units they might mean.
    (15, "15 has no unit (hint: durations need a unit: 15m? 15s? 15h?"),
    ("15", "'15' has no unit (hint: durations need a unit: 15m? 15s? 15h?"),
    (30, "30 has no unit (hint: durations need a unit: 30m? 30s? 30h? 30d?"),
    (300, "300 has no unit (hint: durations need a unit: 300m? 300s?"),
    (1.5, "1.5 has no unit (hint: durations need a unit: 90s? 90m?"),
    (15.0, "15.0 has no unit (hint: durations need a unit: 15m? 15s? 15h?)"),
    ("15 m", "'15 m' is not a duration: no spaces inside a duration (hint: write 15m)"),
    ("1h 30m", "'1h 30m' is not a duration: no spaces inside a duration (hint: write 1h30m)"),
    ("1.5h", "'1.5h' is not a duration: the number must be whole (hint: use 90m)"),
    ("0.5d", "'0.5d' is not a duration: the number must be whole (hint: use 12h)"),
    ("2.5s", "'2.5s' is not a duration: the number must be whole (hint: use 2500ms)"),
    ("30 days", "'30 days' is not a duration; use a number and a unit, e.g. 30s, 5m, 1h, 30d "
                "(units: ms, s, m, h, d, w, y) (hint: write 30d)"),
    ("5 minutes", "(hint: write 5m)"),
    ("soon", "'soon' is not a duration; use a number and a unit"),
    ("", "'' is not a duration"),
    (True, "True is not a duration"),
])
def test_wrong_durations_say_what_to_write(given: object, said: str) -> None:
    with pytest.raises(durations.DurationError) as err:
        durations.parse(given)  # type: ignore[arg-type]
    assert said in str(err.value)
    assert str(err.value).count("(hint: ") == (1 if err.value.hint else 0)


def test_zero_is_refused() -> None:
    with pytest.raises(durations.DurationError, match="longer than zero"):
        durations.parse("0s")


def test_format_is_the_inverse_of_parse() -> None:
    for text in ("1d", "1h30m", "90s", "250ms"):
        assert durations.parse(durations.format_ms(durations.parse(text))) == durations.parse(text)
