#include "config/yaml_section.h"

#include <memory>

namespace lifeboat::config {

YamlSection::YamlSection(std::string origin, std::string name) : origin_(std::move(origin)), name_(std::move(name)) {}

std::string YamlSection::FullKey(const std::string& key) const { return name_.empty() ? key : name_ + "." + key; }

Status YamlSection::Error(const std::string& key, const std::string& what) const {
  return Status::InvalidArgument(origin_ + ": '" + FullKey(key) + "' " + what);
}

YamlSection& YamlSection::Custom(const std::string& key, Reader read) {
  fields_.push_back({key, std::move(read)});
  return *this;
}

YamlSection& YamlSection::String(const std::string& key, std::string* out) {
  return Custom(key, [this, key, out](const YAML::Node& n, const std::string&) -> Status {
    if (!n.IsScalar()) return Error(key, "must be a single value");
    *out = n.as<std::string>();
    return Status::OK();
  });
}

YamlSection& YamlSection::StringOrList(const std::string& key, std::string* out) {
  return Custom(key, [this, key, out](const YAML::Node& n, const std::string&) -> Status {
    if (n.IsScalar()) {
      *out = n.as<std::string>();
      return Status::OK();
    }
    if (!n.IsSequence()) return Error(key, "must be a value or a list of values");
    std::string joined;
    for (const auto& e : n) {
      if (!e.IsScalar()) return Error(key, "must be a value or a list of values");
      joined += (joined.empty() ? "" : ",") + e.as<std::string>();
    }
    *out = joined;
    return Status::OK();
  });
}

YamlSection& YamlSection::StringList(const std::string& key, std::vector<std::string>* out) {
  return Custom(key, [this, key, out](const YAML::Node& n, const std::string&) -> Status {
    if (!n.IsSequence()) return Error(key, "must be a list of values");
    out->clear();
    for (const auto& e : n) {
      if (!e.IsScalar()) return Error(key, "must be a list of values");
      out->push_back(e.as<std::string>());
    }
    return Status::OK();
  });
}

YamlSection& YamlSection::Bool(const std::string& key, std::optional<bool>* out) {
  return Custom(key, [this, key, out](const YAML::Node& n, const std::string&) -> Status {
    bool v = false;
    // convert<bool>::decode is yaml-cpp's YAML 1.1 reading (true/yes/on/y and their negatives).
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      return Error(key, "must be true or false (also yes/no, on/off), not '" +
                            (n.IsScalar() ? n.Scalar() : std::string("a list or mapping")) + "'");
    }
    *out = v;
    return Status::OK();
  });
}

YamlSection& YamlSection::Bool(const std::string& key, bool* out) {
  auto holder = std::make_shared<std::optional<bool>>();
  Bool(key, holder.get());
  Reader inner = std::move(fields_.back().read);
  fields_.back().read = [inner, holder, out](const YAML::Node& n, const std::string& k) -> Status {
    LB_RETURN_IF_ERROR(inner(n, k));
    *out = **holder;
    return Status::OK();
  };
  return *this;
}

YamlSection& YamlSection::Uint64(const std::string& key, uint64_t* out) {
  return Custom(key, [this, key, out](const YAML::Node& n, const std::string&) -> Status {
    const std::string text = n.IsScalar() ? n.Scalar() : "";
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 20) {
      return Error(key, "must be a whole number, not '" + (n.IsScalar() ? text : std::string("a list or mapping")) + "'");
    }
    try {
      *out = std::stoull(text);
    } catch (...) {
      return Error(key, "is too large");
    }
    return Status::OK();
  });
}

YamlSection& YamlSection::Node(const std::string& key, YAML::Node* out) {
  return Custom(key, [out](const YAML::Node& n, const std::string&) -> Status {
    *out = n;
    return Status::OK();
  });
}

Status YamlSection::Read(const YAML::Node& node) const {
  if (!node || node.IsNull()) return Status::OK();
  if (!node.IsMap()) {
    return Status::InvalidArgument(origin_ + ": " + (name_.empty() ? std::string("the file") : "'" + name_ + "'") +
                                   " must be a mapping of key: value");
  }
  try {
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const Field* f = nullptr;
      for (const auto& x : fields_) {
        if (x.key == key) f = &x;
      }
      if (f == nullptr) {
        std::string known;
        for (const auto& x : fields_) known += (known.empty() ? "" : ", ") + x.key;
        return Status::InvalidArgument(origin_ + ": unknown key '" + FullKey(key) + "' (known: " + known + ")");
      }
      LB_RETURN_IF_ERROR(f->read(kv.second, FullKey(key)));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(origin_ + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg +
                                   " (fix the file)");
  }
  return Status::OK();
}

}  // namespace lifeboat::config
