#include "ops/recovery/step_runner.h"

#include <chrono>

#include <fmt/format.h>

namespace lifeboat::ops {

Status StepRunner::RenewLease() {
  Status s = lease_ ? lease_->RenewNow() : Status::OK();
  if (!s.ok()) *lease_lost_ = true;
  return s;
}

bool StepRunner::Run(const std::string& name, const Step& step) {
  auto t0 = std::chrono::steady_clock::now();
  StepOutcome out = RenewLease();
  if (out.status.ok()) out = step();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  steps_->push_back({name, secs, out.detail, out.status.ok()});
  if (step_done_) {
    step_done_(steps_->back());
  } else if (log_) {
    log_(fmt::format("{:<17} {:>6.1f}s  {}", name, secs, out.status.ok() ? out.detail : "FAILED: " + out.status.message()));
  }
  if (out.status.ok()) return true;
  *status_ = out.status;
  *failed_step_ = name;
  if (on_failure_) on_failure_(name, out.status);
  return false;
}

}  // namespace lifeboat::ops
