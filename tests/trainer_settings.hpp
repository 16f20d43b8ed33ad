// The torchtitan settings a configuration launches with, one "section.key=value" per line: what
// the tests that hold the trainer mapping compare.
#pragma once

#include <string>

#include "bwplan/estimate.hpp"
#include "io/torchtitan_config.hpp"
#include "test_support.hpp"

namespace bwplan::test {

/// `c` for `m` on B200s, evaluated as `estimate` would, as torchtitan settings (throws
/// bwplan::Error where the trainer cannot run it).
inline std::string trainer_settings(const ModelSpec& m, const TrainingConfig& c) {
  EstimateRequest q;
  q.model = m;
  q.gpu = catalog().gpu("b200");
  q.config = c;
  const Estimate e = evaluate(q);
  std::string out;
  for (const io::TrainerSetting& s : io::torchtitan_settings(
           e, io::trainer_model(m, e.params.total, c.seq_len), io::TrainerRun{})) {
    out += s.section + "." + s.key + "=" + s.value.dump() + "\n";
  }
  return out;
}

} // namespace bwplan::test
