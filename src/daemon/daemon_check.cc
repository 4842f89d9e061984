// The daemon's consistency check (ops/check.h), claimed per tick like a backup: the daemon that
// claims the tick checks and publishes its verdict in etcd (VerdictKey, JSON below, on a day's
// lease); every other daemon shows that verdict, so each one's metrics tell the same truth
// while the members do the work once.
//   {"tick": <unix>, "finished_at": <unix, fractional>, "by": "<host:pid>",
//    "consistent": true, "seconds": 0.4, "divergent": {"m1": false, ...}}
#include <nlohmann/json.hpp>
#include <thread>

#include "base/timefmt.h"
#include "daemon/daemon.h"
#include "etcd/client.h"
#include "ops/verify/check.h"

namespace lifeboat::daemon {

using Clock = std::chrono::system_clock;

namespace {

double Unix(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

struct Verdict {
  double tick = 0, finished_at = 0, seconds = 0;
  std::string by;
  bool consistent = false;
  std::map<std::string, bool> divergent;
};

std::string ToJson(const Verdict& v) {
  nlohmann::json j = {{"tick", v.tick},     {"finished_at", v.finished_at}, {"by", v.by},
                      {"consistent", v.consistent}, {"seconds", v.seconds},         {"divergent", v.divergent}};
  return j.dump();
}

Result<Verdict> ParseVerdict(const std::string& text) {
  Verdict v;
  try {
    auto j = nlohmann::json::parse(text);
    v.tick = j.at("tick").get<double>();
    v.finished_at = j.at("finished_at").get<double>();
    v.by = j.at("by").get<std::string>();
    v.consistent = j.at("consistent").get<bool>();
    v.seconds = j.at("seconds").get<double>();
    v.divergent = j.at("divergent").get<std::map<std::string, bool>>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("consistency verdict in etcd: ") + e.what());
  }
  return v;
}

}  // namespace

void Daemon::RunCheck(Clock::time_point at) {
  auto started = std::chrono::steady_clock::now();
  ops::SurveyOptions so;
  so.whole_cluster = true;
  so.hashes = true;
  so.settle_timeout = config_.check_settle_timeout;
  auto report = ops::Survey(config_.client, so);
  if (!report.ok()) {
    log_.Error("consistency check: {}", report.status().message());
    metrics_.RecordCheckFailure();
    return;
  }
  ops::CheckResult res = ops::Judge(*report);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  using V = ops::CheckResult::Verdict;
  if (res.verdict != V::kConsistent && res.verdict != V::kDivergent) {
    // A member that does not answer is etcd's own alert; a verdict about the others would claim
    // more than was seen.
    for (const auto& f : res.findings) log_.Warn("consistency check: {}", f);
    log_.Warn("consistency check: {} ({:.1f}s)", ops::VerdictName(res.verdict), seconds);
    metrics_.RecordCheckFailure();
    return;
  }
  Verdict v{Unix(at), Unix(Clock::now()), seconds, config_.identity, res.verdict == V::kConsistent, {}};
  for (const auto& r : report->reports) v.divergent[r.label()] = false;
  for (size_t i : res.divergent) v.divergent[report->reports[i].label()] = true;
  metrics_.RecordCheck(v.consistent, v.divergent, seconds);
  if (v.consistent) {
    log_.Info("consistency check {}: {} members consistent at revision {} ({:.1f}s)", FormatRFC3339(at),
              report->reports.size(), report->common_revision, seconds);
  } else {
    for (const auto& f : res.findings) log_.Error("consistency check: {}", f);
    log_.Error("consistency check: DIVERGENT ({:.1f}s); run `lifeboat check` and see docs/recovery.md", seconds);
    metrics_.SetLastError("consistency check: cluster divergent");
  }
  PublishVerdict(ToJson(v));
}

void Daemon::PublishVerdict(const std::string& json) {
  Status s = WithAnyMember([&](etcd::Client& c) { return c.Put(VerdictKey(), json, std::chrono::hours(24)).status(); });
  if (!s.ok()) log_.Warn("consistency check: verdict not published for the other daemons: {}", s.message());
}

// Polls the published verdict until it is the one of tick `at` (the winner may still be
// checking) or `until`; shows the newest one seen.
void Daemon::AdoptVerdict(Clock::time_point at, Clock::time_point until, const std::atomic<bool>& stop) {
  std::optional<Verdict> seen;
  Status last;
  for (;;) {
    std::optional<std::string> text;
    last = WithAnyMember([&](etcd::Client& c) -> Status {
      LB_ASSIGN_OR_RETURN(text, c.Get(VerdictKey()));
      return Status::OK();
    });
    if (last.ok() && text) {
      auto v = ParseVerdict(*text);
      if (v.ok()) seen = *v;
      last = v.status();
    }
    if ((seen && seen->tick >= Unix(at)) || Clock::now() >= until || stop.load()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!seen) {
    log_.Warn("consistency check {}: claimed by another daemon, whose verdict is not to be seen{}", FormatRFC3339(at),
              last.ok() ? "" : ": " + last.message());
    return;
  }
  metrics_.AdoptCheck(seen->consistent, seen->divergent, seen->seconds, seen->finished_at);
  log_.Info("consistency check {}: checked by {}: {}", FormatRFC3339(at), seen->by,
            seen->consistent ? "consistent" : "DIVERGENT");
}

void Daemon::CheckTick(Clock::time_point at, Clock::time_point until, const std::atomic<bool>& stop) {
  if (RecoveryHolds("consistency check", false)) return;
  auto won = Claim(CheckClaimKey(at));
  if (!won.ok()) {
    log_.Error("consistency check {}: cannot claim it in etcd: {}", FormatRFC3339(at), won.status().message());
    metrics_.RecordCheckFailure();
    return;
  }
  if (*won) return RunCheck(at);
  AdoptVerdict(at, until, stop);
}

void Daemon::CheckLoop(const std::atomic<bool>& stop) {
  const catalog::CronSchedule& schedule = *config_.check_schedule;
  // First the latest tick at or before now: checked at start unless another daemon did.
  Clock::time_point at = schedule.Previous(Clock::now());
  if (at == Clock::time_point::min()) at = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
  while (!stop.load()) {
    Clock::time_point until = schedule.Next(at);
    CheckTick(at, until, stop);
    // A check that outlasted its interval skips the ticks it overlapped.
    Clock::time_point next = schedule.Next(std::max(at, Clock::now()));
    if (next == Clock::time_point::max() || !SleepUntil(next, stop)) return;
    at = next;
  }
}

}  // namespace lifeboat::daemon
