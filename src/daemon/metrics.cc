#include "daemon/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace lifeboat::daemon {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Label values escape backslash, quote and newline (Prometheus text format).
std::string Esc(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

void Metrics::RecordBackup(const std::string& tier, const std::string& store, bool ok, double seconds,
                           uint64_t bytes) {
  std::lock_guard lk(mu_);
  Series& s = series_[{tier, store}];
  if (ok) {
    s.last_success = Now();
    s.duration = seconds;
    s.bytes = bytes;
    s.successes++;
  } else {
    s.failures++;
  }
}

void Metrics::RecordTick(bool won) {
  std::lock_guard lk(mu_);
  (won ? ticks_won_ : ticks_lost_)++;
}

void Metrics::RecordDrill(bool ok, double seconds) {
  std::lock_guard lk(mu_);
  if (ok) {
    last_verified_restore_ = Now();
    drill_duration_ = seconds;
    drills_ok_++;
  } else {
    drills_failed_++;
  }
}

void Metrics::RecordSegment(int64_t end_revision, uint64_t events) {
  std::lock_guard lk(mu_);
  changelog_revision_ = std::max(changelog_revision_, end_revision);
  changelog_time_ = Now();
  changelog_segments_++;
  changelog_events_ += events;
}

void Metrics::RecordChangeLogGap() {
  std::lock_guard lk(mu_);
  changelog_gaps_++;
}

void Metrics::SetRecoveryInProgress(bool held) {
  std::lock_guard lk(mu_);
  recovery_in_progress_ = held;
}

void Metrics::RecordSkippedForRecovery() {
  std::lock_guard lk(mu_);
  recovery_in_progress_ = true;
  ticks_skipped_++;
}

void Metrics::SeedBackup(const std::string& tier, const std::string& store, double finished_at) {
  std::lock_guard lk(mu_);
  Series& s = series_[{tier, store}];
  s.last_success = std::max(s.last_success, finished_at);
}

void Metrics::SeedVerifiedRestore(double drilled_at) {
  std::lock_guard lk(mu_);
  last_verified_restore_ = std::max(last_verified_restore_, drilled_at);
}

void Metrics::SetTierInterval(const std::string& tier, double seconds) {
  std::lock_guard lk(mu_);
  tier_interval_[tier] = seconds;
}

void Metrics::SetDrillInterval(double seconds) {
  std::lock_guard lk(mu_);
  drill_interval_ = seconds;
}

void Metrics::SetCheckInterval(double seconds) {
  std::lock_guard lk(mu_);
  check_interval_ = seconds;
}

void Metrics::SetChangeLogEnabled(bool enabled) {
  std::lock_guard lk(mu_);
  changelog_enabled_ = enabled;
}

void Metrics::SetInfo(const std::string& cluster) {
  std::lock_guard lk(mu_);
  cluster_ = cluster;
}

void Metrics::RecordCheck(bool consistent, const std::map<std::string, bool>& divergent, double seconds) {
  std::lock_guard lk(mu_);
  consistent_ = consistent ? 1 : 0;
  divergent_ = divergent;  // members that left the cluster leave the metric too
  check_last_run_ = Now();
  check_duration_ = seconds;
  checks_ok_++;
}

void Metrics::AdoptCheck(bool consistent, const std::map<std::string, bool>& divergent, double seconds, double at) {
  std::lock_guard lk(mu_);
  if (at < check_last_run_) return;  // an older verdict than the one shown
  consistent_ = consistent ? 1 : 0;
  divergent_ = divergent;
  check_last_run_ = at;
  check_duration_ = seconds;
}

void Metrics::RecordCheckFailure() {
  std::lock_guard lk(mu_);
  checks_failed_++;
}

void Metrics::SetLastError(const std::string& error) {
  std::lock_guard lk(mu_);
  last_error_ = error;
}

std::string Metrics::LastError() const {
  std::lock_guard lk(mu_);
  return last_error_;
}

// Each Render* appends one group of families to `out`; mu_ is held.

// Per tier and store: the backups this daemon stored.
void Metrics::RenderBackups(std::string& out) const {
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& [key, s] : series_) {
      out += fmt::format("{}{{tier=\"{}\",store=\"{}\"}} {}\n", name, Esc(key.first), Esc(key.second), value(s));
    }
  };
  double now = Now();
  family("lifeboat_backup_last_success_timestamp_seconds", "gauge", "Unix time of the last stored backup.",
         [](const Series& s) { return fmt::format("{:.3f}", s.last_success); });
  family("lifeboat_backup_newest_age_seconds", "gauge", "Age of the newest backup this daemon stored (-1: none yet).",
         [&](const Series& s) { return s.last_success > 0 ? fmt::format("{:.3f}", now - s.last_success) : "-1"; });
  family("lifeboat_backup_duration_seconds", "gauge", "Duration of the last stored backup.",
         [](const Series& s) { return fmt::format("{:.3f}", s.duration); });
  family("lifeboat_backup_size_bytes", "gauge", "Size of the last stored backup.",
         [](const Series& s) { return std::to_string(s.bytes); });
  family("lifeboat_backup_success_total", "counter", "Backups stored.",
         [](const Series& s) { return std::to_string(s.successes); });
  family("lifeboat_backup_failures_total", "counter", "Backups that failed.",
         [](const Series& s) { return std::to_string(s.failures); });
}

void Metrics::RenderDrills(std::string& out) const {
  out += fmt::format(
      "# HELP lifeboat_last_verified_restore_timestamp_seconds Unix time of the last successful restore drill (0: none).\n"
      "# TYPE lifeboat_last_verified_restore_timestamp_seconds gauge\n"
      "lifeboat_last_verified_restore_timestamp_seconds {:.3f}\n"
      "# HELP lifeboat_drill_duration_seconds Duration of the last successful restore drill.\n"
      "# TYPE lifeboat_drill_duration_seconds gauge\n"
      "lifeboat_drill_duration_seconds {:.3f}\n"
      "# HELP lifeboat_drills_total Restore drills, by result.\n"
      "# TYPE lifeboat_drills_total counter\n"
      "lifeboat_drills_total{{result=\"ok\"}} {}\n"
      "lifeboat_drills_total{{result=\"failed\"}} {}\n",
      last_verified_restore_, drill_duration_, drills_ok_, drills_failed_);
}

void Metrics::RenderChangeLog(std::string& out) const {
  out += fmt::format(
      "# HELP lifeboat_changelog_revision Revision up to which every change is in the store.\n"
      "# TYPE lifeboat_changelog_revision gauge\nlifeboat_changelog_revision {}\n"
      "# HELP lifeboat_changelog_last_segment_timestamp_seconds Unix time of the last stored segment (0: none).\n"
      "# TYPE lifeboat_changelog_last_segment_timestamp_seconds gauge\n"
      "lifeboat_changelog_last_segment_timestamp_seconds {:.3f}\n"
      "# HELP lifeboat_changelog_segments_total Change-log segments stored.\n"
      "# TYPE lifeboat_changelog_segments_total counter\nlifeboat_changelog_segments_total {}\n"
      "# HELP lifeboat_changelog_events_total Changes stored in the change log.\n"
      "# TYPE lifeboat_changelog_events_total counter\nlifeboat_changelog_events_total {}\n"
      "# HELP lifeboat_changelog_gaps_total Gaps in the change log: etcd had compacted revisions it had not read.\n"
      "# TYPE lifeboat_changelog_gaps_total counter\nlifeboat_changelog_gaps_total {}\n",
      changelog_revision_, changelog_time_, changelog_segments_, changelog_events_, changelog_gaps_);
  out += fmt::format(
      "# HELP lifeboat_changelog_enabled 1 when this daemon keeps the change log.\n"
      "# TYPE lifeboat_changelog_enabled gauge\nlifeboat_changelog_enabled {}\n",
      changelog_enabled_ ? 1 : 0);
}

// How often each duty is scheduled: alert rules compare ages with it.
void Metrics::RenderSchedules(std::string& out) const {
  out += "# HELP lifeboat_backup_interval_seconds Longest gap between two scheduled backups of the tier.\n"
         "# TYPE lifeboat_backup_interval_seconds gauge\n";
  for (const auto& [tier, seconds] : tier_interval_) {
    out += fmt::format("lifeboat_backup_interval_seconds{{tier=\"{}\"}} {:.0f}\n", Esc(tier), seconds);
  }
  out += fmt::format(
      "# HELP lifeboat_drill_interval_seconds Longest gap between two scheduled restore drills (0: none scheduled).\n"
      "# TYPE lifeboat_drill_interval_seconds gauge\nlifeboat_drill_interval_seconds {:.0f}\n"
      "# HELP lifeboat_check_interval_seconds Longest gap between two scheduled consistency checks (0: none).\n"
      "# TYPE lifeboat_check_interval_seconds gauge\nlifeboat_check_interval_seconds {:.0f}\n",
      drill_interval_, check_interval_);
}

// The consistency check's verdict (once there is one) and its runs.
void Metrics::RenderCheck(std::string& out) const {
  if (consistent_ >= 0) {
    out += fmt::format(
        "# HELP lifeboat_cluster_consistent 1 when the last consistency check found every member holding the same "
        "data, 0 when it found divergent members.\n"
        "# TYPE lifeboat_cluster_consistent gauge\nlifeboat_cluster_consistent {}\n",
        consistent_);
    out += "# HELP lifeboat_member_divergent 1 when the last consistency check found the member holding different "
           "data than the others.\n# TYPE lifeboat_member_divergent gauge\n";
    for (const auto& [member, d] : divergent_) {
      out += fmt::format("lifeboat_member_divergent{{member=\"{}\"}} {}\n", Esc(member), d ? 1 : 0);
    }
  }
  out += fmt::format(
      "# HELP lifeboat_check_last_run_timestamp_seconds Unix time of the last consistency check that reached a "
      "verdict (0: none).\n# TYPE lifeboat_check_last_run_timestamp_seconds gauge\n"
      "lifeboat_check_last_run_timestamp_seconds {:.3f}\n"
      "# HELP lifeboat_check_duration_seconds Duration of the last consistency check.\n"
      "# TYPE lifeboat_check_duration_seconds gauge\nlifeboat_check_duration_seconds {:.3f}\n"
      "# HELP lifeboat_checks_total Consistency checks, by whether they reached a verdict.\n"
      "# TYPE lifeboat_checks_total counter\nlifeboat_checks_total{{result=\"verdict\"}} {}\n"
      "lifeboat_checks_total{{result=\"failed\"}} {}\n",
      check_last_run_, check_duration_, checks_ok_, checks_failed_);
}

// The daemon itself: its cluster, its ticks, and whether a recovery holds it back.
void Metrics::RenderDaemon(std::string& out) const {
  out += fmt::format(
      "# HELP lifeboat_daemon_info The daemon's cluster name (empty: none configured).\n"
      "# TYPE lifeboat_daemon_info gauge\nlifeboat_daemon_info{{cluster=\"{}\"}} 1\n",
      Esc(cluster_));
  out += "# HELP lifeboat_ticks_total Scheduled ticks, by whether this daemon claimed them.\n"
         "# TYPE lifeboat_ticks_total counter\n";
  out += fmt::format(
      "lifeboat_ticks_total{{result=\"won\"}} {}\nlifeboat_ticks_total{{result=\"lost\"}} {}\n"
      "lifeboat_ticks_total{{result=\"skipped_recovery\"}} {}\n",
      ticks_won_, ticks_lost_, ticks_skipped_);
  out += fmt::format(
      "# HELP lifeboat_recovery_in_progress 1 while an agent of the cluster holds a recovery lease: backups and "
      "drills are skipped.\n# TYPE lifeboat_recovery_in_progress gauge\nlifeboat_recovery_in_progress {}\n",
      recovery_in_progress_ ? 1 : 0);
}

std::string Metrics::Render() const {
  std::lock_guard lk(mu_);
  std::string out;
  RenderBackups(out);
  RenderDrills(out);
  RenderChangeLog(out);
  RenderSchedules(out);
  RenderCheck(out);
  RenderDaemon(out);
  return out;
}

}  // namespace lifeboat::daemon
