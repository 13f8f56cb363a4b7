"""Validate the project's `alertmanager:` section and a model's `alerting.routing` override.

Structure is pydantic's (spec/v1.py); here: secrets only by file, receiver names unique and
defined, time intervals that Alertmanager can parse, teams that route somewhere, info alerts that
page nobody, and a warning for each model whose alerts would reach nobody.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import zoneinfo
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from mlmon_codegen.core import durations, naming
from mlmon_codegen.core.errors import Problem
from mlmon_codegen.spec import model as m
from mlmon_codegen.spec import v1
from mlmon_codegen.spec.load import Document, Loc

KINDS = ("slack", "pagerduty", "email", "opsgenie", "webhook")
PAGING_KINDS = ("pagerduty", "opsgenie")
# Inline-secret field → the field that names a file instead (Alertmanager 0.25 reads them at send time).
INLINE_SECRETS = {
    ("slack", "api_url"): "api_url_file",
    ("pagerduty", "routing_key"): "routing_key_file",
    ("pagerduty", "service_key"): "service_key_file",
    ("email", "auth_password"): "auth_password_file",
    ("email", "auth_secret"): "auth_password_file",
    ("opsgenie", "api_key"): "api_key_file",
    ("webhook", "url_file"): "http_config.authorization.credentials_file",
}
WEBHOOK_SECRET_HINT = ("Alertmanager 0.25 has no webhook url_file: keep the URL free of secrets and put the "
                       "token in a file named by http_config.authorization.credentials_file (sent as an "
                       "Authorization header)")
SECRET_PARAM = re.compile(r"(token|key|secret|sig|signature|password|passwd|pass|auth|code|credential)", re.I)
# A path segment of 24+ characters mixing letters and digits is a token (Slack, Teams, CI hooks).
TOKEN_SEGMENT = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{24,}$")
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
TIME = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])\Z")


def _close(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"defined: {', '.join(known)}" if known else "define it under alertmanager.receivers"


# ---------------------------------------------------------------- secrets


def url_secret(url: str) -> str | None:
    """Why `url` looks like it carries a secret, or None."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "the URL carries credentials (user:password@)"
    for key, _ in parse_qsl(parts.query, keep_blank_values=True):
        if SECRET_PARAM.search(key):
            return f"the URL carries a secret in its query parameter {key!r}"
    if parts.hostname == "hooks.slack.com":
        return "a Slack webhook URL is itself the secret"
    for segment in parts.path.split("/"):
        if TOKEN_SEGMENT.match(segment):
            return f"the URL path segment {segment[:6]}… looks like a token"
    return None


def _file_path(doc: Document, loc: Loc, path: str | None, problems: list[Problem]) -> None:
    # Alertmanager resolves a relative path against the config's folder, which is generated
    # output: a secret can never live there.
    if path is not None and not path.startswith("/"):
        problems.append(doc.problem(loc, f"{path!r} is relative", "give the absolute path where Alertmanager "
                                    "reads the secret, e.g. /etc/alertmanager/secrets/slack-url"))


def _receiver_config(doc: Document, loc: Loc, kind: str, cfg: v1.Strict,
                     problems: list[Problem]) -> m.ReceiverConfig:
    for (k, field), use in INLINE_SECRETS.items():
        if k == kind and getattr(cfg, field) is not None:
            hint = WEBHOOK_SECRET_HINT if kind == "webhook" else f"put the secret in a file and set `{use}` to its path"
            problems.append(doc.problem((*loc, field), f"inline secret: `{field}` would put it in Git and in out/; "
                                        f"use `{use}`", hint))
    settings: list[tuple[str, str | bool | int]] = []
    for name, value in cfg:
        if value is None or (kind, name) in INLINE_SECRETS or name == "http_config":
            continue
        if name.endswith("_file"):
            _file_path(doc, (*loc, name), value, problems)
        settings.append(("from" if name == "from_" else name, value))
    if kind in ("webhook", "opsgenie"):
        url = cfg.url if isinstance(cfg, v1.WebhookReceiver) else getattr(cfg, "api_url", None)
        why = url_secret(url) if url else None
        if why:
            field = "url" if kind == "webhook" else "api_url"
            problems.append(doc.problem((*loc, field), f"inline secret: {why}",
                                        WEBHOOK_SECRET_HINT if kind == "webhook" else "use api_key_file for the key"))
    # Required, but checked here rather than by pydantic: whoever wrote the inline field instead
    # gets one message naming the file field, not two.
    for kind_, needed, inline in (("slack", "api_url_file", "api_url"), ("opsgenie", "api_key_file", "api_key")):
        if kind == kind_ and getattr(cfg, needed) is None and getattr(cfg, inline) is None:
            problems.append(doc.problem(loc, f"`{needed}` is required", "the absolute path of the file that holds it"))
    if (isinstance(cfg, v1.PagerDutyReceiver) and not (cfg.routing_key_file or cfg.service_key_file)
            and cfg.routing_key is None and cfg.service_key is None):
        problems.append(doc.problem(loc, "PagerDuty needs routing_key_file (Events API v2) or service_key_file"))
    if isinstance(cfg, v1.WebhookReceiver) and cfg.http_config and cfg.http_config.authorization:
        auth = cfg.http_config.authorization
        auth_loc = (*loc, "http_config", "authorization")
        if auth.credentials is not None:
            problems.append(doc.problem((*auth_loc, "credentials"), "inline secret: `credentials` would put it in "
                                        "Git and in out/; use `credentials_file`",
                                        "http_config.authorization.credentials_file: /etc/alertmanager/secrets/..."))
        elif auth.credentials_file is None:
            problems.append(doc.problem(auth_loc, "authorization needs credentials_file"))
        else:
            _file_path(doc, (*auth_loc, "credentials_file"), auth.credentials_file, problems)
            settings += [("authorization_type", auth.type), ("credentials_file", auth.credentials_file)]
    return m.ReceiverConfig(kind, tuple(settings))


# ---------------------------------------------------------------- time intervals


def _range(doc: Document, loc: Loc, value: int | str, parse: Callable[[str], int], what: str,
           problems: list[Problem]) -> str | None:
    """One `a` or `a:b` entry, each end parsed by `parse` (returns an int or raises ValueError)."""
    text = str(value).strip().lower()
    ends = text.split(":")
    try:
        if len(ends) > 2:
            raise ValueError
        nums = [parse(e) for e in ends]
    except ValueError:
        problems.append(doc.problem(loc, f"{value!r} is not a valid {what} or {what} range", _EXAMPLES[what]))
        return None
    if len(nums) == 2 and nums[0] > nums[1] and (nums[0] > 0) == (nums[1] > 0):
        problems.append(doc.problem(loc, f"range {value!r} ends before it starts", _EXAMPLES[what]))
        return None
    return text


def _weekday(text: str) -> int:
    return WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS.index(text) + 1
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    raise ValueError


def _day(text: str) -> int:
    day = int(text)
    if day == 0 or not -31 <= day <= 31:
        raise ValueError
    return day


def _year(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise ValueError
    return int(text)


_EXAMPLES = {"weekday": "e.g. monday or monday:friday", "month": "e.g. january, 1 or march:may",
             "day of month": "e.g. 1, -1 (the last day) or 1:15", "year": "e.g. 2026 or 2026:2027"}


def _minutes(doc: Document, loc: Loc, value: str, problems: list[Problem]) -> int | None:
    match = TIME.match(value)
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else None
    if minutes is None or minutes > 24 * 60:
        problems.append(doc.problem(loc, f"{value!r} is not a time of day", "HH:MM from 00:00 to 24:00"))
        return None
    return minutes


def _time_range(doc: Document, loc: Loc, spec: v1.TimeInterval, problems: list[Problem]) -> m.TimeRange:
    def ranges(field: str, parse: Callable[[str], int], what: str) -> tuple[str, ...]:
        out = [_range(doc, (*loc, field, i), v, parse, what, problems) for i, v in enumerate(getattr(spec, field))]
        return tuple(x for x in out if x is not None)

    times = []
    for i, t in enumerate(spec.times):
        start = _minutes(doc, (*loc, "times", i, "start_time"), t.start_time, problems)
        end = _minutes(doc, (*loc, "times", i, "end_time"), t.end_time, problems)
        if start is not None and end is not None and start >= end:
            problems.append(doc.problem((*loc, "times", i), f"{t.start_time}–{t.end_time} is empty: start must be "
                                        "before end", "a range over midnight is two ranges: 22:00–24:00, 00:00–06:00"))
        times.append((t.start_time, t.end_time))
    if spec.location is not None:
        try:
            if spec.location == "Local" or not spec.location:
                raise ValueError
            zoneinfo.ZoneInfo(spec.location)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            close = difflib.get_close_matches(spec.location, sorted(zoneinfo.available_timezones()), n=1)
            problems.append(doc.problem((*loc, "location"), f"{spec.location!r} is not an IANA time zone",
                                        f"did you mean {close[0]!r}?" if close else
                                        "e.g. Europe/Berlin or America/New_York ('Local' depends on the host)"))
    return m.TimeRange(weekdays=ranges("weekdays", _weekday, "weekday"), times=tuple(times),
                       days_of_month=ranges("days_of_month", _day, "day of month"),
                       months=ranges("months", _month, "month"), years=ranges("years", _year, "year"),
                       location=spec.location)


# ---------------------------------------------------------------- routing


def _routing(doc: Document, loc: Loc, spec: v1.Routing, receivers: dict[str, m.Receiver], intervals: list[str],
             problems: list[Problem], base: m.Routing | None = None) -> m.Routing:
    """A team's routing, or a model's override merged over its team's (`base`)."""
    base = base or m.Routing()
    for field in ("critical", "warning", "info", "retrain"):
        name = getattr(spec, field)
        if name is not None and name not in receivers:
            problems.append(doc.problem((*loc, field), f"receiver {name!r} is not defined",
                                        _close(name, sorted(receivers))))
    info = receivers.get(spec.info or "")
    if info is not None and any(c.kind in PAGING_KINDS for c in info.configs):
        problems.append(doc.problem((*loc, "info"), f"info alerts page nobody, but {info.name!r} has "
                                    f"{', '.join(sorted({c.kind for c in info.configs} & set(PAGING_KINDS)))}",
                                    "route info to chat, email or a webhook"))
    if spec.tickets_only_during is not None and spec.tickets_only_during not in intervals:
        problems.append(doc.problem((*loc, "tickets_only_during"), f"time interval {spec.tickets_only_during!r} "
                                    "is not defined", _close(spec.tickets_only_during, intervals)
                                    .replace("alertmanager.receivers", "alertmanager.time_intervals")))
    return m.Routing(
        critical=spec.critical or base.critical, warning=spec.warning or base.warning, info=spec.info or base.info,
        retrain=spec.retrain or base.retrain,
        retrain_continue=base.retrain_continue if spec.retrain_continue is None else spec.retrain_continue,
        tickets_only_during=spec.tickets_only_during or base.tickets_only_during)


def build_alertmanager(doc: Document, spec: v1.AlertmanagerSettings | None,
                       problems: list[Problem]) -> m.Alertmanager | None:
    if spec is None:
        return None
    root: Loc = ("alertmanager",)
    receivers: dict[str, m.Receiver] = {}
    first: dict[str, int] = {}
    for i, r in enumerate(spec.receivers):
        loc = (*root, "receivers", i)
        if r.name == naming.NULL_RECEIVER:
            problems.append(doc.problem((*loc, "name"), f"{r.name!r} is reserved: mlmon's receiver that notifies "
                                        "nobody", "choose another name"))
            continue
        if r.name in first:
            problems.append(doc.problem((*loc, "name"), f"two receivers are named {r.name!r} (the first is "
                                        f"receivers[{first[r.name]}])", "receiver names are unique"))
            continue
        first[r.name] = i
        configs = [_receiver_config(doc, (*loc, kind, j), kind, cfg, problems)
                   for kind in KINDS for j, cfg in enumerate(getattr(r, kind))]
        receivers[r.name] = m.Receiver(r.name, tuple(configs))
    intervals = []
    for name, entries in spec.time_intervals.items():
        ranges = tuple(_time_range(doc, (*root, "time_intervals", name, i), e, problems) for i, e in enumerate(entries))
        intervals.append((name, ranges))
    names = [n for n, _ in intervals]
    teams = []
    for team, routing in spec.teams.items():
        loc = (*root, "teams", team)
        if not any((routing.critical, routing.warning, routing.info, routing.retrain)):
            problems.append(doc.problem(loc, f"team {team!r} has no receivers",
                                        "set at least critical: and warning: to receiver names"))
            continue
        teams.append((team, _routing(doc, loc, routing, receivers, names, problems)))
    if spec.default_receiver is not None and spec.default_receiver not in receivers:
        problems.append(doc.problem((*root, "default_receiver"), f"receiver {spec.default_receiver!r} is not "
                                    "defined", _close(spec.default_receiver, sorted(receivers))))
    d = spec.defaults
    return m.Alertmanager(
        receivers=tuple(receivers.values()), time_intervals=tuple(intervals), teams=tuple(sorted(teams)),
        default_receiver=spec.default_receiver, group_by=tuple(d.group_by),
        group_wait_ms=durations.parse(d.group_wait), group_interval_ms=durations.parse(d.group_interval),
        repeat_interval_ms=durations.parse(d.repeat_interval))


def build_model_routing(doc: Document, spec: v1.ModelMonitor, project: m.Project,
                        problems: list[Problem]) -> m.Routing | None:
    """The model's override with its team's routing merged in, or None (the team's routing applies)."""
    override = spec.alerting.routing
    if override is None:
        return None
    loc: Loc = ("alerting", "routing")
    am = project.alertmanager
    if am is None:
        problems.append(doc.problem(loc, "routing needs an `alertmanager:` section in the project file",
                                    "define the receivers there, then name them here"))
        return None
    receivers = {r.name: r for r in am.receivers}
    return _routing(doc, loc, override, receivers, [n for n, _ in am.time_intervals], problems,
                    dict(am.teams).get(spec.metadata.team))


def effective_routing(model: m.Model, am: m.Alertmanager) -> m.Routing | None:
    return model.routing or dict(am.teams).get(model.team)


def unrouted(doc: Document, model: m.Model, project: m.Project) -> list[Problem]:
    """A warning naming the severities of `model` whose alerts reach no receiver."""
    am = project.alertmanager
    if am is None or am.default_receiver is not None:
        return []
    return _unrouted(doc, model.name, model.team, effective_routing(model, am), bool(model.routing), am)


def unrouted_team(doc: Document, name: str, team: str, project: m.Project) -> list[Problem]:
    """`unrouted` for a model that did not validate but routes by its team, so that its warning
    comes in the same run as its errors."""
    am = project.alertmanager
    if am is None or am.default_receiver is not None:
        return []
    return _unrouted(doc, name, team, dict(am.teams).get(team), False, am)


def _unrouted(doc: Document, name: str, team: str, routing: m.Routing | None, own: bool,
              am: m.Alertmanager) -> list[Problem]:
    routing = routing or m.Routing()
    missing = [s for s in ("critical", "warning") if getattr(routing, s) is None]
    if not missing:
        return []
    where = "its routing" if own else f"team {team!r}"
    hint = f"set alertmanager.teams.{team}.{missing[0]} in the project file"
    teams = [t for t, _ in am.teams]
    close = difflib.get_close_matches(team, teams, n=1) if not own and team not in teams else []
    if close:
        hint = f"did you mean {close[0]!r}? No alertmanager.teams entry is named {team!r}"
    return [doc.problem(("metadata", "team"), f"{' and '.join(missing)} alerts of model {name!r} reach "
                        f"nobody: {where} names no receiver for them and there is no default_receiver",
                        hint, warning=True)]


def with_alertmanager(project: m.Project, doc: Document, spec: v1.Project, problems: list[Problem]) -> m.Project:
    """`project` with its Alertmanager settings built from the project file."""
    return dataclasses.replace(project, alertmanager=build_alertmanager(doc, spec.alertmanager, problems))
