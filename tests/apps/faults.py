"""The apps' fault switch: POST /admin/faults {"error_rate": 0.5} makes that share of /predict
calls fail with HTTP 500, deterministically (every other call at 0.5), so a test knows the share
exactly. Same body as mlmon's own example service takes (Stack.set_faults sends it)."""

from __future__ import annotations

import threading


class Faults:
    def __init__(self) -> None:
        self.error_rate = 0.0
        self._debt = 0.0
        self._lock = threading.Lock()

    def set(self, body: dict[str, float]) -> dict[str, float]:
        with self._lock:
            self.error_rate = min(1.0, max(0.0, float(body.get("error_rate", 0.0))))
            self._debt = 0.0
        return {"error_rate": self.error_rate}

    def fail_now(self) -> bool:
        """Whether this call fails: a running share, so 0.5 fails exactly every other call."""
        with self._lock:
            self._debt += self.error_rate
            if self._debt >= 1.0 - 1e-9:
                self._debt -= 1.0
                return True
            return False


def serve(app: object) -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")  # type: ignore[arg-type]
