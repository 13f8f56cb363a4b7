"""PromQL for ML signals: feature and prediction drift (PSI, binned KS), data quality, confidence,
per-class quality from the confusion counter, and the retraining triggers. Pure text building.

Drift is computed from ordinary histograms whose buckets are the training data's quantile edges.
Over the drift window, the current cumulative share at each edge (the CDF) is the bucket's
increase over the count's increase; bin shares are CDF differences. The baseline shares are
recorded as constant series with the same labels, so PSI and KS are single vector expressions:

    PSI = sum_i (p_i - q_i) * ln((p_i + eps) / (q_i + eps))      (eps: empty bins never hit log 0)
    KS  = max_i |CDF_now(e_i) - CDF_base(e_i)|

PSI alone is no test: under no drift its expected value is about (k - 1)(1/n + 1/m) for k bins, n
current and m reference observations, so small windows pass any fixed threshold by chance. Each
feature therefore also gets a two-sample test whose false-alarm rate is alpha at any n:

  chi2: homogeneity of the 2 x k table (current counts n p_i, reference counts m q_i). With pooled
        shares r_i = (n p_i + m q_i) / (n + m), Pearson's statistic over both rows is
            X2 = sum_i [(n p_i - n r_i)^2 / (n r_i) + (m q_i - m r_i)^2 / (m r_i)]
               = sum_i n m (p_i - q_i)^2 / (n p_i + m q_i)
        (n p_i - n r_i = n m (p_i - q_i) / (n + m), and the same with the sign flipped for the
        reference row). It tends to the one-sample sum_i n (p_i - q_i)^2 / q_i as m grows; the
        reference's own sampling error is the n p_i term in the denominator. A bin empty in both
        tables adds nothing (scipy's chi2_contingency drops such a column too); a bin the
        reference never saw (q_i = 0, e.g. the "(other)" category) is kept, no epsilon and no
        merging: new values count m p_i, which is what the table says. Degrees of freedom: the bins
        with reference share, minus 1 (at least 1), so the critical value is a constant.
  ks:   D = max_i |CDF_now(e_i) - CDF_base(e_i)| at the bin edges (a lower bound of the raw-value
        KS, so never more alarms), against D_crit = c(alpha) sqrt(1/n + 1/m), c(alpha) the
        Kolmogorov distribution's upper alpha point (c = sqrt(-ln(alpha / 2) / 2) to first order).
Both scale with n, which is therefore the window's exact count (`counted`), not increase()'s.
"""


from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlmon_codegen.core import naming
from mlmon_codegen.core import promql as q
from mlmon_codegen.plan.sli import model_matchers, requests_total, series
from mlmon_codegen.spec import model as m


@dataclass(frozen=True)
class Bin:
    """One bin of a binned distribution: its labels, the query of its current share, its baseline."""

    labels: dict[str, str]
    share: str
    baseline: float


def increase(metric: str, matchers: list[q.Matcher], window_ms: int) -> str:
    return q.agg("sum", q.call("increase", q.rng(q.selector(metric, matchers), window_ms)))


def counted(metric: str, matchers: list[q.Matcher], window_ms: int) -> str:
    """The events a counter counted over the window, exactly where its samples allow: a sample size n.

    increase() extrapolates to the window's edges (1.2x a first batch after a cold start, half a
    scrape interval's worth later). Shares are ratios of increases, where that cancels; the tests'
    n does not (X2 and the KS critical value scale with it), so n is counted per series, from the
    last sample at or before t - w to the last one at or before t, when the counter never fell in
    the window (`resets`):

    - sampled at t - w and not below it since (the window's first sample, its minimum): x - x offset w;
    - otherwise, when the window's first sample is 0: x. A series born in the window (the runtime
      creates every series at 0, on a cold start and on a restart), or a restart right after
      t - w, whose lost events nobody scraped. A series that only missed scrapes at t - w (a
      target down writes staleness markers) comes back at its cumulative count, not 0, and is not
      taken for a new one; nor is one that other instrumentation creates at its first event
      (nothing tells the two apart);
    - the rest (a reset inside the window, a series back from a gap or created above 0):
      increase(), the best estimate there is.

    `offset` and the window read the same samples on Prometheus 2 and 3 (3's range leaves out a
    sample exactly at t - w, which is then the offset's, so the first-sample check still holds);
    tests/test_drift_sample_size.py runs each case on both.
    """
    sel = q.selector(metric, matchers)
    rng = q.rng(sel, window_ms)
    first = q.call("min_over_time", rng)  # a counter's first sample in the window when it never fell
    before = q.set_op(q.paren(q.compare(q.offset(sel, window_ms), "<=", first)), "or",
                      q.paren(q.compare(first, "==", 0)))
    exact = q.set_op(q.paren(q.binop(sel, "-", before)), "unless", q.compare(q.call("resets", rng), ">", 0))
    return q.agg("sum", q.set_op(q.paren(exact), "or", q.call("increase", rng)))


def per_positive(numerator: str, denominator: str) -> str:
    """numerator / denominator, empty (never NaN or Inf) when the denominator is 0."""
    return q.binop(numerator, "/", q.compare(denominator, ">", 0))


# ---------------------------------------------------------------- features


def feature_matchers(model: m.Model, f: m.Feature, role: str = "feature_value") -> list[q.Matcher]:
    """The series of one feature: its own histogram's, or the role's with the feature label."""
    if f.metric is not None and role == "feature_value":  # other roles still tell features apart by label
        return model_matchers(model)
    return [*model_matchers(model, role), (model.metrics.feature_label, "=", f.name)]


def feature_histogram(model: m.Model, f: m.Feature) -> str:
    metric = f.metric or model.metrics.feature_value
    assert metric is not None
    return metric


def feature_counter(model: m.Model, f: m.Feature) -> tuple[str, list[q.Matcher]]:
    """The counters of the feature's observations: its histogram's count, or every category's."""
    if f.kind == "numeric":
        return naming.count(feature_histogram(model, f)), feature_matchers(model, f)
    assert model.metrics.feature_category is not None
    return model.metrics.feature_category, feature_matchers(model, f, "feature_category")


def feature_total(model: m.Model, f: m.Feature, window_ms: int) -> str:
    """Observations of the feature in the window, as the denominator of its shares."""
    return increase(*feature_counter(model, f), window_ms)


def feature_samples(model: m.Model, f: m.Feature, window_ms: int) -> str:
    """Observations of the feature in the window, exactly: the tests' n and min_samples' count."""
    return counted(*feature_counter(model, f), window_ms)


def cumulative(model: m.Model, f: m.Feature, edge: float, window_ms: int) -> str:
    return increase(naming.bucket(feature_histogram(model, f)), [*feature_matchers(model, f), q.le_matcher(edge)],
                    window_ms)


def cdf_now(model: m.Model, f: m.Feature, edge: float, window_ms: int) -> str:
    return per_positive(cumulative(model, f, edge, window_ms), feature_total(model, f, window_ms))


def baseline_cdf(f: m.Feature) -> list[float]:
    out, acc = [], 0.0
    for share in f.shares[:-1]:
        acc += share
        out.append(round(acc, 12))
    return out


def feature_bins(model: m.Model, f: m.Feature, window_ms: int) -> list[Bin]:
    """Current share queries per bin. Numeric bins difference the recorded CDF series."""
    base = {naming.MODEL_LABEL: model.name, naming.FEATURE_LABEL: f.name}
    if f.kind == "numeric":
        cdf = naming.feature_cdf(window_ms)

        def at(i: int) -> str:
            return q.selector(cdf, {**base, naming.LE_LABEL: q.number(f.edges[i])})

        bins = []
        for i, share in enumerate(f.shares):
            if i == 0:
                expr = q.agg("sum", at(0))
            elif i == len(f.edges):
                expr = q.one_minus(q.agg("sum", at(i - 1)))
            else:
                expr = q.binop(q.agg("sum", at(i)), "-", q.agg("sum", at(i - 1)))
            bins.append(Bin({**base, naming.BIN_LABEL: naming.bin_label(i)}, expr, share))
        return bins
    total = feature_total(model, f, window_ms)
    met = model.metrics
    assert met.feature_category is not None
    sel = feature_matchers(model, f, "feature_category")
    bins = []
    for cat, share in zip(f.categories, f.category_shares, strict=True):
        count = q.or_zero(increase(met.feature_category, [*sel, (met.category_label, "=", cat)], window_ms))
        bins.append(Bin({**base, naming.BIN_LABEL: cat}, per_positive(count, total), share))
    known = q.or_zero(increase(met.feature_category, [
        *sel, (met.category_label, "=~", "|".join(map(q.regex_escape, f.categories)))], window_ms))
    bins.append(Bin({**base, naming.BIN_LABEL: naming.OTHER_BIN},
                    per_positive(q.binop(total, "-", known), total), 0.0))
    return bins


def psi(current: str, baseline: str, by: list[str], epsilon: float) -> str:
    """Population stability index between two share vectors with identical labels."""
    eps = q.number(epsilon)
    term = q.binop(q.binop(current, "-", baseline), "*",
                   q.call("ln", q.binop(q.plus(current, eps), "/", q.plus(baseline, eps))))
    return q.agg("sum", term, by=by)


def ks(current: str, baseline: str, by: list[str]) -> str:
    return q.agg("max", q.call("abs", q.binop(current, "-", baseline)), by=by)


# ---------------------------------------------------------------- significance


TESTS = ("chi2", "ks", "psi")


def chi2_df(reference_shares: Iterable[float]) -> int:
    """Degrees of freedom of a chi-square test: bins the reference has values in, minus 1 (at least 1:
    a feature constant in training that takes other values now has still drifted)."""
    return max(sum(1 for s in reference_shares if s > 0) - 1, 1)


def chi2_critical(alpha: float, df: int) -> float:
    from scipy import stats  # only when some feature is tested: generating rules stays quick otherwise

    return float(stats.chi2.isf(alpha, df))


def ks_coefficient(alpha: float) -> float:
    """c(alpha): the two-sample KS statistic is significant above c(alpha) sqrt(1/n + 1/m)."""
    from scipy import stats

    return float(stats.kstwobign.isf(alpha))


def chi2(share: str, baseline: str, samples: str, reference: str, by: list[str]) -> str:
    """X2 = n sum_i (p_i - q_i)^2 / (p_i n/m + q_i), bins with p_i = q_i = 0 left out.

    share/baseline are per bin; samples (n) and reference (m) per feature, matched on `by`."""
    ratio = q.binop(samples, "/", reference)
    denominator = q.binop(q.binop(share, "*", ratio, q.group_left(q.on(by))), "+", baseline)
    term = q.binop(q.binop(q.binop(share, "-", baseline), "^", "2"), "/", q.compare(denominator, ">", 0))
    return q.binop(q.agg("sum", term, by=by), "*", samples, q.on(by))


def ks_critical(coefficient: float, samples: str, reference: str) -> str:
    """c(alpha) sqrt(1/n + 1/m); empty while n is 0."""
    inv_n = q.binop("1", "/", q.compare(samples, ">", 0))
    return q.times(q.call("sqrt", q.binop(inv_n, "+", q.binop("1", "/", reference))), q.number(coefficient))


def significant(statistic: str, critical: str, by: list[str]) -> str:
    return q.compare(statistic, ">", critical, on_labels=by)


def out_of_range_share(model: m.Model, f: m.Feature, window_ms: int) -> str:
    assert f.expected_range is not None
    lo, hi = f.expected_range
    total = feature_total(model, f, window_ms)
    above = q.binop(total, "-", cumulative(model, f, hi, window_ms))
    # The floor edge, not lo: values equal to the min are in range (a closed range, as written).
    # A feature's own histogram has only its buckets: the highest one below the min, if any.
    floor = m.range_floor(lo) if f.metric is None else max((e for e in f.edges if e < lo), default=None)
    if floor is None:
        return per_positive(above, total)
    return per_positive(q.binop(cumulative(model, f, floor, window_ms), "+", above), total)


def missing_share(model: m.Model, f: m.Feature, window_ms: int) -> str:
    assert model.metrics.feature_missing is not None
    missing = q.or_zero(increase(model.metrics.feature_missing, feature_matchers(model, f, "feature_missing"),
                                 window_ms))
    return per_positive(missing, q.binop(missing, "+", feature_total(model, f, window_ms)))


def gauges_out_of_range(model: m.Model, features: list[m.Feature], window_ms: int) -> str:
    """The extreme a min/max gauge reached in the window, for each feature it left the range of."""
    met = model.metrics
    parts = []
    for f in features:
        assert f.expected_range is not None
        lo, hi = f.expected_range
        for role, fn, op, bound in (("feature_max", "max", ">", hi), ("feature_min", "min", "<", lo)):
            if getattr(met, role) is None:
                continue
            sel = series(model, role, [(met.feature_label, "=", f.name)])
            seen = q.agg(fn, q.call(f"{fn}_over_time", q.rng(sel, window_ms)))
            parts.append(q.compare(q.set_label(seen, naming.FEATURE_LABEL, f.name), op, q.number(bound)))
    return q.any_of(*parts)


def drifted_share(psi_sel: str, samples_sel: str, verdict: str, min_samples: int) -> str:
    """Share of features, among those with enough samples, whose drift verdict holds."""
    by = [naming.MODEL_LABEL]
    mf = (naming.MODEL_LABEL, naming.FEATURE_LABEL)
    judged = q.set_op(psi_sel, "and", q.compare(samples_sel, ">=", min_samples), on_labels=mf)
    drifted = q.agg("count", q.set_op(q.paren(verdict), "and", q.paren(judged), on_labels=mf), by=by)
    total = q.agg("count", judged, by=by)
    return q.binop(q.binop(drifted, "or", q.zero_like(total)), "/", total)


def bin_share_change(model: m.Model, window_ms: int) -> str:
    """Each bin's current share minus its training share, by feature and bin (for a person to read)."""
    sel = {naming.MODEL_LABEL: model.name}
    return q.binop(q.selector(naming.feature_bin_share(window_ms), sel), "-",
                   q.selector(naming.BASELINE_FEATURE_BIN_SHARE, sel),
                   q.on([naming.MODEL_LABEL, naming.FEATURE_LABEL, naming.BIN_LABEL]))


def significance_ratio(model: m.Model, window_ms: int, tests: Iterable[str]) -> str:
    """Each tested feature's statistic over its critical value: above 1, the test is significant."""
    sel = {naming.MODEL_LABEL: model.name}
    by = q.on([naming.MODEL_LABEL, naming.FEATURE_LABEL])
    pairs = {"ks": (naming.feature_ks(window_ms), naming.feature_ks_critical(window_ms)),
             "chi2": (naming.feature_chi2(window_ms), naming.BASELINE_FEATURE_CHI2_CRITICAL)}
    return q.any_of(*(q.binop(q.selector(pairs[t][0], sel), "/", q.selector(pairs[t][1], sel), by)
                      for t in sorted(set(tests)) if t in pairs))


# ---------------------------------------------------------------- predictions


def prediction_counter(model: m.Model) -> tuple[str, list[q.Matcher]]:
    assert model.metrics.predicted_class is not None
    return model.metrics.predicted_class, model_matchers(model, "predicted_class")


def prediction_total(model: m.Model, window_ms: int) -> str:
    """Predictions in the window, as the denominator of the class shares."""
    return increase(*prediction_counter(model), window_ms)


def prediction_samples(model: m.Model, window_ms: int) -> str:
    """Predictions in the window, exactly: the prediction test's n and the min_samples' count."""
    return counted(*prediction_counter(model), window_ms)


def class_bins(model: m.Model, window_ms: int) -> list[Bin]:
    ml = model.ml
    assert ml is not None
    met = model.metrics
    assert met.predicted_class is not None
    sel = model_matchers(model, "predicted_class")
    total = prediction_total(model, window_ms)
    base = {naming.MODEL_LABEL: model.name}
    bins = []
    for cls, share in ml.class_priors:
        count = q.or_zero(increase(met.predicted_class, [*sel, (met.class_label, "=", cls)], window_ms))
        bins.append(Bin({**base, naming.CLASS_LABEL: cls}, per_positive(count, total), share))
    names = "|".join(q.regex_escape(c) for c, _ in ml.class_priors)
    known = q.or_zero(increase(met.predicted_class, [*sel, (met.class_label, "=~", names)], window_ms))
    bins.append(Bin({**base, naming.CLASS_LABEL: naming.OTHER_BIN}, per_positive(q.binop(total, "-", known), total),
                    0.0))
    return bins


def _confidence_increase(model: m.Model, suffix: str, window_ms: int) -> str:
    return q.agg("sum", q.call("increase", q.rng(series(model, "confidence", suffix=suffix), window_ms)))


def confidence_total(model: m.Model, window_ms: int) -> str:
    """Predictions in the window, counted by the confidence histogram (label-less)."""
    return _confidence_increase(model, naming.COUNT_SUFFIX, window_ms)


def confidence_sum(model: m.Model, window_ms: int) -> str:
    """The confidences observed in the window, summed (the histogram's `_sum`)."""
    return _confidence_increase(model, naming.SUM_SUFFIX, window_ms)


def top_class_share(model: m.Model, window_ms: int) -> str:
    """The largest class's share of the predictions, labelled with that class (the service's class
    label) so that PredictionSkew can say which class it is; empty when nothing was predicted."""
    cl = model.metrics.class_label
    sel = series(model, "predicted_class")
    by_class = q.agg("sum", q.call("increase", q.rng(sel, window_ms)), by=[cl])
    # group_left keeps the class label, which a one-to-one match would drop.
    return q.binop(q.call("topk", q.number(1), by_class), "/",
                   q.compare(prediction_total(model, window_ms), ">", 0), q.group_left(q.ignoring([cl])))


def confidence_quantile(model: m.Model, quantile: float, window_ms: int) -> str:
    sel = series(model, "confidence", suffix=naming.BUCKET_SUFFIX)
    return q.call("histogram_quantile", q.number(quantile), q.agg("sum", q.rate(sel, window_ms), by=["le"]))


def confidence_below(model: m.Model, floor: float, window_ms: int) -> str:
    under = q.agg("sum", q.rate(series(model, "confidence", [q.le_matcher(floor)], naming.BUCKET_SUFFIX), window_ms))
    return per_positive(under, q.agg("sum", q.rate(series(model, "confidence", suffix=naming.COUNT_SUFFIX),
                                                   window_ms)))


# ---------------------------------------------------------------- ground truth


def _labelled(model: m.Model, window_ms: int) -> str:
    return q.call("increase", q.rng(series(model, "ground_truth"), window_ms))


def _as_class(expr: str, src: str) -> str:
    return q.agg("sum", q.copy_label(expr, naming.CLASS_LABEL, src), by=[naming.CLASS_LABEL])


def class_counts(model: m.Model, window_ms: int) -> tuple[str, str, str]:
    """True positives, predicted and actual counts per class, each labelled `class`."""
    gt = _labelled(model, window_ms)
    pred, act = model.metrics.class_label, model.metrics.actual_class_label
    correct = q.label_equal_filter(gt, pred, act)
    tp = _as_class(q.agg("sum", correct, by=[pred]), pred)
    predicted = _as_class(q.agg("sum", gt, by=[pred]), pred)
    actual = _as_class(q.agg("sum", gt, by=[act]), act)
    return tp, predicted, actual


def precision_recall_f1(model: m.Model, window_ms: int) -> tuple[str, str, str]:
    tp, predicted, actual = class_counts(model, window_ms)
    tp_p = q.binop(tp, "or", q.zero_like(predicted))  # a class never predicted right has 0 true positives
    tp_a = q.binop(tp, "or", q.zero_like(actual))
    both = q.binop(q.binop(predicted, "or", q.zero_like(actual)), "+", q.binop(actual, "or", q.zero_like(predicted)))
    return (per_positive(tp_p, predicted), per_positive(tp_a, actual),
            per_positive(q.times("2", tp_a), both))


def labels_total(model: m.Model, window_ms: int) -> str:
    return q.agg("sum", _labelled(model, window_ms))


def accuracy(model: m.Model, window_ms: int) -> str:
    gt = _labelled(model, window_ms)
    correct = q.or_zero(q.agg("sum", q.label_equal_filter(gt, model.metrics.class_label,
                                                          model.metrics.actual_class_label)))
    return per_positive(correct, labels_total(model, window_ms))


LABEL_LAG_QUANTILES = (0.5, 0.9)  # recorded, and drawn on the dashboard, as p50 and p90


def label_lag_quantile(model: m.Model, quantile: float, window_ms: int) -> str:
    sel = series(model, "label_lag", suffix=naming.BUCKET_SUFFIX)
    return q.call("histogram_quantile", q.number(quantile), q.agg("sum", q.rate(sel, window_ms), by=["le"]))


def no_labels(model: m.Model, window_ms: int) -> str:
    """No label arrived in the window although predictions were served."""
    gt = series(model, "ground_truth")
    none = q.binop(q.compare(labels_total(model, window_ms), "==", 0), "or", q.call("absent", gt))
    served = q.compare(requests_total(model, window_ms), ">", 0)
    return q.set_op(q.paren(none), "and", q.paren(served), on_labels=())


def model_age_seconds(model: m.Model) -> str:
    return q.minus(q.call("time"), q.agg("max", series(model, "trained_at")))


# A model younger than this is counted in fine steps (YOUNG_STEP_MS or a few scrapes, whichever is
# longer), older in hourly ones: fine steps over the whole lookback would cost a month of them per
# evaluation, hourly ones leave a young model at nothing for its first one to two hours.
YOUNG_MS = 86_400_000
YOUNG_STEP_MS = 300_000


def labels_since_training(model: m.Model, lookback_ms: int, step_ms: int = 3_600_000) -> str:
    """Labels that arrived after the current model was trained.

    A subquery sums label increases per step over the lookback, keeping only the steps that
    start after the training time of the model serving now (`@ end()`: the value at evaluation
    time, not at each step), so it never overcounts. While the model is younger than a day the
    steps are minutes long (only the first step after training is lost); after that, hours long
    (the first partial hour is not counted). Before a first step ends it is 0, not empty, so the
    panel and the alert have a value from the training time's first scrape on (issue 18).
    """
    trained = q.agg("max", q.at_end(series(model, "trained_at")))
    fine_ms = max(YOUNG_STEP_MS, 4 * model.scrape.interval_ms)

    def counted(step: int, range_ms: int) -> str:
        after = q.compare(q.call("vector", q.minus(q.call("time"), step // 1000)), ">=", trained, on_labels=())
        per_step = q.agg("sum", q.call("increase", q.rng(series(model, "ground_truth"), step)))
        return q.call("sum_over_time", q.subquery(q.set_op(per_step, "and", q.paren(after), on_labels=()),
                                                  range_ms, step))

    young = q.compare(q.minus(q.call("time"), trained), "<", YOUNG_MS // 1000)
    recent = q.set_op(q.paren(counted(fine_ms, YOUNG_MS)), "and", q.paren(young), on_labels=())
    # Parenthesised: callers compare it, and a comparison binds tighter than `or`.
    return q.paren(q.set_op(q.set_op(q.paren(recent), "or", q.paren(counted(step_ms, lookback_ms))), "or",
                            q.paren(q.zero_like(trained))))
