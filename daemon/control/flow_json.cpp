#include "control/flow_json.hpp"

#include <cstdio>

#include "ctsync/flow_format.hpp"

namespace ctsync {

nlohmann::json flow_to_json(const Flow& f, const FlowCounters& counters) {
  nlohmann::json j;
  j["family"] = std::string(family_name(f.family()));
  j["protocol"] = std::string(protocol_name(f.protocol()));
  j["protocol_number"] = f.protocol();
  j["zone"] = f.key.zone;
  j["original"] = to_string(f.original());
  j["reply"] = to_string(f.reply);
  j["status"] = f.status;
  j["timeout"] = f.timeout;
  j["mark"] = f.mark;
  if (f.protocol() == proto::tcp) {
    j["tcp"] = {{"state", std::string(tcp_state_name(f.tcp.state))},
                {"wscale_original", f.tcp.wscale_original},
                {"wscale_reply", f.tcp.wscale_reply},
                {"flags_original", f.tcp.flags_original},
                {"flags_reply", f.tcp.flags_reply}};
  }
  if (f.sctp.state != SctpState::none) {
    j["sctp"] = {{"state", std::string(sctp_state_name(f.sctp.state))},
                 {"vtag_original", f.sctp.vtag_original},
                 {"vtag_reply", f.sctp.vtag_reply}};
  }
  if (!f.helper.empty()) j["helper"] = std::string(f.helper.view());
  if (!f.labels.empty()) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx",
                  static_cast<unsigned long long>(f.labels.words[1]),
                  static_cast<unsigned long long>(f.labels.words[0]));
    j["labels"] = buf;
  }
  if (f.start_ns != 0) j["start_ns"] = f.start_ns;
  auto seq = [](const SeqAdjust& s) {
    return nlohmann::json{{"correction_pos", s.correction_pos},
                          {"offset_before", s.offset_before},
                          {"offset_after", s.offset_after}};
  };
  if (!f.seq_original.empty()) j["seq_adjust_original"] = seq(f.seq_original);
  if (!f.seq_reply.empty()) j["seq_adjust_reply"] = seq(f.seq_reply);
  if (!counters.empty()) {
    j["counters"] = {
        {"original", {{"packets", counters.original.packets}, {"bytes", counters.original.bytes}}},
        {"reply", {{"packets", counters.reply.packets}, {"bytes", counters.reply.bytes}}}};
  }
  j["line"] = to_conntrack_string(f, counters);
  return j;
}

}  // namespace ctsync
