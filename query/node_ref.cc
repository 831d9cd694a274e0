#include "query/node_ref.h"

#include "query/map_builder.h"

namespace ew::query {

using storage::NodeId;
using storage::NodeKind;

NodeRef::Error NodeRef::Resolve(std::string_view id, const storage::EdgeStore& store,
                                NodeRef* out) {
  constexpr std::string_view kGroup = "ns:";
  if (id.substr(0, kGroup.size()) == kGroup) {
    std::string ns(id.substr(kGroup.size()));
    storage::StringId ns_id = 0;
    if (!ns.empty()) {
      auto found = store.FindString(storage::StringKind::kNamespace, ns);
      if (!found) return Error::kUnknown;
      ns_id = *found;
    }
    *out = OfNamespace(std::move(ns), ns_id);
    // Namespaces are interned for services only, but "ns:" (services without a namespace) needs
    // one to exist.
    if (out->ns_.empty() && out->Members(store).empty()) return Error::kUnknown;
    return Error::kNone;
  }
  auto node = ParseNodeId(id);
  if (!node) return Error::kMalformed;
  auto info = store.GetNode(*node);
  if (!info) return Error::kUnknown;
  *out = OfNode(*node, *info);
  return Error::kNone;
}

NodeRef NodeRef::OfNode(NodeId node, const storage::NodeInfo& info) {
  NodeRef r;
  r.node_ = node;
  r.ns_ = info.ns;
  r.ns_id_ = info.ns_id;
  return r;
}

NodeRef NodeRef::OfNamespace(std::string ns, storage::StringId ns_id) {
  NodeRef r;
  r.ns_ = std::move(ns);
  r.ns_id_ = ns_id;
  return r;
}

std::string NodeRef::Id() const { return node_ ? NodeIdString(*node_) : "ns:" + ns_; }

bool NodeRef::Contains(NodeId n, Dictionary* dict) const {
  if (node_) return n == *node_;
  if (n >= member_.size()) member_.resize(static_cast<size_t>(n) + 1, -1);
  int8_t& m = member_[n];
  if (m < 0) {
    const storage::NodeInfo& info = dict->Node(n);
    m = n != 0 && info.kind == NodeKind::kService && info.ns == ns_ ? 1 : 0;
  }
  return m == 1;
}

KeyPrefix NodeRef::Prefix(const std::string& label) const {
  KeyPrefix p;
  p.ns = ns_id_;
  if (node_) p.node = *node_;
  p.label = label;
  return p;
}

std::vector<NodeId> NodeRef::Members(const storage::EdgeStore& store) const {
  if (node_) return {*node_};
  std::vector<NodeId> out;
  for (const auto& [id, info] : store.ListNodes()) {
    if (info.kind == NodeKind::kService && info.ns == ns_) out.push_back(id);
  }
  return out;
}

}  // namespace ew::query
