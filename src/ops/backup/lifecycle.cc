#include "ops/backup/lifecycle.h"

#include "catalog/layout.h"

namespace lifeboat::ops {
namespace {

constexpr char kIdPrefix[] = "lifeboat-";

std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      default: o += c;
    }
  }
  return o;
}

// The text of the first <tag>...</tag> inside `xml`, or "".
std::string Element(const std::string& xml, const std::string& tag) {
  auto b = xml.find("<" + tag + ">");
  if (b == std::string::npos) return "";
  b += tag.size() + 2;
  auto e = xml.find("</" + tag + ">", b);
  return e == std::string::npos ? "" : xml.substr(b, e - b);
}

// Every <Rule>...</Rule> block, verbatim.
std::vector<std::string> RuleBlocks(const std::string& xml) {
  std::vector<std::string> out;
  for (size_t pos = 0;;) {
    auto b = xml.find("<Rule>", pos);
    if (b == std::string::npos) break;
    auto e = xml.find("</Rule>", b);
    if (e == std::string::npos) break;
    out.push_back(xml.substr(b, e + 7 - b));
    pos = e + 7;
  }
  return out;
}

}  // namespace

std::vector<LifecycleRule> RulesForTiers(const std::string& prefix, const std::vector<catalog::Tier>& tiers,
                                         const std::function<std::string(const std::string&)>& full_key) {
  std::vector<LifecycleRule> rules;
  std::string base = catalog::NormalizePrefix(prefix);
  for (const auto& t : tiers) {
    std::string store_prefix = (base.empty() ? "" : base + "/") + catalog::NormalizePrefix(t.folder) + "/";
    int days = static_cast<int>((t.keep.count() + 86399) / 86400);
    rules.push_back({kIdPrefix + t.name, full_key(store_prefix), days < 1 ? 1 : days, t.object_lock.empty() ? 0 : 1});
  }
  return rules;
}

std::string LifecycleXml(const std::vector<LifecycleRule>& rules, const std::string& existing) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n";
  for (const auto& r : rules) {
    xml += "  <Rule><ID>" + Escape(r.id) + "</ID><Filter><Prefix>" + Escape(r.prefix) +
           "</Prefix></Filter><Status>Enabled</Status><Expiration><Days>" + std::to_string(r.days) +
           "</Days></Expiration>" +
           (r.noncurrent_days > 0 ? "<NoncurrentVersionExpiration><NoncurrentDays>" + std::to_string(r.noncurrent_days) +
                                        "</NoncurrentDays></NoncurrentVersionExpiration>"
                                  : std::string()) +
           "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
           "</AbortIncompleteMultipartUpload></Rule>\n";
  }
  // Rules someone else set on the bucket are kept as they are: a PUT replaces the whole document.
  for (const auto& block : RuleBlocks(existing)) {
    if (Element(block, "ID").rfind(kIdPrefix, 0) == 0) continue;
    xml += "  " + block + "\n";
  }
  return xml + "</LifecycleConfiguration>\n";
}

std::vector<LifecycleRule> ParseLifecycleRules(const std::string& xml) {
  std::vector<LifecycleRule> out;
  for (const auto& block : RuleBlocks(xml)) {
    LifecycleRule r;
    r.id = Element(block, "ID");
    r.prefix = Element(Element(block, "Filter"), "Prefix");
    if (r.prefix.empty()) r.prefix = Element(block, "Prefix");  // the older, filter-less form
    std::string days = Element(Element(block, "Expiration"), "Days");
    r.days = days.empty() ? 0 : std::atoi(days.c_str());
    std::string noncurrent = Element(Element(block, "NoncurrentVersionExpiration"), "NoncurrentDays");
    r.noncurrent_days = noncurrent.empty() ? 0 : std::atoi(noncurrent.c_str());
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace lifeboat::ops
