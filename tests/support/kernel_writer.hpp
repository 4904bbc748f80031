#pragma once
// A ctnetlink writer opened inside a test's namespace: how tests fill a firewall's table.
#include <stdexcept>

#include "kernel/conntrack_writer.hpp"
#include "netns.hpp"

namespace ctsync::test {

inline ConntrackWriter writer_in(const Namespace& ns) {
  EnterNamespace in(ns);
  auto w = ConntrackWriter::open({});
  if (!w) throw std::runtime_error(w.error().message);
  return std::move(*w);
}

}  // namespace ctsync::test
