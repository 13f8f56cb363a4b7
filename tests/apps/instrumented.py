"""A FastAPI app with prometheus-fastapi-instrumentator's defaults, and nothing else: HTTP metrics
only (http_requests_total{handler, method, status="2xx"|"5xx"}, http_request_duration_seconds
{handler, method} in buckets 0.1, 0.5, 1). A failed /predict answers 500, which the
instrumentator counts as status "5xx"."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.responses import Response

sys.path.insert(0, str(Path(__file__).parent))
from faults import Faults, serve

app = FastAPI()
faults = Faults()


def classify(row: dict[str, float]) -> str:
    if row["petal_length"] < 2.5:
        return "setosa"
    return "versicolor" if row["petal_width"] < 1.75 else "virginica"


@app.post("/predict")
async def predict(request: Request) -> Response:
    row = await request.json()
    if faults.fail_now():
        return JSONResponse({"error": "injected"}, status_code=500)
    return JSONResponse({"prediction": classify(row)})


@app.post("/admin/faults")
async def set_faults(request: Request) -> dict[str, float]:
    return faults.set(await request.json())


Instrumentator().instrument(app).expose(app)

if __name__ == "__main__":
    serve(app)
