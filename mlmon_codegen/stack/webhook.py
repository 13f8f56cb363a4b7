"""A webhook receiver that records every notification Alertmanager sends, with its arrival time.

The path names the receiver (`/<receiver name>`), so one server stands in for every receiver of
the generated config. Standard library only; it listens on 127.0.0.1 and stops with `close()`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    at: float  # unix seconds when it arrived
    receiver: str
    body: dict[str, Any]

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.body.get("alerts") or [])

    def alertnames(self, status: str = "firing") -> set[str]:
        return {a["labels"].get("alertname", "") for a in self.alerts() if a.get("status") == status}


def describe(d: Delivery) -> str:
    """One log line a person scans: when (UTC, with the date: a demo may run past midnight), which
    receiver, and each alert with its model."""
    alerts = sorted({f"{a['status']} {a['labels'].get('alertname', '?')}"
                     f"{'{' + ', '.join(f'{k}={v}' for k, v in sorted(a['labels'].items()) if k in WHO) + '}'}"
                     for a in d.alerts() if isinstance(a.get("labels"), dict)})
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(d.at))
    return f"{when} webhook {d.receiver}: {'; '.join(alerts) or d.body.get('status', '?')}"


# The labels that say which model, SLO, feature or class an alert is about.
WHO = ("model", "slo", "tier", "feature", "class", "predicted_class")


class WebhookRecorder:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, log: Any = None):
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._log = log
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 10_000_000)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"invalid_json": raw[:200].decode("utf-8", "replace")}
                recorder._add(Delivery(time.time(), self.path.strip("/"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet: deliveries are recorded, not printed
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="webhook-recorder", daemon=True)
        self._thread.start()

    def _add(self, d: Delivery) -> None:
        with self._lock:
            self.deliveries.append(d)
        if self._log is not None:
            self._log(describe(d))

    def received(self, receiver: str | None = None, alertname: str | None = None,
                 status: str = "firing") -> list[Delivery]:
        """Deliveries to `receiver` that carry `alertname` with `status`, oldest first."""
        with self._lock:
            out = list(self.deliveries)
        if receiver is not None:
            out = [d for d in out if d.receiver == receiver]
        if alertname is not None:
            out = [d for d in out if alertname in d.alertnames(status)]
        return out

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
