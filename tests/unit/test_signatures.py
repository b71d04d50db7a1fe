"""``workcraft.signatures.misfit``: whether arguments bind, judged by their shape."""

from __future__ import annotations

from typing import Any

from workcraft.signatures import misfit


def add(a: int, b: int, c: int = 0) -> int:
    return a + b + c


def anything(*args: Any, **kwargs: Any) -> None:
    return None


def test_arguments_that_bind() -> None:
    assert misfit(add, 2, ()) is None
    assert misfit(add, 3, ()) is None
    assert misfit(add, 0, ("a", "b")) is None
    assert misfit(add, 1, ("b", "c")) is None
    assert misfit(anything, 7, ("x", "y")) is None


def test_why_arguments_do_not_bind() -> None:
    assert misfit(add, 1, ()) == "missing a required argument: 'b'"
    assert misfit(add, 4, ()) == "too many positional arguments"
    assert misfit(add, 2, ("d",)) == "got an unexpected keyword argument 'd'"
    assert misfit(add, 2, ("a",)) == "multiple values for argument 'a'"


def test_each_shape_is_answered_on_its_own() -> None:
    """A cached answer for one shape never leaks into another of the same function."""
    assert misfit(add, 1, ()) is not None
    assert misfit(add, 2, ()) is None
    assert misfit(add, 1, ()) is not None


def test_no_signature_leaves_it_to_the_call() -> None:
    assert misfit(min, 0, ("bogus",)) is None  # a builtin without a signature


def test_many_keywords_are_judged_the_same_without_the_cache() -> None:
    names = tuple(f"k{i}" for i in range(100))
    assert misfit(anything, 0, names) is None
    assert misfit(add, 2, names) == "got an unexpected keyword argument 'k0'"


def test_long_keyword_names_are_not_kept() -> None:
    """A sender's names are not cached when long: the cache cannot grow with payloads."""
    from workcraft.signatures import _cached_misfit

    before = _cached_misfit.cache_info().currsize
    for n in range(20):
        name = f"{n}" + "x" * 100_000
        assert misfit(add, 2, (name,)) == f"got an unexpected keyword argument '{name}'"
    assert _cached_misfit.cache_info().currsize == before
