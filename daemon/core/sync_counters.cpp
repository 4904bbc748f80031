#include "core/sync_counters.hpp"

namespace ctsync {

std::string_view drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::truncated:
      return "truncated";
    case DropReason::oversized:
      return "oversized";
    case DropReason::bad_magic:
      return "bad_magic";
    case DropReason::bad_version:
      return "bad_version";
    case DropReason::unknown_key:
      return "unknown_key";
    case DropReason::auth_failed:
      return "auth_failed";
    case DropReason::malformed:
      return "malformed";
    case DropReason::replay:
      return "replay";
    case DropReason::duplicate:
      return "duplicate";
    case DropReason::stale:
      return "stale";
    case DropReason::own:
      return "own";
    case DropReason::no_peer_slot:
      return "no_peer_slot";
    case DropReason::count_:
      break;
  }
  return "unknown";
}

std::string_view message_type_name(MessageType t) {
  switch (t) {
    case MessageType::flow_upsert:
      return "flow_upsert";
    case MessageType::flow_delete:
      return "flow_delete";
    case MessageType::expectation_upsert:
      return "expectation_upsert";
    case MessageType::expectation_delete:
      return "expectation_delete";
    case MessageType::heartbeat:
      return "heartbeat";
    case MessageType::ack:
      return "ack";
    case MessageType::nack:
      return "nack";
    case MessageType::resync_request:
      return "resync_request";
    case MessageType::bulk_begin:
      return "bulk_begin";
    case MessageType::bulk_end:
      return "bulk_end";
    case MessageType::digest:
      return "digest";
    case MessageType::count_:
      break;
  }
  return "unknown";
}

}  // namespace ctsync
