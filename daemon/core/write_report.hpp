#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ctsync/clock.hpp"

namespace ctsync {

// What happened to one flow of a write to the kernel's table.
enum class WriteOutcome : std::uint8_t { created, updated, replaced, failed };
std::string_view write_outcome_name(WriteOutcome o);

struct WriteResult {
  WriteOutcome outcome = WriteOutcome::failed;
  int error = 0;  // errno from the kernel when failed (ENOMEM: table full, ...)
};

// The tally of a commit, a purge or any batched write.
struct WriteReport {
  std::size_t total = 0;
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t replaced = 0;
  std::size_t failed = 0;
  std::map<int, std::size_t> failures;  // errno -> count
  Duration duration{};

  void add(const WriteResult& r);
  void add(const WriteReport& other);  // sums everything but the duration
  std::string summary() const;
};

}  // namespace ctsync
