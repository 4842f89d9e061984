#include "cli/printer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lifeboat::cli {

void Table::PrintTable(std::ostream& out) const {
  std::vector<size_t> w(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) w[i] = header_[i].size();
  for (const auto& r : rows_) {
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  auto rule = [&] {
    out << '+';
    for (size_t x : w) out << std::string(x + 2, '-') << '+';
    out << '\n';
  };
  rule();
  out << '|';
  for (size_t i = 0; i < w.size(); ++i) {
    size_t pad = w[i] - header_[i].size();
    out << std::string(1 + pad / 2, ' ') << header_[i] << std::string(1 + pad - pad / 2, ' ') << '|';
  }
  out << '\n';
  rule();
  for (const auto& r : rows_) {
    out << '|';
    for (size_t i = 0; i < w.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      out << ' ' << std::string(w[i] - cell.size(), ' ') << cell << " |";
    }
    out << '\n';
  }
  rule();
}

void Table::PrintSimple(std::ostream& out) const {
  for (const auto& r : rows_) {
    for (size_t i = 0; i < r.size(); ++i) out << (i ? ", " : "") << r[i];
    out << '\n';
  }
}

void Table::Print(std::ostream& out, const std::string& format) const {
  if (format == "simple") {
    PrintSimple(out);
  } else {
    PrintTable(out);
  }
}

std::string HumanBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  if (n < 10) return std::to_string(n) + " B";
  double e = std::floor(std::log(static_cast<double>(n)) / std::log(1000.0));
  int idx = std::min(5, static_cast<int>(e));
  double v = std::floor(static_cast<double>(n) / std::pow(1000.0, idx) * 10 + 0.5) / 10;
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[idx]);
  return buf;
}

}  // namespace lifeboat::cli
