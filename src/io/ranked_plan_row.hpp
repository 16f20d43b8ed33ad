/// \file
/// A ranked search plan's row, defined once for the search table and the search report: the same
/// columns, in the same order, with the same words and numbers.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "bwplan/render.hpp"

namespace bwplan::io {

struct RankedColumn {
  std::string_view header;
  bool numeric = false; ///< right-aligned
};

inline constexpr std::array<RankedColumn, 25> k_ranked_columns = {{
    {"#", true},
    {"instance"},
    {"nodes", true},
    {"sharding"},
    {"tp x cp x pp"},
    {"precision"},
    {"loss"},
    {"checkpointing"},
    {"seq", true},
    {"mb", true},
    {"ga", true},
    {"required GiB", true},
    {"upper GiB", true},
    {"fits"},
    {"headroom GiB", true},
    {"memory used"},
    {"step s", true},
    {"tok/s/GPU", true},
    {"band", true},
    {"MFU", true},
    {"$/M tok", true},
    {"limited by"},
    {"pareto"},
    {"train h", true},
    {"train $", true},
}};

/// The column drawn as a meter (the table's text bar, the report's bar): its cell is empty and
/// RankedRow::memory_used gives the fraction.
inline constexpr std::size_t k_memory_used_column = 15;
static_assert(k_ranked_columns[k_memory_used_column].header == "memory used");

struct RankedRow {
  std::array<std::string, k_ranked_columns.size()> cells;
  double memory_used = 0; ///< device memory required / usable
};

/// tp x cp x pp, with the schedule under pipeline parallelism and ep under expert parallelism:
/// "1x1x4 interleaved-1f1b ep8". The ranked rows' cell and the report's other plans' label.
[[nodiscard]] std::string parallel_label(const TrainingConfig& k);

/// Plan `i` (0-based) of `r.result.plans`.
[[nodiscard]] RankedRow ranked_plan_row(const SearchReport& r, std::size_t i);

} // namespace bwplan::io
