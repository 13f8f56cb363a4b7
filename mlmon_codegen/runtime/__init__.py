"""The service side of the metric contract: what an instrumented model service exposes.

`ModelMetrics.from_spec("specs/x.yaml")` creates exactly the metrics the generated rules query
(names, labels, latency buckets with every SLO threshold, per-feature buckets from the baseline),
and `GroundTruthStore` joins late labels to logged predictions.
"""

from mlmon_codegen.runtime.metrics import UNKNOWN, ModelMetrics, Prediction
from mlmon_codegen.runtime.store import GroundTruthStore, LabelResult

__all__ = ["UNKNOWN", "GroundTruthStore", "LabelResult", "ModelMetrics", "Prediction"]
