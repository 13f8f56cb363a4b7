"""Fit the tiny iris model MLServer serves in tests/test_real_frameworks.py and save it with joblib.

Run with the mlserver venv's Python (scikit-learn comes with mlserver-sklearn):
    python train.py MODELS/iris/model.joblib  (beside iris/model-settings.json)
"""

from __future__ import annotations

import sys

import joblib
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

if __name__ == "__main__":
    x, y = load_iris(return_X_y=True)
    joblib.dump(DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y), sys.argv[1])
