/// \file
/// What a training run's log says happened: torchtitan's metric lines (docs/bwplan.md,
/// `calibrate`), read into peak reserved memory and steady-state tokens/s per GPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bwplan {

struct TrainLog {
  /// The largest `memory:` figure (torchtitan's max_reserved_gib, the caching allocator's peak
  /// reserved since the previous metric line) over every metric line, in bytes.
  double peak_reserved_bytes = 0;
  std::int64_t peak_step = 0;
  /// The median `tps:` (tokens per second per device) over the steady lines: every metric line
  /// but the first, whose interval holds compilation, allocator warm-up and the first batch.
  double tokens_per_s_per_gpu = 0;
  std::vector<std::int64_t> steady_steps;
  std::int64_t warmup_step = 0; ///< the first metric line's step, left out of tokens/s
  /// From torchtitan's "Trainer is initialized with ..." line, when the log has one.
  std::optional<std::int64_t> local_batch, global_batch, grad_accum, seq_len;
};

/// Reads `text` (the log `file`): ANSI colour codes and rank prefixes ("[rank0]:") are ignored.
/// A metric line is one with `step:`, `memory:` and `tps:`. Throws Error naming the file and line
/// for a metric line whose numbers do not read, and the file when it has fewer than two.
[[nodiscard]] TrainLog parse_train_log(std::string_view text, const std::string& file);

} // namespace bwplan
