#pragma once
#include <cerrno>
#include <map>
#include <vector>

#include "ctsync/flow_table.hpp"
#include "ports/kernel_port.hpp"
#include "ports/scheduler.hpp"
#include "ports/state_port.hpp"
#include "ports/sync_link.hpp"

namespace ctsync::test {

// The kernel port as a conntrack table in memory. It behaves like the kernel where the
// daemon's decisions depend on it: an upsert creates, updates, or replaces an entry whose NAT
// binding differs; a full table refuses creations (ENOMEM); events of the traffic it is told
// about are delivered; the event socket overruns on demand; dumps come in chunks on the loop.
// Writes by the daemon cause no events, as the real writer's port id filters them.
class FakeKernel final : public ports::KernelPort {
 public:
  explicit FakeKernel(ports::Scheduler& loop) : loop_(loop) {}

  // ---- the test's side: traffic and the kernel's own doings ----
  void traffic_creates(const Flow& f) {
    table_.upsert(f);
    event(ports::EventType::created, f);
  }
  void traffic_updates(const Flow& f) {
    table_.upsert(f);
    event(ports::EventType::updated, f);
  }
  void expires(const FlowKey& k) {
    const auto f = table_.find_flow(k);
    if (!f) return;
    const Flow gone = *f;
    table_.erase(k);
    event(ports::EventType::destroyed, gone);
  }
  // Changes the table with no event reaching the daemon (they were lost), then overruns.
  void lose_events_then_overrun(const std::vector<Flow>& created,
                                const std::vector<FlowKey>& gone) {
    for (const Flow& f : created) table_.upsert(f);
    for (const FlowKey& k : gone) table_.erase(k);
    loop_.post([this] {
      if (sink_) {
        sink_->on_overrun();
        sink_->on_events_read();
      }
    });
  }
  void expectation_appears(const Expectation& e) {
    expectations_.push_back(e);
    loop_.post([this, e] {
      if (expectation_sink_) expectation_sink_->on_expectation(true, e);
    });
  }

  std::size_t max_entries = 1'000'000;
  bool fail_writes = false;      // every write fails with EIO (a broken socket)
  std::size_t dump_chunk = 100;  // flows per chunk of a dump
  bool helper_loaded = true;     // expectations can be created
  bool refuse_expectations_without_master = true;

  const FlowTable<>& table() const { return table_; }
  FlowTable<>& table() { return table_; }
  std::optional<Flow> find(const FlowKey& k) const { return table_.find_flow(k); }
  // Every write, in order: what a test of the order of a commit reads.
  std::vector<FlowKey> written;
  std::vector<TimePoint> written_at;  // beside `written`
  std::vector<Expectation> created_expectations;
  std::size_t dumps = 0;
  bool paused = false;
  std::size_t pauses = 0;

  // ---- the port ----
  void subscribe(ports::EventSink& sink, ports::ExpectationSink* e) override {
    sink_ = &sink;
    expectation_sink_ = e;
  }
  Result<void> pause_creation_events() override {
    paused = true;
    ++pauses;
    return {};
  }
  Result<void> resume_creation_events() override {
    paused = false;
    return {};
  }
  void dump(ports::DumpSink& sink) override {
    ++dumps;
    // A snapshot of the keys when the dump starts; values are read chunk by chunk, so a flow
    // changed meanwhile is seen as it is then (as the kernel's dump sees it).
    auto keys = std::make_shared<std::vector<FlowKey>>();
    for (const auto& e : table_) keys->push_back(e.flow.key);
    loop_.post([this, &sink, keys] { dump_chunk_from(sink, keys, 0); });
  }
  Result<void> upsert(std::span<const Flow> flows, std::vector<WriteResult>& results) override {
    results.clear();
    if (fail_writes) return Error{"fake: write failed", EIO};
    for (const Flow& f : flows) {
      written.push_back(f.key);
      written_at.push_back(loop_.now());
      if (f.status & status::expected && !has_master(f)) {
        results.push_back({WriteOutcome::failed, ENOENT});
        continue;
      }
      const auto old = table_.find_flow(f.key);
      if (!old) {
        if (table_.size() >= max_entries) {
          results.push_back({WriteOutcome::failed, ENOMEM});
          continue;
        }
        table_.upsert(f);
        results.push_back({WriteOutcome::created, 0});
        continue;
      }
      const bool same_nat = old->reply == f.reply;
      table_.upsert(f);
      results.push_back({same_nat ? WriteOutcome::updated : WriteOutcome::replaced, 0});
    }
    return {};
  }
  Result<void> update(std::span<const Flow> flows, std::vector<int>& errors) override {
    errors.clear();
    if (fail_writes) return Error{"fake: write failed", EIO};
    for (const Flow& f : flows) {
      written.push_back(f.key);
      written_at.push_back(loop_.now());
      if (auto e = table_.find(f.key)) {
        e->flow.timeout = f.timeout;
        table_.assign(e->position, e->flow);
        errors.push_back(0);
      } else {
        errors.push_back(ENOENT);
      }
    }
    return {};
  }
  Result<void> remove(std::span<const FlowKey> keys, std::vector<int>& errors) override {
    errors.clear();
    for (const FlowKey& k : keys) {
      table_.erase(k);
      errors.push_back(0);
    }
    return {};
  }
  Result<std::optional<Flow>> get(const FlowKey& key) override {
    const auto f = table_.find_flow(key);
    return f ? std::optional<Flow>(*f) : std::nullopt;
  }
  bool synchronises_expectations() const override { return true; }
  Result<std::vector<Expectation>> dump_expectations() override { return expectations_; }
  Result<void> create_expectation(const Expectation& e) override {
    if (!helper_loaded) return Error{"fake: no helper", ENOENT};
    if (!table_.find_flow(e.master)) return Error{"fake: master missing", ENOENT};
    created_expectations.push_back(e);
    expectations_.push_back(e);
    return {};
  }
  ports::TableSize table_size() const override {
    return {static_cast<long>(table_.size()), static_cast<long>(max_entries)};
  }
  bool counts_traffic() const override { return false; }
  int event_buffer_bytes() const override { return 8 << 20; }
  void close() override {
    sink_ = nullptr;
    expectation_sink_ = nullptr;
  }

 private:
  bool has_master(const Flow& f) const {
    (void)f;
    // An expected connection's master is known by its helper's tuple; the fake asks only
    // that some master (a flow with a helper) exists already, which a commit that writes
    // expected connections first would break.
    for (const auto& e : table_)
      if (!e.flow.helper.empty()) return true;
    return false;
  }
  void event(ports::EventType t, const Flow& f) {
    loop_.post([this, t, f] {
      if (!sink_) return;
      sink_->on_event(t, f, field::all, {});
      sink_->on_events_read();
    });
  }
  void dump_chunk_from(ports::DumpSink& sink, std::shared_ptr<std::vector<FlowKey>> keys,
                       std::size_t from) {
    const std::size_t to = std::min(keys->size(), from + dump_chunk);
    for (std::size_t i = from; i < to; ++i)
      if (const auto f = table_.find_flow((*keys)[i])) sink.on_flow(*f, {});
    sink.on_chunk_end();
    if (to < keys->size()) {
      loop_.post([this, &sink, keys, to] { dump_chunk_from(sink, keys, to); });
      return;
    }
    sink.on_dump_end({});
  }

  ports::Scheduler& loop_;
  FlowTable<> table_;
  std::vector<Expectation> expectations_;
  ports::EventSink* sink_ = nullptr;
  ports::ExpectationSink* expectation_sink_ = nullptr;
};

// The state directory in memory; a "restart" keeps it.
class FakeState final : public ports::StatePort {
 public:
  Result<std::uint64_t> next_boot_id(std::uint64_t wall_ms) override {
    boot = std::max(boot + 1, wall_ms);
    return boot;
  }
  std::optional<Role> load_role() const override { return role; }
  Result<void> save_role(Role r) override {
    role = r;
    return {};
  }
  Result<void> set_commit_pending(bool p) override {
    pending = p;
    return {};
  }
  bool commit_pending() const override { return pending; }
  std::string load_takeovers() const override { return takeovers; }
  Result<void> save_takeovers(const std::string& text) override {
    takeovers = text;
    return {};
  }
  std::string load_peer_marks() const override { return peer_marks; }
  Result<void> save_peer_marks(const std::string& text) override {
    peer_marks = text;
    return {};
  }

  std::uint64_t boot = 0;
  std::optional<Role> role;
  bool pending = false;
  std::string takeovers;
  std::string peer_marks;
};

class CountingLink final : public ports::SyncLink {
 public:
  void kick() override { ++kicks; }
  std::size_t kicks = 0;
};

}  // namespace ctsync::test
