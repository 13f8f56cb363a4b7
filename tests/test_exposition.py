"""spec/exposition: reading a /metrics text (file, URL, or a Prometheus server's API) into
families, located errors for whatever is not an exposition, and `unmet` naming the one reason a
wanted selector finds no series."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlmon_codegen.core.errors import SpecError
from mlmon_codegen.spec import exposition as ex
from mlmon_codegen.spec.exposition import Need, from_prometheus, read, read_text, unmet

# A made-up wine-scoring service. The two models spell the 1-second bound differently, as a
# Python client ("1.0") and a Go client ("1") would.
WINE = """\
# HELP wine_requests_total Bottles scored, by outcome.
# TYPE wine_requests_total counter
wine_requests_total{status="200",model="cellar"} 41
wine_requests_total{model="cellar",status="503"} 2
wine_requests_total{model="tasting",status="200"} 7
# HELP wine_latency_seconds Time to score one bottle.
# TYPE wine_latency_seconds histogram
wine_latency_seconds_bucket{model="cellar",le="0.1"} 10
wine_latency_seconds_bucket{model="cellar",le="0.5"} 30
wine_latency_seconds_bucket{model="cellar",le="1.0"} 40
wine_latency_seconds_bucket{model="cellar",le="+Inf"} 43
wine_latency_seconds_sum{model="cellar"} 12.5
wine_latency_seconds_count{model="cellar"} 43
wine_latency_seconds_bucket{model="tasting",le="0.1"} 1
wine_latency_seconds_bucket{model="tasting",le="0.5"} 2
wine_latency_seconds_bucket{model="tasting",le="1"} 3
wine_latency_seconds_bucket{model="tasting",le="+Inf"} 3
wine_latency_seconds_sum{model="tasting"} 1.5
wine_latency_seconds_count{model="tasting"} 3

# HELP wine_queue_depth Bottles waiting to be scored.
# TYPE wine_queue_depth gauge
wine_queue_depth{note="say \\"cheers\\"\\nthen pour"} 3
# TYPE corks_pulled counter
corks_pulled 5
stray_metric{code="x"} 1
stray_metric 2
"""


@pytest.fixture(scope="module")
def wine() -> ex.Exposition:
    return read_text(WINE, "wine.txt")


def problem_of(call: Callable[[], Any]) -> ex.Problem:
    with pytest.raises(SpecError) as caught:
        call()
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


# --- parsing -----------------------------------------------------------------------------------


def test_families_keep_their_types_and_base_names(wine: ex.Exposition) -> None:
    by_name = {f.name: f for f in wine.families}
    # prometheus_client strips _total from a counter's family name; the samples keep it.
    assert by_name["wine_requests"].type == "counter"
    assert {s.name for s in by_name["wine_requests"].samples} == {"wine_requests_total"}
    assert by_name["wine_requests"].help == "Bottles scored, by outcome."
    assert by_name["wine_latency_seconds"].type == "histogram"
    assert {s.name for s in by_name["wine_latency_seconds"].samples} == {
        "wine_latency_seconds_bucket", "wine_latency_seconds_sum", "wine_latency_seconds_count"}
    assert by_name["wine_queue_depth"].type == "gauge"
    # `# TYPE corks_pulled counter` with a sample `corks_pulled`: Prometheus stores `corks_pulled`.
    assert [s.name for s in by_name["corks_pulled"].samples] == ["corks_pulled"]
    # The untyped samples of one name are one family, not one family each.
    assert by_name["stray_metric"].type == "untyped"
    assert len(by_name["stray_metric"].samples) == WINE.count("\nstray_metric")


def test_samples_labels_are_sorted_and_unescaped(wine: ex.Exposition) -> None:
    first = wine.family_of("wine_requests_total").samples[0]  # type: ignore[union-attr]
    assert first.labels == (("model", "cellar"), ("status", "200"))
    assert first.value == 41.0
    assert wine.series("wine_queue_depth") == [{"note": 'say "cheers"\nthen pour'}]


def test_helpers_series_family_of_metric_names(wine: ex.Exposition) -> None:
    assert len(wine.series("wine_latency_seconds_bucket")) == WINE.count("wine_latency_seconds_bucket{")
    assert {"model": "tasting", "le": "1"} in wine.series("wine_latency_seconds_bucket")
    assert wine.series("wine_latency_seconds") == []  # no sample has the bare histogram name
    assert wine.family_of("wine_latency_seconds_count").name == "wine_latency_seconds"  # type: ignore[union-attr]
    assert wine.family_of("wine_requests") is None  # a family name, not a sample name
    assert "wine_requests_total" in wine.metric_names()
    assert "wine_requests" not in wine.metric_names()
    assert {"corks_pulled", "stray_metric", "wine_queue_depth"} <= wine.metric_names()


OPENMETRICS = """\
# TYPE jobs counter
# HELP jobs Retraining jobs started.
jobs_total{pipeline="nightly"} 4
jobs_created{pipeline="nightly"} 1700000000
# TYPE build info
build_info{version="1.2.3"} 1
# TYPE score_seconds histogram
score_seconds_bucket{le="0.25"} 1
score_seconds_bucket{le="+Inf"} 2
score_seconds_count 2
score_seconds_sum 0.7
mystery 3
# EOF
"""


def test_openmetrics_input() -> None:
    got = read_text(OPENMETRICS, "om.txt")
    types = {f.name: f.type for f in got.families}
    assert types == {"jobs": "counter", "build": "info", "score_seconds": "histogram", "mystery": "unknown"}
    assert got.series("jobs_total") == [{"pipeline": "nightly"}]
    assert got.family_of("jobs_created").name == "jobs"  # type: ignore[union-attr]
    assert got.series("build_info") == [{"version": "1.2.3"}]


def test_a_broken_line_is_located() -> None:
    lines = WINE.splitlines()
    planted = 9
    lines.insert(planted - 1, 'wine_latency_seconds_bucket{model="cellar" le="0.2"} 12')
    problem = problem_of(lambda: read_text("\n".join(lines), "broken.txt"))
    assert (problem.file, problem.line) == ("broken.txt", planted)
    assert 'le=\\"0.2\\"' in problem.message or 'le="0.2"' in problem.message
    assert "/metrics" in problem.hint


def test_a_broken_line_deep_in_a_big_exposition_is_located() -> None:
    good = [f'big_total{{shard="{i}",path="/a/very/long/path/for/padding/{i}"}} {i}' for i in range(20_000)]
    planted = 19_000
    good.insert(planted - 1, "big_total{shard=1} 1")  # an unquoted label value
    text = "# TYPE big_total counter\n" + "\n".join(good) + "\n"
    assert len(text) > 1_000_000
    problem = problem_of(lambda: read_text(text, "big.txt"))
    assert problem.line == planted + 1  # the TYPE line comes first
    assert "shard=1" in problem.message


def test_a_family_wide_error_points_at_the_family() -> None:
    # OpenMetrics checks a histogram when it ends: the +Inf bucket is missing here.
    lines = OPENMETRICS.splitlines()
    start = lines.index("# TYPE score_seconds histogram") + 1
    lines.remove('score_seconds_bucket{le="+Inf"} 2')
    lines[lines.index("score_seconds_count 2")] = "score_seconds_count 1"
    problem = problem_of(lambda: read_text("\n".join(lines) + "\n", "om.txt"))
    assert problem.line == start
    assert "+Inf" in problem.message


def test_an_unknown_type_is_located() -> None:
    text = "# TYPE ok gauge\nok 1\n# TYPE shouty Counter\nshouty 1\n# TYPE after gauge\nafter 2\n"
    problem = problem_of(lambda: read_text(text, "t.txt"))
    assert problem.line == text.splitlines().index("# TYPE shouty Counter") + 1
    assert "Counter" in problem.message
    # After a stray untyped sample, which the 0.0.4 parser closes on its own line.
    text = "stray 1\n\n# TYPE shouty Counter\nshouty 1\n"
    assert problem_of(lambda: read_text(text, "t.txt")).line == text.splitlines().index("# TYPE shouty Counter") + 1


@pytest.mark.parametrize("page", ["<!DOCTYPE html>\n<html><body>Grafana</body></html>",
                                  "\n  <html lang='en'><head></head></html>"])
def test_html_is_named_as_such(page: str) -> None:
    problem = problem_of(lambda: read_text(page, "page"))
    assert "HTML page" in problem.message
    assert "/metrics" in problem.hint


@pytest.mark.parametrize("text", ["", " \n\n\t\n"])
def test_empty(text: str) -> None:
    assert "empty" in problem_of(lambda: read_text(text, "e.txt")).message


def test_binary(tmp_path: Path) -> None:
    assert "binary" in problem_of(lambda: read_text("\x08\x96\x01\x00\x12", "p")).message
    body = tmp_path / "metrics.pb"
    body.write_bytes(b"\n\x0bwine_things\x12\x00\x18\x00\"\x02\x00\x00")
    problem = problem_of(lambda: read(str(body)))
    assert "binary" in problem.message and "protobuf" in problem.message


def test_file_not_utf8_is_located(tmp_path: Path) -> None:
    body = tmp_path / "latin1.txt"
    body.write_bytes('ok 1\nvin{region="Rh\xf4ne"} 2\n'.encode("latin-1"))
    problem = problem_of(lambda: read(str(body)))
    assert problem.line == 2
    assert "0xf4" in problem.message


def test_files(tmp_path: Path) -> None:
    saved = tmp_path / "wine.txt"
    saved.write_text(WINE, encoding="utf-8")
    assert read(str(saved)).metric_names() == read_text(WINE, "x").metric_names()
    assert read(str(saved)).source == str(saved)
    missing = str(tmp_path / "nope.txt")
    problem = problem_of(lambda: read(missing))
    assert problem.file == missing and "cannot read" in problem.message
    assert "cannot read" in problem_of(lambda: read(str(tmp_path))).message  # a folder


@pytest.mark.parametrize("source", ["ftp://127.0.0.1/metrics", "file:///etc/hostname", "gopher://x/"])
def test_other_schemes_are_refused(source: str) -> None:
    problem = problem_of(lambda: read(source))
    assert problem.file == source
    assert source.split(":")[0] in problem.message and "http" in problem.hint


# --- URLs --------------------------------------------------------------------------------------

Route = Callable[[dict[str, list[str]]], tuple[int, dict[str, str], bytes]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self.server.seen.append((url.path, urllib.parse.parse_qs(url.query), dict(self.headers)))
        route = self.server.routes.get(url.path)
        status, headers, body = route(urllib.parse.parse_qs(url.query)) if route else (404, {}, b"not found")
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that timed out
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def text(body: str, content_type: str = "text/plain; version=0.0.4; charset=utf-8") -> Route:
    return lambda query: (200, {"Content-Type": content_type}, body.encode())


def test_url_good_exposition(server: _Server) -> None:
    server.routes["/metrics"] = text(WINE)
    got = read(server.url + "/metrics")
    assert got.source == server.url + "/metrics"
    assert got.metric_names() == read_text(WINE, "x").metric_names()
    accept = server.seen[0][2]["Accept"]
    assert accept.startswith("text/plain;version=0.0.4") and "openmetrics" not in accept


def test_url_404(server: _Server) -> None:
    problem = problem_of(lambda: read(server.url + "/metricz"))
    assert problem.file == server.url + "/metricz"
    assert "HTTP 404" in problem.message
    assert "/metrics" in problem.hint


def test_url_html(server: _Server) -> None:
    server.routes["/"] = text("<!doctype html><html><title>Wine</title></html>", "text/html")
    assert "HTML page" in problem_of(lambda: read(server.url + "/")).message


def test_url_protobuf(server: _Server) -> None:
    server.routes["/metrics"] = text("\n\x03abc", "application/vnd.google.protobuf; proto=io.prometheus.client")
    assert "protobuf" in problem_of(lambda: read(server.url + "/metrics")).message


def test_url_redirects(server: _Server) -> None:
    server.routes["/metrics"] = text(WINE)
    server.routes["/old"] = lambda query: (302, {"Location": "/metrics"}, b"")
    server.routes["/away"] = lambda query: (302, {"Location": "ftp://127.0.0.1/metrics"}, b"")
    assert "corks_pulled" in read(server.url + "/old").metric_names()
    problem = problem_of(lambda: read(server.url + "/away"))
    assert "ftp://127.0.0.1/metrics" in problem.message and "refused" in problem.message


def test_url_timeout(server: _Server) -> None:
    def slow(query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        time.sleep(1.0)
        return 200, {}, WINE.encode()

    server.routes["/metrics"] = slow
    problem = problem_of(lambda: read(server.url + "/metrics", timeout_s=0.2))
    assert "no answer within 0.2 s" in problem.message


def test_url_refused() -> None:
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/metrics"
    problem = problem_of(lambda: read(url, timeout_s=2))
    assert problem.file == url
    assert "connection refused" in problem.message
    assert "running" in problem.hint


def test_url_credentials_are_sent_and_not_shown(server: _Server) -> None:
    server.routes["/metrics"] = text(WINE)
    login = server.url.replace("//", "//scorer:s3cret-pw@")
    assert "corks_pulled" in read(login + "/metrics").metric_names()
    sent = server.seen[-1][2]["Authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")) == b"scorer:s3cret-pw"
    with pytest.raises(SpecError) as caught:
        read(login + "/metricz")
    assert "s3cret-pw" not in str(caught.value)
    assert "HTTP 404" in str(caught.value)


# --- unmet -------------------------------------------------------------------------------------


def need(metric: str, *matchers: tuple[str, str, str], kind: str = "counter", le: tuple[float, ...] = ()) -> Need:
    return Need(metric, tuple(matchers), kind, "metrics.errors", "availability SLO errors", le)


def test_met_needs(wine: ex.Exposition) -> None:
    assert unmet(wine, need("wine_requests_total", ("status", "=~", "5.."), ("model", "=", "cellar"))) is None
    assert unmet(wine, need("wine_requests_total", ("status", "!~", "2.."))) is None
    assert unmet(wine, need("wine_queue_depth", kind="gauge")) is None
    assert unmet(wine, need("wine_queue_depth", ("note", "=~", ".*cheers.*pour"), kind="gauge")) is None  # `.` eats \n
    assert unmet(wine, need("corks_pulled")) is None
    # A histogram's _count is a counter.
    assert unmet(wine, need("wine_latency_seconds_count", ("model", "=", "tasting"))) is None
    # Untyped serves counters and gauges alike.
    assert unmet(wine, need("stray_metric")) is None
    assert unmet(wine, need("stray_metric", kind="gauge")) is None


def test_missing_metric_did_you_mean(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("wine_request_total"))
    assert miss is not None
    assert "`wine_request_total` is not in the exposition" in miss.reason
    assert "wine_requests_total" in miss.hint


def test_missing_histogram_names_a_histogram_like_it(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("wine_latency_secs", kind="histogram", le=(0.5,)))
    assert miss is not None and "wine_latency_secs_bucket" in miss.reason
    assert "a histogram named like it: wine_latency_seconds" in miss.hint


def test_missing_counter_sample_of_a_named_family(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("wine_requests"))  # the family name, not the sample name
    assert miss is not None and "not in the exposition" in miss.reason
    assert "wine_requests_total" in miss.hint


def test_missing_and_nothing_alike(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("zzz_qqq_xxx"))
    assert miss is not None and "is the right service" in miss.hint


@pytest.mark.parametrize(("metric", "kind", "said"), [
    ("wine_requests", "histogram", "is a counter, not a histogram"),  # the counter's family name
    ("wine_queue_depth", "histogram", "is a gauge, not a histogram"),
    ("stray_metric", "histogram", "is an untyped, not a histogram"),  # only the name without _bucket
    ("wine_queue_depth", "counter", "is a gauge; rate() of a gauge is wrong"),
    ("wine_requests_total", "gauge", "is a counter, not a gauge"),
])
def test_wrong_type(wine: ex.Exposition, metric: str, kind: str, said: str) -> None:
    miss = unmet(wine, need(metric, kind=kind))
    assert miss is not None
    assert said in miss.reason


def test_label_missing_names_the_labels_there(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("wine_requests_total", ("code", "=~", "5..")))
    assert miss is not None
    assert "has no label `code`" in miss.reason
    assert "model" in miss.hint and "status" in miss.hint


def test_label_value_not_matching_lists_the_values(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("wine_requests_total", ("status", "=~", "4..")))
    assert miss is not None
    assert 'status has 200, 503; none matches =~"4.."' in miss.reason


def test_value_miss_among_the_series_the_earlier_matchers_kept(wine: ex.Exposition) -> None:
    # tasting only ever answered 200: each matcher alone matches, not both.
    miss = unmet(wine, need("wine_requests_total", ("model", "=", "tasting"), ("status", "!=", "200")))
    assert miss is not None
    assert 'model="tasting"' in miss.reason
    assert 'status has 200; none matches !="200"' in miss.reason


def test_value_hints(wine: ex.Exposition) -> None:
    typo = unmet(wine, need("wine_requests_total", ("model", "=", "celar")))
    assert typo is not None and 'did you mean model="cellar"?' in typo.hint
    unanchored = unmet(wine, need("wine_requests_total", ("status", "=~", "50")))
    assert unanchored is not None and "whole value" in unanchored.hint


def test_absent_label_counts_as_empty(wine: ex.Exposition) -> None:
    # In Prometheus `code=""` selects the series without `code`, and `=~".*"` selects everything.
    assert unmet(wine, need("wine_requests_total", ("code", "=", ""))) is None
    assert unmet(wine, need("wine_requests_total", ("code", "=~", ".*"))) is None
    assert unmet(wine, need("wine_requests_total", ("code", "!=", "500"))) is None
    assert unmet(wine, need("stray_metric", ("code", "=", ""))) is None  # its series without code
    assert unmet(wine, need("stray_metric", ("code", "!=", "x"))) is None
    nothing = unmet(wine, need("stray_metric", ("code", "!~", "x|")))
    assert nothing is not None and "(absent), x" in nothing.reason
    assert "has no label `code`" in (unmet(wine, need("wine_requests_total", ("code", "=~", ".+"))) or
                                     ex.Miss(need("x"), "", "")).reason


def test_histogram_bounds_compare_as_floats(wine: ex.Exposition) -> None:
    for model in ("cellar", "tasting"):  # "1.0" and "1"
        assert unmet(wine, need("wine_latency_seconds", ("model", "=", model), kind="histogram",
                                le=(float("1e0"), 0.1, math.inf))) is None


def test_missing_bucket_names_the_nearest(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("wine_latency_seconds", ("model", "=", "cellar"), kind="histogram", le=(0.25, 0.5)))
    assert miss is not None
    assert "no bucket le=0.25" in miss.reason and "0.5," not in miss.reason
    assert "nearest to 0.25: 0.1 and 0.5" in miss.hint
    assert "+Inf" in miss.hint


def test_histogram_without_count() -> None:
    only_buckets = read_text('# TYPE lag histogram\nlag_bucket{le="1"} 1\nlag_bucket{le="+Inf"} 1\n', "b")
    miss = unmet(only_buckets, need("lag", kind="histogram", le=(1.0,)))
    assert miss is not None and "has no `lag_count`" in miss.reason
    # _count without the label the buckets have (`le` is not asked of _count).
    odd = read_text('# TYPE lag histogram\nlag_bucket{le="+Inf",model="m"} 1\nlag_count 1\nlag_sum 1\n', "b")
    assert unmet(odd, need("lag", ("model", "=", "m"), kind="histogram")) is not None
    assert unmet(odd, need("lag", ("le", "=~", ".+"), kind="histogram")) is None


def test_bad_regex_is_a_miss_not_a_crash(wine: ex.Exposition) -> None:
    miss = unmet(wine, need("wine_requests_total", ("status", "=~", "5(")))
    assert miss is not None and "not a valid regex" in miss.reason


# --- from a Prometheus server ------------------------------------------------------------------

STORED = [
    {"__name__": "wine_requests_total", "job": "wine", "model": "cellar", "status": "200"},
    {"__name__": "wine_requests_total", "job": "wine", "model": "cellar", "status": "503"},
    *({"__name__": "wine_latency_seconds_bucket", "job": "wine", "model": "cellar", "le": le}
      for le in ("0.1", "0.5", "1.0", "+Inf")),
    {"__name__": "wine_latency_seconds_count", "job": "wine", "model": "cellar"},
    {"__name__": "wine_queue_depth", "job": "wine"},
    {"__name__": "jobs_total", "job": "trainer"},
    {"__name__": "job:wine_errors:rate5m", "job": "wine"},
]
METADATA = {  # as /api/v1/metadata keys it: the name on each TYPE line
    "wine_requests_total": [{"type": "counter", "help": "Bottles scored.", "unit": ""}],
    "wine_latency_seconds": [{"type": "histogram", "help": "Time to score.", "unit": ""}],
    "wine_queue_depth": [{"type": "gauge", "help": "Waiting.", "unit": ""}],
    "jobs": [{"type": "counter", "help": "Scraped as OpenMetrics.", "unit": ""}],
}


def fake_prometheus(server: _Server, prefix: str = "") -> None:
    def series(query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        names = {m.split('"')[1] for m in query.get("match[]", [])}  # {__name__="NAME"}
        data = [s for s in STORED if s["__name__"] in names]
        return 200, {"Content-Type": "application/json"}, json.dumps({"status": "success", "data": data}).encode()

    server.routes[prefix + "/api/v1/series"] = series
    server.routes[prefix + "/api/v1/metadata"] = lambda query: (
        200, {"Content-Type": "application/json"}, json.dumps({"status": "success", "data": METADATA}).encode())


def test_from_prometheus(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_prometheus(server, "/prom")
    monkeypatch.setattr(ex, "SERIES_BATCH", 2)
    names = [*sorted({s["__name__"] for s in STORED}), "never_scraped"]
    got = from_prometheus(server.url + "/prom/", names)
    by_name = {f.name: f for f in got.families}
    assert by_name["wine_requests"].type == "counter"
    assert by_name["wine_requests"].help == "Bottles scored."
    assert by_name["wine_latency_seconds"].type == "histogram"
    assert {s.name for s in by_name["wine_latency_seconds"].samples} == {
        "wine_latency_seconds_bucket", "wine_latency_seconds_count"}
    assert by_name["jobs"].type == "counter"  # metadata keyed `jobs`, the sample is jobs_total
    assert by_name["job:wine_errors:rate5m"].type == "unknown"  # no metadata for a recording rule
    assert got.series("wine_queue_depth") == [{"job": "wine"}]
    assert all(s.value == 0 for f in got.families for s in f.samples)
    assert "never_scraped" not in got.metric_names()

    series_calls = [q for path, q, _ in server.seen if path == "/prom/api/v1/series"]
    assert len(series_calls) == math.ceil(len(names) / 2)
    asked = [m for q in series_calls for m in q["match[]"]]
    assert len(asked) == len(names) and all(any(n in m for m in asked) for n in names)
    assert all(abs(float(q["start"][0]) - (time.time() - 3600)) < 60 for q in series_calls)
    assert [path for path, _, _ in server.seen].count("/prom/api/v1/metadata") == 1

    wanted = need("wine_latency_seconds", ("model", "=", "cellar"), kind="histogram", le=(0.5, 1.0))
    assert set(ex.wanted_names(wanted)) <= got.metric_names()
    assert unmet(got, wanted) is None
    assert unmet(got, need("wine_queue_depth")) is not None  # a gauge, from the metadata


def test_from_prometheus_not_an_api(server: _Server) -> None:
    server.routes["/api/v1/series"] = text("<html>Grafana</html>", "text/html")
    problem = problem_of(lambda: from_prometheus(server.url, ["wine_queue_depth"]))
    assert "not a Prometheus API" in problem.message
    assert problem.file.startswith(server.url + "/api/v1/series")


def test_from_prometheus_error_reply(server: _Server) -> None:
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": "invalid parameter \"start\""})
    server.routes["/api/v1/series"] = lambda query: (400, {"Content-Type": "application/json"}, body.encode())
    problem = problem_of(lambda: from_prometheus(server.url, ["wine_queue_depth"]))
    assert "HTTP 400" in problem.message and "invalid parameter" in problem.message


def test_from_prometheus_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert "connection refused" in problem_of(
        lambda: from_prometheus(f"http://127.0.0.1:{port}", ["up"], timeout_s=2)).message
