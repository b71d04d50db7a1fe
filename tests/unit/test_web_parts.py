"""The dashboard's parts that need no database: binding rules, credentials, basic auth
headers, CSRF tokens, the chart's geometry and the page formats."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from workcraft.errors import UsageError
from workcraft.web import csrf
from workcraft.web.auth import authorized
from workcraft.web.chart import nice_ceiling, throughput_chart
from workcraft.web.format import num, seconds, short_id, when
from workcraft.web.options import Credentials, WebOptions, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.53", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("dashboard.example.com", False),
    ],
)
def test_only_loopback_may_go_without_a_password(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        WebOptions(host=host).check_binding()
    else:
        with pytest.raises(UsageError, match="--auth USER:PASSWORD"):
            WebOptions(host=host).check_binding()
        WebOptions(host=host, auth=Credentials("u", "p")).check_binding()


def test_credentials_parse_user_and_password_and_never_show_the_password() -> None:
    assert Credentials.parse("ops:a:b") == Credentials("ops", "a:b")
    for bad in ("ops", "ops:", ":secret", ""):
        with pytest.raises(UsageError):
            Credentials.parse(bad)
    assert "a:b" not in repr(Credentials.parse("ops:a:b"))


def header(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_basic_auth_header_must_match_exactly() -> None:
    credentials = Credentials("ops", "pässword")
    assert authorized(header("ops:pässword".encode()), credentials)
    assert authorized(header("ops:pässword".encode()).replace("Basic", "basic"), credentials)
    for wrong in (b"ops:password", b"ops", b"ops:p\xc3\xa4ssword2", b"Ops:p\xc3\xa4ssword"):
        assert not authorized(header(wrong), credentials)
    for garbage in (None, "", "Bearer x", "Basic !!!", "Basic"):
        assert not authorized(garbage, credentials)


def test_csrf_cookie_is_strict_http_only_and_the_token_well_formed() -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    request = Request({"type": "http", "headers": []})
    token, new = csrf.token(request)
    assert new and len(token) == 43
    response = Response()
    csrf.set_cookie(response, token)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    again = Request({"type": "http", "headers": [(b"cookie", f"{csrf.COOKIE}={token}".encode())]})
    assert csrf.token(again) == (token, False)


@pytest.mark.parametrize(
    ("peak", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (4_500, 5_000)]
)
def test_the_charts_scale_ends_on_a_round_number(peak: int, ceiling: int) -> None:
    assert nice_ceiling(peak) == ceiling


def test_chart_stacks_each_minute_and_drops_minutes_outside_the_hour() -> None:
    now = dt.datetime(2025, 1, 1, 12, 30, 40)
    minute = dt.datetime(2025, 1, 1, 12, 29)
    rows = [
        {"minute": minute, "status": "SUCCESS", "n": 30},
        {"minute": minute, "status": "FAILURE", "n": 10},
        {"minute": dt.datetime(2025, 1, 1, 11, 0), "status": "SUCCESS", "n": 999},  # too old
    ]
    chart = throughput_chart(rows, now, minutes=60)
    assert chart.total == 40 and chart.peak == 40
    success, failure = chart.bars
    assert (success.status, failure.status) == ("SUCCESS", "FAILURE")
    assert success.x == failure.x  # one column
    assert failure.y + failure.height == pytest.approx(success.y)  # stacked on top
    assert success.height == pytest.approx(3 * failure.height)
    assert chart.y_ticks[-1].label == "50"
    assert [t.label for t in chart.x_ticks] == ["11:45", "12:00", "12:15", "12:30"]
    assert success.title == "12:29 UTC: 30 SUCCESS"


def test_empty_chart_has_no_bars() -> None:
    chart = throughput_chart([], dt.datetime(2025, 1, 1, 12, 0), minutes=60)
    assert chart.bars == [] and chart.total == 0 and chart.y_ticks[-1].label == "1"


def test_formats() -> None:
    assert when(dt.datetime(2025, 1, 2, 3, 4, 5, 678)) == "2025-01-02 03:04:05"
    assert when("2025-01-02T03:04:05.678+00:00") == "2025-01-02 03:04:05"
    assert when("2025-01-02T05:04:05+02:00") == "2025-01-02 03:04:05"
    assert when(None) == "-"
    assert num(1234567) == "1,234,567" and num(None) == "-"
    assert seconds(0.0042) == "4 ms" and seconds(90) == "90 s" and seconds(None) == "-"
    assert short_id("0192f1a2-7c3d-7e4f-8a9b-0c1d2e3f4a5b") == "0192f1a2…4a5b"
    assert short_id("short") == "short"
