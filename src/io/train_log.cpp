// The metric lines read, each from its trainer's source:
// - torchtitan (pytorch/torchtitan@73a0e6979dd10b6b1904098eb3c8f62c18ab87ce,
//   torchtitan/components/metrics.py, MetricsProcessor.log):
//     step: {step:2}  loss: {:8.5f}  grad_norm: {:7.4f}  memory:
//     {max_reserved_gib:5.2f}GiB({:.2f}%) tps: {round(tps):,}  tflops: {:,.2f}  mfu: {:.2f}%
//   with colour codes between the fields unless disable_color_printing, behind the logger's
//   "[titan] <time> - root - INFO - " prefix (torchtitan/tools/logging.py); and its header
//   "Trainer is initialized with local batch size N, global batch size N, gradient accumulation
//   steps N, sequence length N, ..." (torchtitan/train.py).
// - torchtune (pytorch/torchtune@a6290a5b40758f13bca61c386bc8756a49ef417e (v0.6.1),
//   torchtune/training/metric_logging.py, DiskLogger/StdoutLogger.log_dict):
//     Step {step} | loss:{} lr:{} tokens_per_second_per_gpu:{} peak_memory_active:{}
//     peak_memory_alloc:{} peak_memory_reserved:{} ...
//   (recipes/full_finetune_distributed.py; the memory figures, GiB, only with
//   log_peak_memory_stats, reset after each line: torchtune/training/memory.py
//   get_memory_stats). A value may print as a tensor, "tensor(1234.5, device='cuda:0')".
// - Megatron-LM (NVIDIA/Megatron-LM@0d7e02bd26d3eb347ad8d1bef625002babfa6df7 (core_v0.15.0),
//   megatron/training/training.py, training_log):
//     [date] iteration {:8d}/{:8d} | consumed samples: ... | elapsed time per iteration (ms):
//     {:.1f} | ... | global batch size: {:5d} | ...
//   once "[Rank N] (after N iterations) memory (MB) | allocated: ... | max allocated: ... |
//   reserved: ... | max reserved: ..." (megatron/training/utils.py, report_memory), and the
//   argument list "  seq_length ........ 8192" (megatron/training/arguments.py, _print_args).
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
/// is there; throws when the label is there and no number follows, or, when `whole` (a value the
/// trainer prints as an integer: a step, torchtitan's round(tps)), a fraction or an exponent does
/// ("tps: 6.001" is another locale's 6,001, not 6 tokens/s).
std::optional<double> number_after(const std::string& line, std::string_view label,
                                   const std::string& where, bool whole = false) {
  const std::size_t at = line.find(label);
  if (at == std::string::npos) {
    return std::nullopt;
  }
  std::size_t i = at + label.size();
  while (i < line.size() && line[i] == ' ') {
    ++i;
  }
  if (line.compare(i, 7, "tensor(") == 0) { // torchtune logs some values as 0-d tensors
    i += 7;
  }
  std::string digits;
  const std::size_t start = i;
  while (i < line.size() &&
         (std::isdigit(static_cast<unsigned char>(line[i])) || line[i] == ',' || line[i] == '.' ||
          ((line[i] == 'e' || line[i] == 'E') && !digits.empty()) ||
          ((line[i] == '+' || line[i] == '-') && !digits.empty() &&
           (digits.back() == 'e' || digits.back() == 'E')))) {
    if (line[i] != ',') {
      digits.push_back(line[i]);
    }
    ++i;
  }
  // Thousands commas only where Python's "{:,}" puts them: between groups of three digits of the
  // whole part, after a first group of one to three ("5,957", "1,234,567"); "5,,957", ",5990" or
  // "59,57" are not numbers. A comma after the number is punctuation ("tensor(2101.0, device").
  std::string_view written(line.data() + start, i - start);
  while (!written.empty() && written.back() == ',') {
    written.remove_suffix(1);
  }
  if (written.find(',') != std::string_view::npos) {
    const std::size_t integral = std::min(written.find_first_of(".eE"), written.size());
    bool grouped =
        integral == written.size() || written.find(',', integral) == std::string_view::npos;
    std::size_t group = 0;
    bool first = true;
    for (std::size_t j = 0; j <= integral && grouped; ++j) {
      if (j == integral || written[j] == ',') {
        grouped = first ? group >= 1 && group <= 3 : group == 3;
        first = false;
        group = 0;
      } else {
        ++group;
      }
    }
    if (!grouped) {
      throw Error(fmt::format("{}: '{}' is followed by '{}', whose thousands separators are "
                              "misplaced (allowed: a comma between groups of three digits, as "
                              "in 5,957)",
                              where, label,
                              written.size() > 32 ? std::string(written.substr(0, 32)) + "..."
                                                  : std::string(written)));
    }
  }
  double v = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  // "0x30GiB" is hexadecimal, not 0 followed by a unit
  const bool hex = i < line.size() && (line[i] == 'x' || line[i] == 'X');
  if (digits.empty() || hex || ec != std::errc() || p != digits.data() + digits.size()) {
    // what follows, up to the next space, quoted (at most 32 bytes)
    const std::size_t stop = std::min(line.find(' ', start), line.size());
    const std::string after = line.substr(start, std::min<std::size_t>(stop - start, 32));
    throw Error(fmt::format("{}: '{}' is not followed by a number{}", where, label,
                            after.empty() ? std::string() : fmt::format(" ('{}')", after)));
  }
  if (whole && digits.find_first_of(".eE") != std::string::npos) {
    throw Error(fmt::format("{}: '{}' {} is not a whole number (the trainer prints it as an "
                            "integer, with thousands commas: 6,001)",
                            where, label, written));
  }
  return v;
}

/// number_after() for a count: a whole number in 0..1e12 (steps, batch sizes, sequence lengths).
std::optional<std::int64_t> count_after(const std::string& line, std::string_view label,
                                        const std::string& where) {
  const std::optional<double> v = number_after(line, label, where, true);
  if (!v) {
    return std::nullopt;
  }
  if (!(*v >= 0 && *v <= 1e12) || *v != std::floor(*v)) {
    throw Error(fmt::format("{}: '{}' {} is not a count (allowed whole numbers 0..1e12)", where,
                            label, *v));
  }
  return static_cast<std::int64_t>(*v);
}

/// Megatron's argument-list value of `key` ("  seq_length ..... 8192"), when the line is that
/// argument and its value is a number ("None" and the like are not); throws for 0 or less, which
/// no size or degree can be.
std::optional<std::int64_t> megatron_arg(const std::string& line, std::string_view key,
                                         const std::string& where) {
  const std::size_t at = line.find(fmt::format(" {} .", key));
  if (at == std::string::npos) {
    return std::nullopt;
  }
  std::size_t i = at + key.size() + 2;
  while (i < line.size() && (line[i] == '.' || line[i] == ' ')) {
    ++i;
  }
  std::int64_t v = 0;
  const char* end = line.data() + line.size();
  const auto [p, ec] = std::from_chars(line.data() + i, end, v);
  if (ec != std::errc() || p != end) {
    return std::nullopt;
  }
  if (v < 1) {
    throw Error(fmt::format("{}: {} {} (allowed 1 and more)", where, key, v));
  }
  return v;
}

/// One metric line: its step and what it measured.
struct MetricLine {
  LogFormat format = LogFormat::torchtitan;
  std::int64_t step = 0;
  std::optional<double> reserved_bytes;
  double tokens_per_s_per_gpu = 0;          ///< torchtitan, torchtune
  double seconds = 0;                       ///< Megatron
  std::optional<std::int64_t> global_batch; ///< Megatron
};

constexpr double k_gib = 1024.0 * 1024.0 * 1024.0;

void check_rate(double rate, const std::string& where) {
  if (!(rate > 0 && rate < 1e9)) {
    throw Error(fmt::format("{}: tokens/s per GPU {} is out of range (allowed above 0, below 1e9)",
                            where, rate));
  }
}

double checked_gib(double gib, const std::string& where) {
  if (!(gib > 0 && gib < 1e6)) {
    throw Error(
        fmt::format("{}: memory {} GiB is out of range (allowed above 0, below 1e6)", where, gib));
  }
  return gib * k_gib;
}

bool has(const std::string& line, std::string_view s) {
  return line.find(s) != std::string::npos;
}

/// Throws when `label` is on the line more than once: two metric lines run together (ranks
/// writing at once without newlines), whose values the reader would otherwise take one of.
void once(const std::string& line, std::string_view label, const std::string& where) {
  const std::size_t at = line.find(label);
  if (at != std::string::npos && line.find(label, at + label.size()) != std::string::npos) {
    throw Error(fmt::format("{}: '{}' appears twice on one line: two metric lines run together "
                            "(ranks writing at once?); give rank 0's log, one line per step",
                            where, label));
  }
}

/// The line as a metric line of one of the trainers, if it is one.
std::optional<MetricLine> metric_line(const std::string& line, const std::string& where) {
  MetricLine m;
  if (has(line, "step:") && has(line, "memory:") && has(line, "tps:")) {
    once(line, "tps:", where);
    once(line, "memory:", where);
    m.format = LogFormat::torchtitan;
    m.step = *count_after(line, "step:", where);
    const double gib = *number_after(line, "memory:", where);
    if (line.find("GiB", line.find("memory:")) == std::string::npos) {
      throw Error(fmt::format("{}: memory is not in GiB", where));
    }
    m.reserved_bytes = checked_gib(gib, where);
    m.tokens_per_s_per_gpu = *number_after(line, "tps:", where, true); // round(tps):,
    check_rate(m.tokens_per_s_per_gpu, where);
    return m;
  }
  if (has(line, "Step ") && has(line, "tokens_per_second_per_gpu:")) {
    once(line, "tokens_per_second_per_gpu:", where);
    once(line, "peak_memory_reserved:", where);
    m.format = LogFormat::torchtune;
    m.step = *count_after(line, "Step ", where);
    m.tokens_per_s_per_gpu = *number_after(line, "tokens_per_second_per_gpu:", where);
    check_rate(m.tokens_per_s_per_gpu, where);
    if (const auto gib = number_after(line, "peak_memory_reserved:", where)) {
      m.reserved_bytes = checked_gib(*gib, where);
    }
    return m;
  }
  if (has(line, "iteration") && has(line, "elapsed time per iteration (ms):")) {
    once(line, "elapsed time per iteration (ms):", where);
    once(line, "global batch size:", where);
    m.format = LogFormat::megatron;
    m.step = *count_after(line, "iteration", where);
    const double ms = *number_after(line, "elapsed time per iteration (ms):", where);
    if (!(ms >= 0.1 && ms < 1e9)) { // Megatron prints one decimal
      throw Error(fmt::format("{}: elapsed time per iteration {} ms is out of range (allowed "
                              "0.1 up to 1e9)",
                              where, ms));
    }
    m.seconds = ms / 1000.0;
    m.global_batch = count_after(line, "global batch size:", where);
    if (m.global_batch && *m.global_batch < 1) {
      throw Error(fmt::format("{}: global batch size 0 (allowed 1 and more)", where));
    }
    return m;
  }
  return std::nullopt;
}

} // namespace

std::string_view name_of(LogFormat f) {
  switch (f) {
  case LogFormat::torchtitan: return "torchtitan";
  case LogFormat::torchtune: return "torchtune";
  case LogFormat::megatron: return "Megatron-LM";
  }
  return "?";
}

TrainLog parse_train_log(std::string_view text, const std::string& file) {
  TrainLog log;
  std::vector<double> steady; // each steady line's figure: tokens/s per GPU, or Megatron's seconds
  bool seen_first = false;
  std::int64_t last_step = 0;
  std::size_t line_no = 0;
  std::size_t start = 0;
  const auto peak = [&](double bytes, std::int64_t step) {
    if (bytes > log.peak_reserved_bytes) {
      log.peak_reserved_bytes = bytes;
      log.peak_step = step;
    }
  };
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    // a CRLF log's '\r' ends no value: read as part of the line, it hid every Megatron argument
    std::string_view raw = text.substr(start, end - start);
    while (!raw.empty() && raw.back() == '\r') {
      raw.remove_suffix(1);
    }
    const std::string line = strip_ansi(raw);
    start = end + 1;
    ++line_no;
    const std::string where = fmt::format("{}:{}", file, line_no);
    if (has(line, "Trainer is initialized with")) {
      if (seen_first) {
        throw Error(fmt::format("{}: a second run starts here (torchtitan's 'Trainer is "
                                "initialized with' after metric lines): give the log of one run",
                                where));
      }
      auto integer = [&](std::string_view label) { return count_after(line, label, where); };
      log.local_batch = integer("local batch size");
      log.global_batch = integer("global batch size");
      log.grad_accum = integer("gradient accumulation steps");
      log.seq_len = integer("sequence length");
      continue;
    }
    if (has(line, "memory (MB)") && has(line, "max reserved:")) { // Megatron's report_memory
      const double mb = *number_after(line, "max reserved:", where);
      peak(checked_gib(mb / 1024.0, where), count_after(line, "(after", where).value_or(0));
      continue;
    }
    for (const auto& [key, field] : {std::pair{"seq_length", &TrainLog::seq_len},
                                     {"micro_batch_size", &TrainLog::micro_batch},
                                     {"global_batch_size", &TrainLog::global_batch},
                                     {"world_size", &TrainLog::world_size},
                                     {"tensor_model_parallel_size", &TrainLog::tp},
                                     {"pipeline_model_parallel_size", &TrainLog::pp},
                                     {"context_parallel_size", &TrainLog::cp},
                                     {"expert_model_parallel_size", &TrainLog::ep}}) {
      if (const auto v = megatron_arg(line, key, where)) {
        log.*field = v;
      }
    }
    const std::optional<MetricLine> m = metric_line(line, where);
    if (!m) {
      continue;
    }
    if (seen_first && m->format != log.format) {
      throw Error(fmt::format("{}: a {} metric line in a {} log", where, name_of(m->format),
                              name_of(log.format)));
    }
    if (seen_first && m->step <= last_step) {
      throw Error(fmt::format("{}: step {} after step {}: the metric lines must be one run's "
                              "and one rank's, in order (a resumed job logs its steps again, "
                              "and every rank logs each step; give rank 0's log of one run)",
                              where, m->step, last_step));
    }
    last_step = m->step;
    if (m->reserved_bytes) {
      peak(*m->reserved_bytes, m->step);
    }
    if (!seen_first) {
      seen_first = true;
      log.format = m->format;
      log.warmup_step = m->step;
      continue;
    }
    if (m->global_batch) {
      if (log.global_batch && *log.global_batch != *m->global_batch) {
        throw Error(fmt::format("{}: global batch size {} after {}: tokens/s needs one batch size "
                                "(a batch-size ramp-up is not read)",
                                where, *m->global_batch, *log.global_batch));
      }
      log.global_batch = m->global_batch;
    }
    steady.push_back(m->format == LogFormat::megatron ? m->seconds : m->tokens_per_s_per_gpu);
    log.steady_steps.push_back(m->step);
  }
  if (!seen_first) {
    throw Error(fmt::format("{}: has no metric lines (torchtitan's 'step: ... memory: ...GiB ... "
                            "tps: ...', torchtune's 'Step N | ... tokens_per_second_per_gpu:...' "
                            "or Megatron-LM's 'iteration N/M | ... elapsed time per iteration "
                            "(ms): ...'); is it the training log of rank 0?",
                            file));
  }
  if (steady.empty()) {
    throw Error(fmt::format("{}: has one metric line (step {}), which is warm-up; tokens/s needs "
                            "at least one more (log more often, or run more steps)",
                            file, log.warmup_step));
  }
  if (log.format == LogFormat::megatron) {
    log.step_seconds = median_of(steady);
    if (!log.global_batch) {
      throw Error(fmt::format("{}: Megatron-LM metric lines without 'global batch size:'", file));
    }
  } else {
    log.tokens_per_s_per_gpu = median_of(steady);
  }
  return log;
}

double steady_tokens_per_s_per_gpu(const TrainLog& log, std::int64_t seq_len, std::int64_t gpus) {
  if (log.format != LogFormat::megatron) {
    return log.tokens_per_s_per_gpu;
  }
  return static_cast<double>(*log.global_batch) * static_cast<double>(seq_len) /
         (log.step_seconds * static_cast<double>(gpus));
}

} // namespace bwplan
