#include "store/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace lifeboat::store {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string EnvOr(const EnvLookup& env, std::string_view name, std::string_view fallback) {
  auto v = env(name);
  return v && !v->empty() ? *v : std::string(fallback);
}

std::string HomePath(const EnvLookup& env, std::string_view rest) {
  return EnvOr(env, "HOME", "/root") + std::string(rest);
}

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::string> IniValue(std::string_view text, std::string_view section, std::string_view key) {
  bool in_section = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string_view name = Trim(line.substr(1, line.size() - 2));
      if (name.substr(0, 8) == "profile ") name = Trim(name.substr(8));
      in_section = name == section;
      continue;
    }
    if (!in_section) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (Trim(line.substr(0, eq)) == key) return std::string(Trim(line.substr(eq + 1)));
  }
  return std::nullopt;
}

Result<Credentials> LoadCredentials(const EnvLookup& env) {
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (id && !id->empty()) {
    if (!secret || secret->empty()) {
      return Status::Unauthenticated(fmt::format(
          "AWS_ACCESS_KEY_ID is set ({}) but AWS_SECRET_ACCESS_KEY is not (export both, or unset both to use a profile)",
          *id));
    }
    Credentials c{*id, *secret, EnvOr(env, "AWS_SESSION_TOKEN", ""), "environment"};
    return c;
  }
  const std::string file = EnvOr(env, "AWS_SHARED_CREDENTIALS_FILE", HomePath(env, "/.aws/credentials"));
  const std::string profile = EnvOr(env, "AWS_PROFILE", "default");
  std::string text;
  if (!ReadWholeFile(file, &text)) {
    return Status::Unauthenticated(fmt::format(
        "no S3 credentials: AWS_ACCESS_KEY_ID is unset and {} cannot be read (export AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or write a [{}] profile there)",
        file, profile));
  }
  Credentials c;
  c.source = fmt::format("profile {} in {}", profile, file);
  c.access_key_id = IniValue(text, profile, "aws_access_key_id").value_or("");
  c.secret_access_key = IniValue(text, profile, "aws_secret_access_key").value_or("");
  c.session_token = IniValue(text, profile, "aws_session_token").value_or("");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::Unauthenticated(fmt::format(
        "no S3 credentials in {} (it needs aws_access_key_id and aws_secret_access_key; pick another profile "
        "with AWS_PROFILE)",
        c.source));
  }
  return c;
}

std::string LoadRegion(const EnvLookup& env) {
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto v = env(name); v && !v->empty()) return *v;
  }
  std::string text;
  if (!ReadWholeFile(EnvOr(env, "AWS_CONFIG_FILE", HomePath(env, "/.aws/config")), &text)) return "";
  return IniValue(text, EnvOr(env, "AWS_PROFILE", "default"), "region").value_or("");
}

}  // namespace lifeboat::store
