// The fit behind `bwplan calibrate` (docs/model.md, "Calibration"): per quantity, minimise the
// summed squared log errors of the runs plus a pull toward the shipped constants, by coordinate
// descent with a bracketing grid and golden-section search inside each constant's bounds.
#include "bwplan/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/units.hpp"
#include "bwplan/validation.hpp"

namespace bwplan {

namespace {

/// A case's figure for `q`, when it measured one.
std::optional<double> measured_of(const MeasurementCase& mc, Quantity q) {
  if (q == Quantity::memory) {
    if (mc.metric == Metric::fits) {
      return std::nullopt;
    }
    return mc.value_bytes;
  }
  return mc.tokens_per_second_per_gpu;
}

/// The cases that measured `q`, with what the constants' evaluation needs computed once.
struct Sample {
  const MeasurementCase* mc;
  ModelFacts facts;
  double measured;
};

double predict(const Sample& s, Quantity q, const ModelConstants& k);

/// The most a run's measured figure may be off its prediction from the starting constants, either
/// way (docs/bwplan.md, `calibrate`): the shipped model's worst runs are about twice off; ten
/// times is a unit mix-up, a broken log or another configuration's run, and fitting it would
/// drag the constants to their bounds and the bands past any use.
constexpr double k_max_run_ratio = 10.0;

/// What a run measured of `q`, as messages name it: "peak reserved memory", "tokens/s per GPU".
std::string quantity_of(const MeasurementCase& mc, Quantity q) {
  if (q == Quantity::throughput) {
    return "tokens/s per GPU";
  }
  return mc.metric == Metric::peak_allocated ? "peak allocated memory"
         : mc.metric == Metric::peak_active  ? "peak active memory"
                                             : "peak reserved memory";
}

/// `v` of `q` for messages: "0.001 GiB", "5957".
std::string figure(Quantity q, double v) {
  return q == Quantity::throughput ? fmt::format("{:.4g}", v)
                                   : fmt::format("{:.4g} GiB", to_gib(v));
}

/// A run as messages name it: its id and where its figures came from (for `calibrate --run`,
/// the plan and its log).
std::string run_name(const MeasurementCase& mc) {
  return mc.source.empty() ? fmt::format("run '{}'", mc.id)
                           : fmt::format("run '{}' ({})", mc.id, mc.source);
}

std::vector<Sample> samples_of(const std::vector<MeasurementCase>& cases, Quantity q,
                               const ModelConstants& shipped) {
  std::vector<Sample> s;
  for (const MeasurementCase& mc : cases) {
    if (const auto v = measured_of(mc, q)) {
      Sample x{&mc, model_facts(mc.request.model), *v};
      const double p = predict(x, q, shipped);
      if (!(x.measured > 0) || !std::isfinite(x.measured) || !(p > 0) || !std::isfinite(p)) {
        throw Error(fmt::format("{}: {} measured {} and predicted {}: calibration needs both "
                                "positive",
                                run_name(mc), quantity_of(mc, q), figure(q, x.measured),
                                figure(q, p)));
      }
      if (q == Quantity::throughput) {
        const std::string problem = measured_tokens_per_s_problem(
            evaluate(mc.request, shipped.memory, shipped.time), x.measured);
        if (!problem.empty()) {
          throw Error(fmt::format("{}: {} measured {}", run_name(mc), quantity_of(mc, q), problem));
        }
      }
      const double ratio = x.measured / p;
      if (!(ratio >= 1.0 / k_max_run_ratio && ratio <= k_max_run_ratio)) {
        const double off = ratio > 1 ? ratio : 1 / ratio;
        throw Error(fmt::format(
            "{}: {} measured {} against {} predicted, {} times {} (allowed within {:g} times of "
            "the prediction either way: a unit mix-up, a broken log or another configuration's "
            "run?)",
            run_name(mc), quantity_of(mc, q), figure(q, x.measured), figure(q, p),
            off < 1000 ? fmt::format("{:.3g}", off) : fmt::format("{:.0f}", off),
            ratio > 1 ? "more" : "less", k_max_run_ratio));
      }
      s.push_back(std::move(x));
    }
  }
  return s;
}

double predict(const Sample& s, Quantity q, const ModelConstants& k) {
  const EstimateRequest& r = s.mc->request;
  if (q == Quantity::memory) {
    return metric_band(estimate_memory(r.model, s.facts, r.config, r.gpu, k.memory), s.mc->metric)
        .estimate;
  }
  return estimate_step_time(r.model, s.facts, r.config, r.gpu, job_network(r, k.time), k.time)
      .tokens_per_s_per_gpu;
}

/// Cross-validation folds: leave-one-out up to this many runs, this many folds beyond (run i in
/// fold i mod folds), so the refits stay a bounded number however many runs there are.
constexpr std::size_t k_max_folds = 10;

std::size_t folds_of(std::size_t runs) {
  return std::min(runs, k_max_folds);
}

/// Log errors of `samples` under `k`, leaving out fold `skip` of `folds` (none when skip >= folds).
std::vector<double> residuals(const std::vector<Sample>& samples, Quantity q,
                              const ModelConstants& k, std::size_t skip, std::size_t folds) {
  std::vector<double> r;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (skip >= folds || i % folds != skip) {
      r.push_back(std::log(predict(samples[i], q, k) / samples[i].measured));
    }
  }
  return r;
}

struct Problem {
  const std::vector<Sample>* samples;
  Quantity q;
  std::size_t skip; ///< the fold left out (>= folds: none)
  std::size_t folds;
  std::vector<const FreeConstant*> free; ///< the identified constants
  const ModelConstants* shipped;
};

double objective(const Problem& p, const ModelConstants& k) {
  double sum = 0;
  for (double r : residuals(*p.samples, p.q, k, p.skip, p.folds)) {
    // Soft L1: r^2 for small errors, 2 delta |r| for large ones, so one run the model cannot
    // explain (a power-capped GPU, a different trainer) does not drag every constant toward it.
    const double u = r / k_calibration_robust_scale;
    sum += 2.0 * k_calibration_robust_scale * k_calibration_robust_scale *
           (std::sqrt(1.0 + u * u) - 1.0);
  }
  for (const FreeConstant* f : p.free) {
    const double d = (get_constant(k, f->key) - get_constant(*p.shipped, f->key)) / f->prior_scale;
    sum += k_calibration_prior_weight * d * d;
  }
  return sum;
}

/// Minimises the objective along one constant: a grid finds the best bracket, golden-section
/// search refines it (the objective is smooth; the grid guards against a second dip).
void minimise_along(const Problem& p, const FreeConstant& f, ModelConstants& k) {
  auto at = [&](double x) {
    set_constant(k, f.key, x);
    return objective(p, k);
  };
  constexpr int k_grid = 12;
  const double step = (f.hi - f.lo) / k_grid;
  double best_x = get_constant(k, f.key);
  double best = at(best_x);
  int best_i = -1;
  for (int i = 0; i <= k_grid; ++i) {
    const double v = at(f.lo + step * i);
    if (v < best) {
      best = v;
      best_i = i;
    }
  }
  double lo = best_i < 0 ? std::max(f.lo, best_x - step) : f.lo + step * std::max(0, best_i - 1);
  double hi =
      best_i < 0 ? std::min(f.hi, best_x + step) : f.lo + step * std::min(k_grid, best_i + 1);
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
  double fa = at(a), fb = at(b);
  for (int i = 0; i < 28; ++i) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = at(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = at(b);
    }
  }
  const double x = fa < fb ? a : b;
  const double fx = std::min(fa, fb);
  set_constant(k, f.key, fx < best ? x : (best_i < 0 ? best_x : f.lo + step * best_i));
}

ModelConstants fit(const Problem& p, ModelConstants k) {
  for (int sweep = 0; sweep < 30; ++sweep) {
    double moved = 0;
    for (const FreeConstant* f : p.free) {
      const double before = get_constant(k, f->key);
      minimise_along(p, *f, k);
      moved = std::max(moved, std::abs(get_constant(k, f->key) - before) / f->prior_scale);
    }
    if (moved < 1e-4) {
      break;
    }
  }
  return k;
}

/// A constant refused because the runs move it as they move one kept before it.
struct Alike {
  const FreeConstant* refused;
  const FreeConstant* kept;
};

/// Each free constant of `q` the samples identify; the others with the reason (and in `alike`
/// those only the order of k_free_constants refused).
std::vector<const FreeConstant*> identified(const std::vector<Sample>& samples, Quantity q,
                                            const ModelConstants& shipped,
                                            std::vector<UnfittedConstant>& refused,
                                            std::vector<Alike>& alike) {
  std::vector<const FreeConstant*> keep;
  std::vector<std::vector<double>> columns;
  for (const FreeConstant& f : k_free_constants) {
    if (f.quantity != q) {
      continue;
    }
    if (samples.empty()) {
      refused.push_back({std::string(f.key),
                         fmt::format("no run measured {}: needs {}",
                                     q == Quantity::memory ? "peak memory" : "tokens/s", f.needs)});
      continue;
    }
    // Central difference over a twentieth of the prior scale, inside the bounds.
    const double x0 = get_constant(shipped, f.key);
    const double h = f.prior_scale / 20.0;
    ModelConstants up = shipped, down = shipped;
    set_constant(up, f.key, std::min(f.hi, x0 + h));
    set_constant(down, f.key, std::max(f.lo, x0 - h));
    const double width = get_constant(up, f.key) - get_constant(down, f.key);
    const std::vector<double> ru = residuals(samples, q, up, 0, 0);
    const std::vector<double> rd = residuals(samples, q, down, 0, 0);
    std::vector<double> col(ru.size());
    double norm = 0;
    for (std::size_t i = 0; i < ru.size(); ++i) {
      col[i] = (ru[i] - rd[i]) / width * f.prior_scale;
      norm += col[i] * col[i];
    }
    norm = std::sqrt(norm);
    if (norm < k_calibration_min_sensitivity) {
      refused.push_back({std::string(f.key),
                         fmt::format("these runs do not constrain it (moving it by {:g} moves "
                                     "their predictions by {:.2f} %): needs {}",
                                     f.prior_scale, 100.0 * norm, f.needs)});
      continue;
    }
    const FreeConstant* parallel = nullptr;
    for (std::size_t j = 0; j < columns.size() && parallel == nullptr; ++j) {
      double dot = 0, other = 0;
      for (std::size_t i = 0; i < col.size(); ++i) {
        dot += col[i] * columns[j][i];
        other += columns[j][i] * columns[j][i];
      }
      if (std::abs(dot) / (norm * std::sqrt(other)) > k_calibration_max_collinearity) {
        parallel = keep[j];
      }
    }
    if (parallel != nullptr) {
      refused.push_back(
          {std::string(f.key), fmt::format("these runs cannot tell it apart from {}: needs {}",
                                           parallel->key, f.needs)});
      alike.push_back({&f, parallel});
      continue;
    }
    keep.push_back(&f);
    columns.push_back(std::move(col));
  }
  return keep;
}

/// Where the runs move two constants alike, the order of k_free_constants kept the first: the
/// runs cannot tell them apart, but one may explain them far better within its bounds (a fixed
/// 80 GB buffer is not 5x the activations). Of each such group the member that leaves the lowest
/// objective is fitted; the others are refused naming it.
void choose_among_alike(Problem& p, const std::vector<Alike>& alike,
                        std::vector<UnfittedConstant>& refused) {
  std::map<const FreeConstant*, const FreeConstant*> group; // member -> the group's first
  const auto root = [&](const FreeConstant* f) {
    while (group.count(f) != 0 && group[f] != f) {
      f = group[f];
    }
    return f;
  };
  for (const Alike& a : alike) {
    group.emplace(a.kept, a.kept);
    group[a.refused] = root(a.kept);
  }
  bool swapped = false;
  for (const Alike& a : alike) {
    const FreeConstant* first = root(a.kept);
    const auto slot = std::find_if(p.free.begin(), p.free.end(),
                                   [&](const FreeConstant* f) { return root(f) == first; });
    if (slot == p.free.end()) {
      continue;
    }
    Problem other = p;
    other.free[static_cast<std::size_t>(slot - p.free.begin())] = a.refused;
    if (objective(other, fit(other, *p.shipped)) < objective(p, fit(p, *p.shipped))) {
      for (UnfittedConstant& u : refused) {
        if (u.key == a.refused->key) {
          u.key = std::string((*slot)->key); // the entry now stands for the one swapped out
        }
      }
      p = other;
      swapped = true;
    }
  }
  if (!swapped) {
    return;
  }
  for (UnfittedConstant& u : refused) {
    const auto member = std::find_if(group.begin(), group.end(),
                                     [&](const auto& g) { return g.first->key == u.key; });
    if (member == group.end()) {
      continue;
    }
    const FreeConstant* first = root(member->first);
    const auto chosen = std::find_if(p.free.begin(), p.free.end(),
                                     [&](const FreeConstant* f) { return root(f) == first; });
    if (chosen != p.free.end()) {
      u.reason = fmt::format("these runs cannot tell it apart from {}, which explains them "
                             "better: needs {}",
                             (*chosen)->key, member->first->needs);
    }
  }
}

ErrorSummary summary_of(const std::vector<CalibratedRun>& runs, Quantity q,
                        double CalibratedRun::*predicted) {
  std::vector<double> e;
  for (const CalibratedRun& r : runs) {
    if (r.quantity == q) {
      e.push_back(std::abs(100.0 * (r.*predicted - r.measured) / r.measured));
    }
  }
  ErrorSummary s;
  s.runs = static_cast<int>(e.size());
  s.median_abs_pct = median_of(e);
  s.max_abs_pct = e.empty() ? 0.0 : *std::max_element(e.begin(), e.end());
  return s;
}

CalibrationRange range_of(const std::vector<MeasurementCase>& cases) {
  CalibrationRange r;
  for (const MeasurementCase& mc : cases) {
    const TrainingConfig& c = mc.request.config;
    auto add = [](std::vector<std::string>& v, const std::string& s) {
      if (std::find(v.begin(), v.end(), s) == v.end()) {
        v.push_back(s);
      }
    };
    add(r.gpus, mc.request.gpu.name);
    add(r.models, mc.request.model.name);
    const bool first = &mc == &cases.front();
    r.seq_len_min = first ? c.seq_len : std::min(r.seq_len_min, c.seq_len);
    r.seq_len_max = first ? c.seq_len : std::max(r.seq_len_max, c.seq_len);
    r.gpus_min = first ? c.gpus : std::min(r.gpus_min, c.gpus);
    r.gpus_max = first ? c.gpus : std::max(r.gpus_max, c.gpus);
  }
  std::sort(r.gpus.begin(), r.gpus.end());
  std::sort(r.models.begin(), r.models.end());
  return r;
}

} // namespace

Calibration calibrate(const std::vector<MeasurementCase>& cases, const ModelConstants& shipped) {
  if (cases.size() > k_max_calibration_cases) {
    throw Error(fmt::format("calibrate takes at most {} runs (got {}): give the runs of the stack "
                            "and hardware to calibrate for",
                            k_max_calibration_cases, cases.size()));
  }
  Calibration cal;
  cal.constants = shipped;
  cal.range = range_of(cases);
  for (const Quantity q : {Quantity::memory, Quantity::throughput}) {
    const std::vector<Sample> samples = samples_of(cases, q, shipped);
    const std::size_t folds = folds_of(samples.size());
    std::vector<Alike> alike;
    Problem p{&samples, q, folds, folds, identified(samples, q, shipped, cal.not_fitted, alike),
              &shipped};
    choose_among_alike(p, alike, cal.not_fitted);
    const ModelConstants fitted = fit(p, shipped);
    std::vector<ModelConstants> without(folds, shipped);
    for (std::size_t f = 0; f < folds && folds > 1; ++f) {
      Problem left_out = p;
      left_out.skip = f;
      without[f] = fit(left_out, shipped);
    }
    const std::size_t first = cal.runs.size();
    for (std::size_t i = 0; i < samples.size(); ++i) {
      CalibratedRun r;
      r.id = samples[i].mc->id;
      r.source = samples[i].mc->source;
      r.quantity = q;
      r.measured = samples[i].measured;
      r.before = predict(samples[i], q, shipped);
      r.after = predict(samples[i], q, fitted);
      r.leave_one_out = predict(samples[i], q, without[i % folds]); // shipped for one run
      cal.runs.push_back(std::move(r));
    }
    CalibrationErrors& e = q == Quantity::memory ? cal.memory : cal.throughput;
    e.before = summary_of(cal.runs, q, &CalibratedRun::before);
    e.leave_one_out = summary_of(cal.runs, q, &CalibratedRun::leave_one_out);
    // Cross-validation decides: a fit whose left-out predictions are worse than the shipped
    // constants' would make runs it has not seen worse too, so the shipped values stay.
    const bool worse = e.leave_one_out.median_abs_pct > e.before.median_abs_pct;
    for (const FreeConstant* f : p.free) {
      const double v = get_constant(fitted, f->key);
      if (worse) {
        cal.not_fitted.push_back(
            {std::string(f->key),
             fmt::format("fitted to {:.4g}, but left-out runs came out worse than with the shipped "
                         "constants (median |error| {:.1f} % against {:.1f} %): kept {:.4g}",
                         v, e.leave_one_out.median_abs_pct, e.before.median_abs_pct,
                         get_constant(shipped, f->key))});
        continue;
      }
      set_constant(cal.constants, f->key, v);
      cal.fitted.push_back({std::string(f->key), get_constant(shipped, f->key), v});
    }
    if (worse) {
      for (std::size_t i = first; i < cal.runs.size(); ++i) {
        cal.runs[i].after = cal.runs[i].before;
      }
    }
    e.after = summary_of(cal.runs, q, &CalibratedRun::after);
  }
  for (const MeasurementCase& mc : cases) {
    if (mc.metric != Metric::fits) {
      continue;
    }
    ++cal.fit_cases;
    cal.fit_right_before +=
        evaluate(mc.request, shipped.memory, shipped.time).memory.fits() == mc.fits ? 1 : 0;
    cal.fit_right_after +=
        evaluate(mc.request, cal.constants.memory, cal.constants.time).memory.fits() == mc.fits ? 1
                                                                                                : 0;
  }
  return cal;
}

void apply_calibrated_bands(const Calibration& cal, ModelConstants& k) {
  // Signed worst cases of the fit's own and leave-one-out predictions (measured / predicted - 1
  // for memory, as the shipped band is; predicted / measured - 1 for tokens/s).
  // Each with the run and prediction behind it, so that a band no constant can hold names them.
  struct Worst {
    double v = 0;
    const CalibratedRun* run = nullptr;
    bool left_out = false;
  };
  Worst mem_over, mem_under, tps_over, tps_under;
  const auto take = [](Worst& w, double v, const CalibratedRun& r, bool left_out) {
    if (v > w.v) {
      w = {v, &r, left_out};
    }
  };
  for (const CalibratedRun& r : cal.runs) {
    for (const bool left_out : {false, true}) {
      const double predicted = left_out ? r.leave_one_out : r.after;
      if (r.quantity == Quantity::memory) {
        const double e = r.measured / predicted - 1.0; // > 0: the run held more
        take(mem_over, e, r, left_out);
        take(mem_under, -e, r, left_out);
      } else {
        take(tps_over, predicted / r.measured - 1.0, r, left_out);  // predicted too fast
        take(tps_under, r.measured / predicted - 1.0, r, left_out); // predicted too slow
      }
    }
  }
  ModelConstants widened = k; // k changes only when every band holds
  auto widen = [&](std::string_view key, const Worst& w) {
    const double v = std::max(get_constant(widened, key), std::ceil(w.v * 100.0) / 100.0);
    try {
      set_constant(widened, key, v);
    } catch (const Error& e) {
      // Only a run the fit cannot come near gets here (samples_of refuses one far off the
      // starting prediction): name it and its prediction.
      const Quantity q = w.run->quantity;
      throw Error(fmt::format(
          "run '{}' ({}): {} measured {}, predicted {} {}, so {} "
          "(calibrate needs runs the fit comes nearer)",
          w.run->id, w.run->source, q == Quantity::memory ? "memory" : "tokens/s per GPU",
          figure(q, w.run->measured), figure(q, w.left_out ? w.run->leave_one_out : w.run->after),
          w.left_out ? "by the fit without it" : "by the fit", e.what()));
    }
  };
  if (cal.memory.after.runs > 0) {
    widen("memory.band_high_fraction", mem_over);
    widen("memory.band_low_fraction", mem_under);
  }
  if (cal.throughput.after.runs > 0) {
    widen("time.band_low_fraction", tps_over);
    widen("time.band_high_fraction", tps_under);
  }
  k = std::move(widened);
}

} // namespace bwplan
