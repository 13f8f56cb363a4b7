"""Tutorial B shape: prometheus_client by hand beside an HTTP layer (spec: `metrics: {preset: tutorial-b}`).

ml_predictions_total{model_version, result_class} counts successful predictions; failures exist
only as http_requests_total{method, endpoint, status="500"} of the HTTP middleware. Latency has no
labels (buckets 0.001..1.0); confidence in buckets 0.1..1.0; the input feature `age` has its own
histogram ml_input_feature_age (buckets 18..75). The "model": approved from age 48 on.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import Response

sys.path.insert(0, str(Path(__file__).parent))
from faults import Faults, serve

VERSION = "1.0.0"

PREDICTIONS = Counter("ml_predictions_total", "Predictions", ["model_version", "result_class"])
LATENCY = Histogram("ml_prediction_latency_seconds", "Prediction latency",
                    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
CONFIDENCE = Histogram("ml_prediction_confidence", "Confidence of the predicted class",
                       buckets=tuple(round(0.1 * i, 1) for i in range(1, 11)))
AGE = Histogram("ml_input_feature_age", "Age in the request", buckets=(18, 25, 35, 45, 55, 65, 75))
HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "endpoint", "status"])

app = FastAPI()
faults = Faults()


@app.middleware("http")
async def count_requests(request: Request, call_next):  # type: ignore[no-untyped-def]
    try:
        response = await call_next(request)
        status = response.status_code
    except Exception:
        status = 500
        raise
    finally:
        HTTP_REQUESTS.labels(request.method, request.url.path, str(status)).inc()
    return response


@app.post("/predict")
async def predict(request: Request) -> Response:
    start = time.perf_counter()
    body = await request.json()
    age = float(body["age"])
    AGE.observe(age)
    if faults.fail_now():
        return JSONResponse({"error": "injected"}, status_code=500)
    result = "approved" if age >= 48 else "rejected"
    confidence = 0.55 + 0.4 * min(1.0, abs(age - 47.5) / 28)
    LATENCY.observe(time.perf_counter() - start)
    PREDICTIONS.labels(VERSION, result).inc()
    CONFIDENCE.observe(confidence)
    return JSONResponse({"result": result, "confidence": confidence, "model_version": VERSION})


@app.post("/admin/faults")
async def set_faults(request: Request) -> dict[str, float]:
    return faults.set(await request.json())


@app.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


if __name__ == "__main__":
    serve(app)
