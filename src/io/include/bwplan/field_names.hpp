/// \file
/// How a field the model library names in a message is spelled where the message is shown: the
/// library writes a field as its key in backticks (`seq_len`), and the edge that knows where the
/// value came from spells it: as a flag on the command line (--seq-len), or as the bare key where
/// it came from a file's field of that name (a plan, a measured case, the schema).
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace bwplan::io {

/// The command-line flag of a field: `--` and the key with dashes ("micro_batch" ->
/// "--micro-batch"). k_flags_spelled_apart lists the few the command line spells otherwise.
[[nodiscard]] std::string config_flag(std::string_view key);

/// A field, or a field with one value, that the command line spells apart from config_flag(key):
/// `named` is what a message writes ("`offload` cpu"), `flag` what the command line says.
struct FlagSpelledApart {
  std::string_view named;
  std::string_view flag;
};

/// estimate's two switches: no-sync gradient accumulation (`grad_accum_mode` no-sync) and FSDP2's
/// CPU offload (`offload` cpu); a field's longer spelling first.
inline constexpr std::array<FlagSpelledApart, 3> k_flags_spelled_apart = {
    FlagSpelledApart{"`grad_accum_mode` no-sync", "--no-sync"},
    {"`offload` cpu", "--cpu-offload"},
    {"`offload`", "--cpu-offload"}};

/// How a message spells the fields it names: as the command line's flags, or as the keys of the
/// file they were read from (a plan, a measured case).
enum class Spelling : unsigned char { flags, keys };

/// `text` with each `key` (a backticked lower_snake_case name) spelled as its flag, or as the bare
/// key: "`seq_len` 5 ..." -> "--seq-len 5 ..." or "seq_len 5 ...". Text without such a name comes
/// back as it is.
[[nodiscard]] std::string spell_fields(std::string_view text, Spelling spelling);

} // namespace bwplan::io
