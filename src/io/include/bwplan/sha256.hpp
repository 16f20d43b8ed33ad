/// \file
/// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex: what a calibration profile records
/// of its inputs and what a plan records of the profile it was made with.
#pragma once

#include <string>
#include <string_view>

namespace bwplan::io {

[[nodiscard]] std::string sha256_hex(std::string_view bytes);

} // namespace bwplan::io
