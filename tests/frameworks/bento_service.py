"""A trivial BentoML service for tests/test_real_frameworks.py: an iris-like classifier with a fixed
rule (no model to load). `bentoml serve bento_service:IrisClassifier` from this folder.

Input: {"features": [[sepal_length, sepal_width, petal_length, petal_width], ...]}. A row of the
wrong length is a server-side error (500), a body that is not a list of lists is rejected by
BentoML's own validation (400): the test sends both, so the exposition has error series.
"""

from __future__ import annotations

import bentoml

CLASSES = ("setosa", "versicolor", "virginica")


@bentoml.service(name="iris_classifier")
class IrisClassifier:
    @bentoml.api
    def predict(self, features: list[list[float]]) -> list[str]:
        out = []
        for row in features:
            if len(row) != 4:
                raise RuntimeError(f"expected 4 features, got {len(row)}")
            petal_length = row[2]
            out.append(CLASSES[0] if petal_length < 2.5 else CLASSES[1] if petal_length < 4.9 else CLASSES[2])
        return out
