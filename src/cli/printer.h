// Output the way etcdctl prints it: `-w table` (boxed, centred headers), `-w simple`
// (comma-separated rows) and JSON (built by each command with nlohmann::json).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace lifeboat::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void PrintTable(std::ostream& out) const;
  void PrintSimple(std::ostream& out) const;
  // table or simple, by the -w value.
  void Print(std::ostream& out, const std::string& format) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// 1417265152 -> "1.4 GB", 20480 -> "20 kB" (SI units, as etcdctl's humanize.Bytes).
std::string HumanBytes(uint64_t n);

}  // namespace lifeboat::cli
