#include "control/flow_listing.hpp"

#include <nlohmann/json.hpp>

#include "control/expectation_json.hpp"
#include "control/flow_json.hpp"
#include "ctsync/flow_format.hpp"

namespace ctsync {

FlowListing::FlowListing(const SyncEngine& engine, const ControlRequest& request)
    : engine_(engine),
      request_(request),
      limit_(request.limit.value_or(static_cast<std::size_t>(-1))) {}

bool FlowListing::emit(const Flow& f, std::uint32_t peer, const FlowCounters& counters,
                       std::string& out) {
  if (listed_ >= limit_) return false;
  ++listed_;
  if (request_.json) {
    nlohmann::json j = flow_to_json(f, counters);
    if (peer != 0) j["peer"] = peer;
    out += (listed_ == 1 ? "[\n" : ",\n") + j.dump();
  } else {
    out += to_conntrack_string(f, counters) + "\n";
  }
  return true;
}

bool FlowListing::next(std::string& out) {
  if (finished_) return false;
  bool more = true;
  if (request_.table == FlowTableChoice::external) {
    const auto& peers = engine_.peers();
    auto it = peers.lower_bound(peer_);
    while (more && it != peers.end() && out.size() < page_bytes) {
      if (it->first != peer_) {
        peer_ = it->first;
        position_ = 0;
      }
      const auto& entries = it->second->table().entries();
      while (position_ < entries.size() && out.size() < page_bytes) {
        if (!emit(entries[position_++].flow, peer_, {}, out)) {
          more = false;
          break;
        }
      }
      if (position_ >= entries.size()) {
        ++it;
        if (it != peers.end()) {
          peer_ = it->first;
          position_ = 0;
        }
      }
    }
    if (it == peers.end()) more = false;
  } else {
    const auto& entries = engine_.local().entries();
    while (position_ < entries.size() && out.size() < page_bytes) {
      const auto& e = entries[position_++];
      if (!emit(e.flow, 0, engine_.counters_of(e.meta), out)) break;
    }
    more = position_ < entries.size() && listed_ < limit_;
  }
  if (!more) {
    if (request_.json) out += listed_ == 0 ? "[]\n" : "\n]\n";
    finished_ = true;
  }
  return !finished_;
}

std::string render_expectations(const SyncEngine& engine, const ControlRequest& req,
                                bool synchronised) {
  std::string out;
  std::size_t n = 0;
  const std::size_t limit = req.limit.value_or(static_cast<std::size_t>(-1));
  auto emit = [&](const Expectation& e, std::uint32_t peer) {
    if (n >= limit) return;
    ++n;
    if (req.json) {
      nlohmann::json j = expectation_to_json(e);
      if (peer != 0) j["peer"] = peer;
      out += (n == 1 ? "[\n" : ",\n") + j.dump();
    } else {
      out += to_conntrack_string(e) + "\n";
    }
  };
  if (req.table == FlowTableChoice::external) {
    for (const auto& [id, p] : engine.peers()) {
      for (const auto& [key, entry] : p->expectations()) emit(entry.expectation, id);
    }
  } else {
    for (const auto& [key, entry] : engine.local_expectations()) emit(entry.expectation, 0);
  }
  if (req.json) out += n == 0 ? "[]\n" : "\n]\n";
  if (!req.json && !synchronised) {
    out += "# expectations are not synchronised (sync.expectations = false)\n";
  }
  return out;
}

}  // namespace ctsync
