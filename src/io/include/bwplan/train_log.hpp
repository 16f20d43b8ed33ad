/// \file
/// What a training run's log says happened (docs/bwplan.md, `calibrate`): peak reserved memory
/// and steady-state tokens/s per GPU, read from torchtitan's, torchtune's or Megatron-LM's metric
/// lines, with the batch shape the log states about itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bwplan {

/// The trainers whose logs are read; the first metric line decides.
enum class LogFormat : std::uint8_t { torchtitan, torchtune, megatron };
[[nodiscard]] std::string_view name_of(LogFormat f);

struct TrainLog {
  LogFormat format = LogFormat::torchtitan;
  /// The largest peak-reserved figure over the log, in bytes: torchtitan's `memory:`,
  /// torchtune's `peak_memory_reserved:` (both the caching allocator's peak since the previous
  /// line), Megatron's `max reserved:` (since the start, printed once). 0: the log has none
  /// (torchtune without log_peak_memory_stats), so the run says only that the plan fitted.
  double peak_reserved_bytes = 0;
  std::int64_t peak_step = 0;
  /// The median tokens/s per GPU over the steady lines, every metric line but the first (whose
  /// interval holds compilation, allocator warm-up and the first batch). torchtitan's `tps:` and
  /// torchtune's `tokens_per_second_per_gpu:` state it; Megatron states seconds per iteration,
  /// and steady_tokens_per_s_per_gpu() converts them with the plan's sequence length and GPUs.
  double tokens_per_s_per_gpu = 0;
  double step_seconds = 0; ///< Megatron: the median `elapsed time per iteration (ms)` / 1000
  std::vector<std::int64_t> steady_steps;
  std::int64_t warmup_step = 0; ///< the first metric line's step, left out of tokens/s
  /// What the log says of its own run, when it says it: torchtitan's "Trainer is initialized
  /// with ..." line; Megatron's argument list and `global batch size:`. local_batch is the
  /// sequences a rank's loader takes per step (torchtitan's local batch), micro_batch those of
  /// one micro-batch (Megatron's micro_batch_size), global_batch the sequences per optimizer step
  /// over the job.
  std::optional<std::int64_t> local_batch, micro_batch, global_batch, grad_accum, seq_len,
      world_size, tp, pp, cp, ep;
};

/// Reads `text` (the log `file`): ANSI colour codes and rank prefixes ("[rank0]:") are ignored.
/// Throws Error naming the file and line for a metric line whose numbers do not read or that is
/// of another trainer than the first, and naming the file when it has fewer than two.
[[nodiscard]] TrainLog parse_train_log(std::string_view text, const std::string& file);

/// Steady tokens/s per GPU: the log's own figure, or for Megatron global batch x seq_len /
/// (seconds per iteration x gpus).
[[nodiscard]] double steady_tokens_per_s_per_gpu(const TrainLog& log, std::int64_t seq_len,
                                                 std::int64_t gpus);

} // namespace bwplan
