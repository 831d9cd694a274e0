// NodeRef: a node of the map as the API names it — one stored node ("n<id>") or a namespace
// group ("ns:<namespace>": every service node of that namespace, as group=namespace draws it).
// The endpoints that take node ids (focus, source/target, /api/v1/service?id=) resolve them here
// and aggregate exactly over the member nodes of a group.
//
// Thread-safety: a NodeRef caches membership per node id; use one per query, on one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "query/planner.h"
#include "query/predicate.h"
#include "storage/edge_store.h"

namespace ew::query {

class NodeRef {
 public:
  enum class Error : uint8_t { kNone, kMalformed, kUnknown };
  // Resolves a map id. kMalformed: not an id of either form; kUnknown: the store does not know
  // the node (or no service has that namespace).
  static Error Resolve(std::string_view id, const storage::EdgeStore& store, NodeRef* out);
  static NodeRef OfNode(storage::NodeId node, const storage::NodeInfo& info);
  static NodeRef OfNamespace(std::string ns, storage::StringId ns_id);

  bool is_group() const { return !node_.has_value(); }
  storage::NodeId node() const { return node_.value_or(0); }  // 0 for a group
  const std::string& ns() const { return ns_; }
  storage::StringId ns_id() const { return ns_id_; }
  // "n<id>" or "ns:<namespace>".
  std::string Id() const;
  // Whether a stored node belongs to this one (is it, or is a service of the namespace).
  bool Contains(storage::NodeId n, Dictionary* dict) const;
  // The key prefix that holds every record whose leading side (server for the server-ordered
  // families, client for edge_by_client) is a member; the predicate must still check Contains.
  KeyPrefix Prefix(const std::string& label) const;
  // The member nodes (for a group: every service of the namespace the dictionary knows).
  std::vector<storage::NodeId> Members(const storage::EdgeStore& store) const;

 private:
  std::optional<storage::NodeId> node_;
  std::string ns_;  // the node's namespace, or the group's
  storage::StringId ns_id_ = 0;
  mutable std::vector<int8_t> member_;  // per node id: -1 unknown, 0 no, 1 yes
};

}  // namespace ew::query
