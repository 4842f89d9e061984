// YamlSection: the one strict reader of a YAML mapping, shared by the coordinator's and the
// agent's config files. Each key is declared with its type; an unknown key, a value of the wrong
// shape, or one its type does not read (a boolean YAML does not call one) is InvalidArgument
// (exit 2) naming the key as "section.key": a mistake never reads as a default.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace lifeboat::config {

// A node to capture with YamlSection::Node: Given() says whether the key was in the file at all
// (with any value, `~` included, so that a present but empty section is still checked).
inline YAML::Node Absent() { return YAML::Node(YAML::NodeType::Undefined); }
inline bool Given(const YAML::Node& n) { return n.IsDefined(); }

class YamlSection {
 public:
  using Reader = std::function<Status(const YAML::Node& value, const std::string& full_key)>;

  // `origin` starts every message ("config /etc/lifeboat.yaml"); `name` is the section's dotted
  // path ("" for the top level, "daemon", "encryption.old-keys").
  YamlSection(std::string origin, std::string name);
  YamlSection(const YamlSection&) = delete;  // the readers refer to this object
  YamlSection& operator=(const YamlSection&) = delete;

  // A single scalar.
  YamlSection& String(const std::string& key, std::string* out);
  // A scalar, or a list of scalars joined with commas.
  YamlSection& StringOrList(const std::string& key, std::string* out);
  // A list of scalars.
  YamlSection& StringList(const std::string& key, std::vector<std::string>* out);
  // A YAML boolean as yaml-cpp reads one: true/false, yes/no, on/off, y/n, each in lower case,
  // UPPER case or Capitalized. Anything else (1, 0, "enable", tRUE) is an error.
  YamlSection& Bool(const std::string& key, bool* out);
  YamlSection& Bool(const std::string& key, std::optional<bool>* out);
  // A whole number >= 0.
  YamlSection& Uint64(const std::string& key, uint64_t* out);
  // The raw node, for a nested section read later; start it as Absent() (see Given).
  YamlSection& Node(const std::string& key, YAML::Node* out);
  // Anything else.
  YamlSection& Custom(const std::string& key, Reader read);

  // Reads `node`, which must be a mapping (a null node is an empty one).
  Status Read(const YAML::Node& node) const;

  // "name.key" (or "key" at the top level), as messages name it.
  std::string FullKey(const std::string& key) const;
  // "<origin>: '<full key>' <what>".
  Status Error(const std::string& key, const std::string& what) const;

 private:
  struct Field {
    std::string key;
    Reader read;
  };
  std::string origin_, name_;
  std::vector<Field> fields_;
};

}  // namespace lifeboat::config
