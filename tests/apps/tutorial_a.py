"""Tutorial A shape: FastAPI + prometheus_client by hand (spec: `metrics: {preset: tutorial-a}`).

ml_predictions_total{model_version, class_label} counts successful predictions only; a failed one
goes to ml_prediction_errors_total{model_version, error_type} instead. Latency by model_version in
buckets 0.01..1.0; gauges ml_feature_min/ml_feature_max{feature_name} set from each request's rows.
The "model" is a fixed rule on the iris petals (balanced on iris data).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response

sys.path.insert(0, str(Path(__file__).parent))
from faults import Faults, serve

VERSION = "1.0.0"
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")

PREDICTIONS = Counter("ml_predictions_total", "Successful predictions", ["model_version", "class_label"])
ERRORS = Counter("ml_prediction_errors_total", "Failed predictions", ["model_version", "error_type"])
LATENCY = Histogram("ml_prediction_latency_seconds", "Prediction latency", ["model_version"],
                    buckets=(0.01, 0.05, 0.1, 0.5, 1.0))
FEATURE_MIN = Gauge("ml_feature_min", "Smallest value of the feature in the last request", ["feature_name"])
FEATURE_MAX = Gauge("ml_feature_max", "Largest value of the feature in the last request", ["feature_name"])

app = FastAPI()
faults = Faults()


class InjectedFault(RuntimeError):
    pass


def classify(row: dict[str, float]) -> str:
    if row["petal_length"] < 2.5:
        return "setosa"
    return "versicolor" if row["petal_width"] < 1.75 else "virginica"


@app.post("/predict")
async def predict(request: Request) -> Response:
    start = time.perf_counter()
    try:
        body = await request.json()
        rows = body.get("instances", [body])
        for name in FEATURES:
            values = [float(r[name]) for r in rows]
            FEATURE_MIN.labels(name).set(min(values))
            FEATURE_MAX.labels(name).set(max(values))
        if faults.fail_now():
            raise InjectedFault("injected")
        classes = [classify(r) for r in rows]
    except Exception as exc:  # the tutorial's except branch: count it, answer 500
        ERRORS.labels(VERSION, type(exc).__name__).inc()
        return JSONResponse({"error": str(exc)}, status_code=500)
    finally:
        LATENCY.labels(VERSION).observe(time.perf_counter() - start)
    for c in classes:
        PREDICTIONS.labels(VERSION, c).inc()
    return JSONResponse({"predictions": classes, "model_version": VERSION})


@app.post("/admin/faults")
async def set_faults(request: Request) -> dict[str, float]:
    return faults.set(await request.json())


@app.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


if __name__ == "__main__":
    serve(app)
