#include "bwplan/enums.hpp"

#include <fmt/format.h>

#include "bwplan/error.hpp"
#include "bwplan/suggest.hpp"

namespace bwplan {

template <class E> E parse_enum_or_throw(std::string_view s, std::string_view field) {
  if (const std::optional<E> e = parse_enum<E>(s)) {
    return *e;
  }
  const std::vector<std::string> names = enum_names<E>();
  throw Error(fmt::format("{} '{}' is not known: allowed {}{}", field, s, join_names(names),
                          did_you_mean(s, names)));
}

template MlpKind parse_enum_or_throw<MlpKind>(std::string_view, std::string_view);
template NormKind parse_enum_or_throw<NormKind>(std::string_view, std::string_view);
template PositionKind parse_enum_or_throw<PositionKind>(std::string_view, std::string_view);
template Sharding parse_enum_or_throw<Sharding>(std::string_view, std::string_view);
template Precision parse_enum_or_throw<Precision>(std::string_view, std::string_view);
template ActivationCheckpointing parse_enum_or_throw<ActivationCheckpointing>(std::string_view,
                                                                              std::string_view);
template Optimizer parse_enum_or_throw<Optimizer>(std::string_view, std::string_view);
template Loss parse_enum_or_throw<Loss>(std::string_view, std::string_view);
template Fp8Backend parse_enum_or_throw<Fp8Backend>(std::string_view, std::string_view);
template GradAccumMode parse_enum_or_throw<GradAccumMode>(std::string_view, std::string_view);
template Offload parse_enum_or_throw<Offload>(std::string_view, std::string_view);
template OptimizerImpl parse_enum_or_throw<OptimizerImpl>(std::string_view, std::string_view);
template NormImpl parse_enum_or_throw<NormImpl>(std::string_view, std::string_view);
template FsdpWrap parse_enum_or_throw<FsdpWrap>(std::string_view, std::string_view);

} // namespace bwplan
