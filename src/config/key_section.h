// ReadKeySection: a key section of either config file (`encryption:`, the coordinator's
// `signing:`): the current key and its old-keys, each named by an id and read from a file or an
// environment variable. One reader, two spellings: the coordinator's config takes the short
// names (file, env, id) beside key-file, key-env and key-id at both levels; the agent's takes
// the long names for the current key and the short ones for old keys. `Key` is
// codec::KeySource (members id, file, env), which this layer does not include.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "base/status.h"
#include "config/yaml_section.h"

namespace lifeboat::config {

enum class KeySpelling { kCoordinator, kAgent };

// Reads section `name` (a mapping) into `*current` and appends its old keys to `*old_keys`.
// InvalidArgument starting with `origin` and naming the key, as YamlSection's.
template <class Key>
Status ReadKeySection(const YAML::Node& n, const std::string& origin, const std::string& name, KeySpelling spelling,
                      Key* current, std::vector<Key>* old_keys) {
  const bool short_names = spelling == KeySpelling::kCoordinator;
  const std::string old_name = name + ".old-keys";
  auto not_mapping = [&](const std::string& section) {
    return Status::InvalidArgument(origin + ": '" + section + "' must be a mapping");
  };
  auto not_list = [&] {
    return Status::InvalidArgument(origin + ": '" + old_name + "' must be a list of {id, file|env}");
  };
  if (!n.IsMap()) return not_mapping(name);
  YAML::Node old = Absent();
  YamlSection s(origin, name);
  s.String("key-file", &current->file);
  if (short_names) s.String("file", &current->file);
  s.String("key-env", &current->env);
  if (short_names) s.String("env", &current->env);
  s.String("key-id", &current->id);
  if (short_names) s.String("id", &current->id);
  s.Node("old-keys", &old);
  LB_RETURN_IF_ERROR(s.Read(n));
  if (!Given(old)) return Status::OK();
  if (!old.IsSequence()) return not_list();
  for (const auto& o : old) {
    if (!o.IsMap()) return short_names ? not_mapping(old_name) : not_list();
    Key k;
    YamlSection e(origin, old_name);
    if (short_names) {
      e.String("key-file", &k.file).String("file", &k.file).String("key-env", &k.env).String("env", &k.env);
      e.String("key-id", &k.id).String("id", &k.id);
    } else {
      e.String("id", &k.id).String("file", &k.file).String("env", &k.env);
    }
    LB_RETURN_IF_ERROR(e.Read(o));
    old_keys->push_back(k);
  }
  return Status::OK();
}

}  // namespace lifeboat::config
