"""Read a Prometheus exposition and say whether a selector mlmon will generate can match it.

The input side of `mlmon init --from-metrics` and `mlmon verify --metrics URL_OR_FILE`: the
series come from a service's /metrics text (a URL or a saved file) or from what a Prometheus
server has stored (`from_prometheus`); `unmet` then names, in one reason and one hint, why a
wanted selector finds nothing. Bad input is a located Problem in a SpecError, never a traceback.
"""

from __future__ import annotations

import base64
import difflib
import functools
import http.client
import io
import json
import math
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_fd_to_metric_families as _parse_openmetrics
from prometheus_client.parser import text_fd_to_metric_families as _parse_text

from mlmon_codegen.core import naming, promql
from mlmon_codegen.core.errors import Problem, SpecError

MAX_BYTES = 50 * 1024 * 1024  # a huge exposition is ~10 MB; the cap keeps a wrong URL from filling memory
TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped", "info", "stateset",
                   "gaugehistogram", "unknown"})
KINDS = ("histogram", "counter", "gauge")
OPS = ("=", "!=", "=~", "!~")
# No OpenMetrics in the list: prometheus_client's servers answer OpenMetrics as soon as the header
# names it, whatever its q-value, and the 0.0.4 text is what every client can serve.
ACCEPT = "text/plain;version=0.0.4;q=1.0,*/*;q=0.1"
SERIES_BATCH = 20  # match[] per /api/v1/series request: few requests, URLs well under 8 KB

_TYPELESS = ("untyped", "unknown")  # Prometheus stores these like any other: they match any kind
# The sample names a family of each type adds to its base name (OpenMetrics' list).
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "info": ("_info",),
}
_NOT_METRICS = "is this a Prometheus /metrics text exposition?"
_UNREACHABLE = "is the service running? is the path /metrics?"
_NOT_API = "give the Prometheus server's base URL, e.g. http://localhost:9090"
_SAVE = "give the path of a saved exposition (`curl -s http://HOST:PORT/metrics > metrics.txt`) or its URL"


@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]  # sorted by label name
    value: float


@dataclass(frozen=True)
class Family:
    name: str  # the base name: `foo` for a counter whose samples are `foo_total`, as the parsers give it
    type: str  # one of TYPES
    help: str
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class Exposition:
    source: str  # the URL or file it came from, for messages
    families: tuple[Family, ...]

    @functools.cached_property
    def _index(self) -> tuple[dict[str, list[Sample]], dict[str, Family]]:
        """Samples by sample name, and the first family holding each name (stray untyped samples
        can put one name in two families)."""
        samples: dict[str, list[Sample]] = {}
        owner: dict[str, Family] = {}
        for family in self.families:
            for sample in family.samples:
                samples.setdefault(sample.name, []).append(sample)
                owner.setdefault(sample.name, family)
        return samples, owner

    def series(self, metric: str) -> list[dict[str, str]]:
        """The label sets of every sample named exactly `metric` (`foo_bucket`, `foo_total`)."""
        return [dict(s.labels) for s in self._index[0].get(metric, ())]

    def family_of(self, sample_name: str) -> Family | None:
        return self._index[1].get(sample_name)

    def metric_names(self) -> set[str]:
        return set(self._index[0])


@dataclass(frozen=True)
class Need:
    """One selector mlmon will generate. `metric` is the base name for a histogram (the series
    read are `<metric>_bucket` and `<metric>_count`) and the sample name for a counter or gauge."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...]  # PromQL (label, op, value), op in OPS
    kind: str  # one of KINDS
    field: str  # the spec field that asks for it, e.g. "metrics.errors"
    why: str  # a short phrase, e.g. "availability SLO errors"
    le: tuple[float, ...] = ()  # bucket bounds the histogram must have


@dataclass(frozen=True)
class Miss:
    need: Need
    reason: str
    hint: str


# --- reading -------------------------------------------------------------------------------------


def _fail(source: str, message: str, hint: str = "", line: int = 0) -> SpecError:
    return SpecError([Problem(source, line, 1 if line else 0, "", message, hint)])


def read_text(text: str, source: str) -> Exposition:
    """Parse Prometheus text format 0.0.4, or OpenMetrics text when it has a `# EOF` line."""
    if "\x00" in text[:8192]:
        raise _binary(source)
    if not text.strip():
        raise _fail(source, "the exposition is empty: no metrics",
                    "is the path /metrics? does the service register its metrics at start-up?")
    head = text.lstrip()[:1024].lower()
    if head.startswith("<") and ("<html" in head or "<!doctype" in head):
        raise _fail(source, "this is an HTML page, not a Prometheus exposition",
                    "give the /metrics path, e.g. http://HOST:PORT/metrics")
    text = text.replace("\r\n", "\n")  # saved on Windows; line numbers stay the same
    openmetrics = re.search(r"^# EOF$", text, re.MULTILINE) is not None
    return Exposition(source, _families(_parse(text, source, openmetrics), text, openmetrics))


def _parse(text: str, source: str, openmetrics: bool) -> list[Metric]:
    """prometheus_client's parser over the text, counting lines so that a failure names its line:
    one pass, however big the exposition."""
    at = [0]  # the line the parser is reading

    def lines() -> Iterator[str]:
        for number, line in enumerate(io.StringIO(text), 1):
            at[0] = number
            yield line

    metrics: list[Metric] = []
    yielded_at = 0  # the line being read when the last family came out: the next one starts there
    try:
        for metric in (_parse_openmetrics if openmetrics else _parse_text)(lines()):
            metrics.append(metric)
            yielded_at = at[0]
    except Exception as exc:  # ValueError mostly, but garbage can raise IndexError, KeyError, ...
        all_lines = text.split("\n")
        line, what = at[0], "cannot parse line"
        if _raised_in(exc, "build_metric"):
            # A family-wide check (histogram buckets, clashing names, the TYPE) failed when the
            # family ended: point at where it began, not at the line after it.
            line, what = _family_start(all_lines, yielded_at, line, openmetrics), "invalid metric family at"
        shown = all_lines[line - 1] if 0 < line <= len(all_lines) else ""
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        why = str(exc).strip()
        why = f" ({why if len(why) <= 120 else why[:117] + '...'})" if why else ""
        raise _fail(source, f"{what} {shown!r}{why}", _NOT_METRICS, line) from None
    return metrics


def _raised_in(exc: BaseException, function: str) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def _family_start(lines: list[str], yielded_at: int, failed_at: int, openmetrics: bool) -> int:
    """The first line of the family that failed as a whole: the line that closed the family
    before it, or the line after it when the text parser closed that one with a stray sample."""
    start = yielded_at or 1
    if yielded_at and not openmetrics and not lines[start - 1].lstrip().startswith("#"):
        start += 1
    while start < failed_at and not _opens_family(lines[start - 1]):
        start += 1
    return start


def _opens_family(line: str) -> bool:
    words = line.split()
    return bool(words) and (words[0] != "#" or words[1:2] in (["HELP"], ["TYPE"], ["UNIT"]))


def _families(metrics: list[Metric], text: str, openmetrics: bool) -> tuple[Family, ...]:
    # The 0.0.4 parser renames the samples of `# TYPE foo counter` to foo_total; Prometheus
    # stores them as `foo`, so undo it for counters declared without the suffix.
    declared = set() if openmetrics else set(re.findall(r"^[ \t]*#[ \t]+TYPE[ \t]+(\S+)[ \t]+counter[ \t]*$",
                                                        text, re.MULTILINE))
    bare = {name for name in declared if not name.endswith("_total") and name + "_total" not in declared}
    merged: dict[tuple[str, str], tuple[str, list[Sample]]] = {}
    for metric in metrics:
        kind = "untyped" if metric.type == "unknown" and not openmetrics else metric.type
        samples = merged.setdefault((metric.name, kind), (metric.documentation, []))[1]
        for s in metric.samples:
            name = metric.name if kind == "counter" and metric.name in bare and s.name == metric.name + "_total" \
                else s.name
            value = math.nan if s.value is None else float(s.value)  # a native histogram has none
            samples.append(Sample(name, tuple(sorted(s.labels.items())), value))
    # The 0.0.4 parser makes one family per sample of an untyped metric: merged above, by name.
    return tuple(Family(name, kind, doc, tuple(samples)) for (name, kind), (doc, samples) in merged.items())


def _binary(source: str) -> SpecError:
    return _fail(source, "the exposition is binary, not text (the protobuf format is not supported)",
                 "mlmon reads the Prometheus text format; save `curl -s URL` output, which is text")


def _decode(raw: bytes, source: str) -> str:
    if b"\x00" in raw[:8192]:
        raise _binary(source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _fail(source, f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                    "an exposition is UTF-8 text; protobuf and compressed replies are not supported", line) from None


def _scheme(source: str) -> str:
    try:
        return urllib.parse.urlsplit(source).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket: still a URL, one that _fetch will refuse
        return source.partition("://")[0].lower() if "://" in source else ""


def read(source: str, timeout_s: float = 5.0) -> Exposition:
    """The exposition at an http(s) URL, or in a file."""
    scheme = _scheme(source)
    if scheme in ("http", "https"):
        raw, content_type = _fetch(source, ACCEPT, timeout_s, _UNREACHABLE)
        if "protobuf" in content_type.lower():
            raise _binary(_shown(source))
        return read_text(_decode(raw, _shown(source)), _shown(source))
    # A one-letter scheme is a Windows drive; "file:", "ftp:" are refused, not guessed at.
    if len(scheme) > 1 and not os.path.exists(source):
        raise _fail(_shown(source), f"cannot read {scheme}: URLs", "give an http:// or https:// URL, or a file path")
    try:
        with open(source, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _fail(source, f"cannot read: {exc.strerror or exc}", _SAVE) from None
    if len(raw) > MAX_BYTES:
        raise _fail(source, f"the file is larger than the {MAX_BYTES // 2**20} MB limit", _SAVE)
    return read_text(_decode(raw, source), source)


def _shown(url: str) -> str:
    """The URL for messages, with any password in it hidden."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        head, _, rest = url.partition("://")
        return f"{head}://***@{rest.rpartition('@')[2]}" if "@" in rest else url
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


class _HttpRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects to ftp: too; a metrics endpoint has no business sending us there."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if _scheme(newurl) not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, f"redirect to {_shown(newurl)} refused", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpRedirects)


def _fetch(url: str, accept: str, timeout_s: float, hint: str) -> tuple[bytes, str]:
    """The body and Content-Type of a GET, or a SpecError saying why there is none."""
    shown = _shown(url)
    if _scheme(url) not in ("http", "https"):
        raise _fail(shown, "not an http:// or https:// URL", "give an http:// or https:// URL")
    headers = {"Accept": accept, "User-Agent": "mlmon"}
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.username is not None:  # urllib would take `user:pw@host` for the host name
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        request = urllib.request.Request(url, headers=headers)
        with _OPENER.open(request, timeout=timeout_s) as reply:
            body = reply.read(MAX_BYTES + 1)
            content_type = reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        detail = _error_detail(exc)
        exc.close()
        status_hint = "is the path right? a service serves /metrics" if exc.code == 404 else hint
        raise _fail(shown, f"HTTP {exc.code} {exc.reason}{detail}", status_hint) from None
    except urllib.error.URLError as exc:
        raise _fail(shown, *_unreachable(exc.reason, timeout_s, hint)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:  # a read timeout, a reset, a bad URL
        raise _fail(shown, *_unreachable(exc, timeout_s, hint)) from None
    if len(body) > MAX_BYTES:
        raise _fail(shown, f"the reply is larger than the {MAX_BYTES // 2**20} MB limit", hint)
    return body, content_type


def _unreachable(reason: object, timeout_s: float, hint: str) -> tuple[str, str]:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused", "is the service running, on this host and port?"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name ({reason.strerror})", "check the host name in the URL"
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout_s:g} s", hint
    return f"cannot fetch: {reason}", hint


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The `error` of a Prometheus API error reply, which says what was wrong with the request."""
    try:
        body = json.loads(exc.read(4096))
    except (OSError, ValueError, AttributeError):
        return ""
    return f": {body['error']}" if isinstance(body, dict) and isinstance(body.get("error"), str) else ""


# --- from a Prometheus server --------------------------------------------------------------------


def from_prometheus(url: str, metrics: list[str], timeout_s: float = 5.0) -> Exposition:
    """The series a Prometheus server has stored in the last hour for these sample names, with
    the types and help of /api/v1/metadata; values are 0 (only the label sets matter)."""
    base = url.rstrip("/")
    wanted = list(dict.fromkeys(metrics))
    if not wanted:
        return Exposition(_shown(base), ())
    start = f"{time.time() - 3600:.3f}"
    series: list[dict[str, str]] = []
    for i in range(0, len(wanted), SERIES_BATCH):
        query = [("match[]", "{__name__=" + promql.quote(name) + "}") for name in wanted[i:i + SERIES_BATCH]]
        endpoint = f"{base}/api/v1/series?{urllib.parse.urlencode([*query, ('start', start)])}"
        data = _api(endpoint, timeout_s)
        if not isinstance(data, list) or not all(_is_label_set(item) for item in data):
            raise _fail(_shown(endpoint), "not a Prometheus API: /api/v1/series did not answer a list of series",
                        _NOT_API)
        series.extend(data)
    endpoint = f"{base}/api/v1/metadata"
    metadata = _api(endpoint, timeout_s)
    if not isinstance(metadata, dict):
        raise _fail(_shown(endpoint), "not a Prometheus API: /api/v1/metadata did not answer an object", _NOT_API)
    groups: dict[tuple[str, str], tuple[str, list[Sample]]] = {}
    for labels in series:
        name = labels["__name__"]
        family, kind, doc = _metadata_of(name, metadata)
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
        groups.setdefault((family, kind), (doc, []))[1].append(Sample(name, rest, 0.0))
    return Exposition(_shown(base), tuple(Family(name, kind, doc, tuple(samples))
                                          for (name, kind), (doc, samples) in groups.items()))


def _api(url: str, timeout_s: float) -> Any:
    """The `data` of a successful Prometheus API reply."""
    body, _ = _fetch(url, "application/json", timeout_s, "is Prometheus running at this URL?")
    try:
        reply = json.loads(body)
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or "status" not in reply:
        raise _fail(_shown(url), "not a Prometheus API: the reply is not a Prometheus JSON answer", _NOT_API)
    if reply["status"] != "success":
        raise _fail(_shown(url), f"Prometheus answered an error: {reply.get('errorType', '?')}: "
                                 f"{reply.get('error', '')}", _NOT_API)
    return reply.get("data")


def _is_label_set(item: object) -> bool:
    return (isinstance(item, dict) and isinstance(item.get("__name__"), str)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in item.items()))


def _metadata_of(name: str, metadata: dict[str, Any]) -> tuple[str, str, str]:
    """(family name, type, help) of a sample name. Metadata is keyed by the name on the TYPE
    line: `foo` for a histogram's `foo_bucket`, `foo_total` (0.0.4) or `foo` (OpenMetrics) for
    a counter's `foo_total`."""

    def entry(key: str) -> tuple[str, str] | None:
        found = metadata.get(key)
        if not isinstance(found, list) or not found or not isinstance(found[0], dict):
            return None
        kind = found[0].get("type")
        return (kind if kind in TYPES else "unknown"), str(found[0].get("help", ""))

    exact = entry(name)
    if exact is not None:
        family = name[:-len("_total")] if exact[0] == "counter" and name.endswith("_total") else name
        return family, *exact
    for suffix in sorted({s for suffixes in _SUFFIXES.values() for s in suffixes}):
        if name.endswith(suffix):
            found = entry(name[:-len(suffix)])
            if found is not None and suffix in _SUFFIXES.get(found[0], ()):
                return name[:-len(suffix)], *found
    return name, "unknown", ""  # e.g. a recording rule's output: Prometheus keeps no metadata for it


# --- matching ------------------------------------------------------------------------------------


def wanted_names(need: Need) -> tuple[str, ...]:
    """The sample names `unmet` reads for a need: what to ask `from_prometheus` for."""
    if need.kind == "histogram":
        return naming.bucket(need.metric), naming.count(need.metric)
    return (need.metric,)


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)  # Prometheus compiles `^(?s:pattern)$`: `.` matches \n


def _matches(op: str, want: str, value: str) -> bool:
    """One PromQL matcher against a label value; an absent label is the empty string."""
    if op == "=":
        return value == want
    if op == "!=":
        return value != want
    hit = _regex(want).fullmatch(value) is not None
    return hit if op == "=~" else not hit


def _selects(matchers: Sequence[promql.Matcher], labels: dict[str, str]) -> bool:
    return all(_matches(op, want, labels.get(label, "")) for label, op, want in matchers)


def unmet(exposition: Exposition, need: Need) -> Miss | None:
    """None when some series matches every matcher of the need (and, for a histogram, has its
    `_bucket` bounds and a `_count`); otherwise the one most useful reason it does not."""
    if need.kind not in KINDS:
        raise ValueError(f"unknown need kind {need.kind!r}; expected one of {KINDS}")
    for label, op, want in need.matchers:
        if op not in OPS:
            raise ValueError(f"unknown matcher operator {op!r} in {label}{op}{want!r}")
        if op in ("=~", "!~"):
            try:
                _regex(want)
            except re.error as exc:
                return Miss(need, f"{label}{op}{promql.quote(want)} is not a valid regex ({exc})",
                            f"fix the matcher of {need.field}")
    name = naming.bucket(need.metric) if need.kind == "histogram" else need.metric
    if name not in exposition.metric_names():
        return _absent(exposition, need, name)
    wrong = _wrong_type(need, name, exposition.family_of(name))
    if wrong is not None:
        return wrong
    series = exposition.series(name)
    miss = _label_miss(need, name, series)
    if miss is None and need.kind == "histogram":
        miss = _bucket_miss(exposition, need, name, series)
    return miss


def _absent(exposition: Exposition, need: Need, name: str) -> Miss:
    named = _named(exposition, need.metric) or exposition.family_of(need.metric)
    if need.kind == "histogram" and named is not None and named.type not in ("histogram", "gaugehistogram"):
        return Miss(need, f"`{need.metric}` is {_a(named.type)}, not a histogram: there is no `{name}`",
                    "histogram_quantile() and latency SLOs need buckets; make it a Histogram in the service")
    return Miss(need, f"`{name}` is not in the exposition", _names_hint(exposition, need, name))


def _named(exposition: Exposition, family_name: str) -> Family | None:
    return next((f for f in exposition.families if f.name == family_name), None)


def _names_hint(exposition: Exposition, need: Need, name: str) -> str:
    names = sorted(exposition.metric_names())
    if not names:
        return "the exposition has no metrics at all"
    parts = []
    named = _named(exposition, need.metric)
    if named is not None and named.samples:  # e.g. a counter `foo` whose samples are foo_total
        parts.append(f"the {named.type} `{named.name}` has samples {_listed(sorted({s.name for s in named.samples}))}")
    close = difflib.get_close_matches(name, names, n=3)
    if close:
        parts.append("did you mean " + " or ".join(f"`{c}`" for c in close) + "?")
    alike = [c for c in difflib.get_close_matches(need.metric, _of_kind(exposition, need.kind), n=3, cutoff=0.5)
             if c not in close]
    if alike:
        parts.append(f"a {need.kind} named like it: {', '.join(alike)}")
    return "; ".join(parts) or f"none of its {len(names)} metric names is close; is this the right service?"


def _of_kind(exposition: Exposition, kind: str) -> list[str]:
    """Names a need of this kind could use: histogram and gauge family names, counter samples."""
    if kind == "counter":
        return sorted({s.name for f in exposition.families if f.type == "counter" for s in f.samples
                       if not s.name.endswith("_created")})
    types = ("histogram", "gaugehistogram") if kind == "histogram" else (kind,)
    return sorted({f.name for f in exposition.families if f.type in types})


def _wrong_type(need: Need, name: str, family: Family | None) -> Miss | None:
    kind = family.type if family is not None else "untyped"
    if kind in _TYPELESS:
        return None
    if need.kind == "histogram":
        if kind in ("histogram", "gaugehistogram"):
            return None
        return Miss(need, f"`{name}` is {_a(kind)}, not a histogram's buckets",
                    "histogram_quantile() and latency SLOs need a Histogram in the service")
    if need.kind == "counter":
        # A histogram's or summary's _count, _sum and _bucket are counters; a summary's quantiles are not.
        if kind == "counter" or (kind in ("histogram", "summary") and family is not None and name != family.name):
            return None
        if kind == "gauge":
            return Miss(need, f"`{name}` is a gauge; rate() of a gauge is wrong",
                        f"count with a Counter in the service (its samples end in _total), or point {need.field} "
                        "at one")
        return Miss(need, f"`{name}` is {_a(kind)}, not a counter", f"point {need.field} at a counter")
    if kind == "gauge":
        return None
    return Miss(need, f"`{name}` is {_a(kind)}, not a gauge", f"point {need.field} at a gauge")


def _label_miss(need: Need, name: str, series: list[dict[str, str]]) -> Miss | None:
    present = {label for labels in series for label, value in labels.items() if value}  # "" is absent
    if need.kind == "histogram" and "le" not in present:
        return Miss(need, f"`{name}` has no `le` label", "bucket series carry their upper bound in `le`")
    # A label no series has: `x="1"` can never match, `x=""` and `x!="1"` always do.
    for label, op, want in need.matchers:
        if label not in present and not _matches(op, want, ""):
            return Miss(need, f"`{name}` has no label `{label}` (wanted {label}{op}{promql.quote(want)})",
                        f"its labels: {', '.join(sorted(present))}" if present else f"`{name}` has no labels")
    # Every label exists; apply the matchers in turn, and blame the first that leaves no series.
    kept = series
    for i, (label, op, want) in enumerate(need.matchers):
        matching = [labels for labels in kept if _matches(op, want, labels.get(label, ""))]
        if not matching:
            values = sorted({labels.get(label, "") for labels in kept})
            where = f"`{name}`" if i == 0 else f"`{promql.selector(name, need.matchers[:i])}`"
            seen = _listed([v or "(absent)" for v in values], 10)
            return Miss(need, f"{where}: {label} has {seen}; none matches {op}{promql.quote(want)}",
                        _value_hint(label, op, want, [v for v in values if v], need.field))
        kept = matching
    return None


def _value_hint(label: str, op: str, want: str, values: list[str], field: str) -> str:
    if op == "=":
        close = difflib.get_close_matches(want, values, n=1)
        if close:
            return f"did you mean {label}={promql.quote(close[0])}?"
    if op == "=~" and any(_regex(want).search(v) for v in values):
        return f"PromQL regexes match the whole value: =~{promql.quote(want)} matches only part of it"
    return f"change the matcher of {field}, or the {label} values the service sets"


def _bound(text: str) -> float | None:
    try:
        return float(text)  # "1" == "1.0" == "1e0"; "+Inf" too
    except ValueError:
        return None


def _bucket_miss(exposition: Exposition, need: Need, name: str, series: list[dict[str, str]]) -> Miss | None:
    kept = [labels for labels in series if _selects(need.matchers, labels)]
    have = sorted({b for labels in kept if (b := _bound(labels.get("le", ""))) is not None})
    missing = [float(b) for b in need.le if float(b) not in have]
    if missing:
        wanted = missing[0]
        below = [h for h in have if h < wanted][-1:]
        above = [h for h in have if h > wanted][:1]
        where = promql.selector(name, need.matchers)
        return Miss(need, f"`{where}` has no bucket le={', '.join(promql.number(b) for b in missing)}",
                    f"nearest to {promql.number(wanted)}: {' and '.join(promql.number(b) for b in below + above)}; "
                    f"its bounds: {_listed([promql.number(b) for b in have], 20)}")
    count = naming.count(need.metric)
    plain = tuple(m for m in need.matchers if m[0] != "le")  # _count has no `le`
    count_series = exposition.series(count)
    if not count_series:
        return Miss(need, f"`{name}` has no `{count}` beside it",
                    "a histogram exposes _bucket, _sum and _count; the SLO divides by _count")
    if not any(_selects(plain, labels) for labels in count_series):
        return Miss(need, f"no `{count}` series matches {promql.selector(count, plain)}",
                    "a histogram's _bucket and _count series carry the same labels")
    return None


def _a(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _listed(items: list[str], limit: int = 10) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
