#include "ctsync/flow_key.hpp"

#include <random>

namespace ctsync::detail {

namespace {
std::uint64_t random_seed() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32 | rd()) | 1;
}
}  // namespace

const std::uint64_t hash_seed = random_seed();

}  // namespace ctsync::detail
