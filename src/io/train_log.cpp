// torchtitan's metric line (pytorch/torchtitan@73a0e6979dd10b6b1904098eb3c8f62c18ab87ce,
// torchtitan/components/metrics.py, MetricsProcessor.log):
//   step: {step:2}  loss: {:8.5f}  grad_norm: {:7.4f}  memory: {max_reserved_gib:5.2f}GiB({:.2f}%)
//   tps: {round(tps):,}  tflops: {:,.2f}  mfu: {:.2f}%
// with colour codes between the fields unless disable_color_printing, behind the logger's
// "[titan] <time> - root - INFO - " prefix (torchtitan/tools/logging.py); and its header
// "Trainer is initialized with local batch size N, global batch size N, gradient accumulation
// steps N, sequence length N, ..." (torchtitan/train.py).
#include "bwplan/train_log.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/validation.hpp"

namespace bwplan {

namespace {

/// `line` without ANSI escape sequences (ESC '[' parameters, a final letter).
std::string strip_ansi(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !std::isalpha(static_cast<unsigned char>(line[i]))) {
        ++i;
      }
      continue;
    }
    out.push_back(line[i]);
  }
  return out;
}

/// The number after `label` in `line` (spaces skipped, thousands commas dropped), if the label
/// is there; throws when the label is there and no number follows.
std::optional<double> number_after(const std::string& line, std::string_view label,
                                   const std::string& where) {
  const std::size_t at = line.find(label);
  if (at == std::string::npos) {
    return std::nullopt;
  }
  std::size_t i = at + label.size();
  while (i < line.size() && line[i] == ' ') {
    ++i;
  }
  std::string digits;
  while (i < line.size() &&
         (std::isdigit(static_cast<unsigned char>(line[i])) || line[i] == ',' || line[i] == '.')) {
    if (line[i] != ',') {
      digits.push_back(line[i]);
    }
    ++i;
  }
  double v = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) {
    throw Error(fmt::format("{}: '{}' is not followed by a number", where, label));
  }
  return v;
}

/// number_after() for a count: a whole number in 0..1e12 (steps, batch sizes, sequence lengths).
std::optional<std::int64_t> count_after(const std::string& line, std::string_view label,
                                        const std::string& where) {
  const std::optional<double> v = number_after(line, label, where);
  if (!v) {
    return std::nullopt;
  }
  if (!(*v >= 0 && *v <= 1e12) || *v != std::floor(*v)) {
    throw Error(fmt::format("{}: '{}' {} is not a count (allowed whole numbers 0..1e12)", where,
                            label, *v));
  }
  return static_cast<std::int64_t>(*v);
}

} // namespace

TrainLog parse_train_log(std::string_view text, const std::string& file) {
  TrainLog log;
  std::vector<double> tps;
  bool seen_first = false;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string line = strip_ansi(text.substr(start, end - start));
    start = end + 1;
    ++line_no;
    const std::string where = fmt::format("{}:{}", file, line_no);
    if (line.find("Trainer is initialized with") != std::string::npos) {
      auto integer = [&](std::string_view label) { return count_after(line, label, where); };
      log.local_batch = integer("local batch size");
      log.global_batch = integer("global batch size");
      log.grad_accum = integer("gradient accumulation steps");
      log.seq_len = integer("sequence length");
      continue;
    }
    if (line.find("step:") == std::string::npos || line.find("memory:") == std::string::npos ||
        line.find("tps:") == std::string::npos) {
      continue;
    }
    const std::int64_t step = *count_after(line, "step:", where);
    const double gib = *number_after(line, "memory:", where);
    if (line.find("GiB", line.find("memory:")) == std::string::npos) {
      throw Error(fmt::format("{}: memory is not in GiB", where));
    }
    const double rate = *number_after(line, "tps:", where);
    if (!(gib > 0 && gib < 1e6)) {
      throw Error(fmt::format("{}: memory {} GiB is out of range (allowed above 0, below 1e6)",
                              where, gib));
    }
    if (!(rate > 0 && rate < 1e9)) {
      throw Error(
          fmt::format("{}: tps {} is out of range (allowed above 0, below 1e9)", where, rate));
    }
    const double bytes = gib * 1024.0 * 1024.0 * 1024.0;
    if (bytes > log.peak_reserved_bytes) {
      log.peak_reserved_bytes = bytes;
      log.peak_step = step;
    }
    if (!seen_first) {
      seen_first = true;
      log.warmup_step = step;
      continue;
    }
    tps.push_back(rate);
    log.steady_steps.push_back(step);
  }
  if (!seen_first) {
    throw Error(fmt::format("{}: has no metric lines (torchtitan's 'step: ... memory: ...GiB "
                            "... tps: ...'); is it the training log of rank 0?",
                            file));
  }
  if (tps.empty()) {
    throw Error(fmt::format("{}: has one metric line (step {}), which is warm-up; tokens/s needs "
                            "at least one more (run more steps than metrics.log_freq)",
                            file, log.warmup_step));
  }
  log.tokens_per_s_per_gpu = median_of(tps);
  return log;
}

} // namespace bwplan
