// StepRunner: runs the named steps of one recovery (restore-cluster, recover-member) in order,
// and records each as it ends. A step is a function that returns its status and one line of
// detail (what it found or changed); the runner times it, appends a StepReport to the result,
// and reports it: to `step_done` when set, otherwise as a line of the step table to `log`:
//   "<name padded to 17> <seconds, 6.1f>s  <detail, or FAILED: message>".
// Once a recovery lease is handed over, every step first renews it on every agent: a step whose
// renewal fails does not run, and the result says the lease was lost. A failed step returns
// false, and the caller stops there: the result keeps its status and the step's name, and the
// failure hook (the journal, for restore-cluster) is called with both.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "ops/recovery/fleet.h"
#include "ops/recovery/recovery_lease.h"

namespace lifeboat::ops {

// What one step did: its status, and the detail shown beside it in the step table. A failing
// step may keep a detail too (what it checked before it failed); it goes to the StepReport, the
// table shows the failure.
struct StepOutcome {
  StepOutcome(Status s) : status(std::move(s)) {}  // NOLINT: lets a step `return` a failure as is
  StepOutcome(Status s, std::string d) : status(std::move(s)), detail(std::move(d)) {}
  static StepOutcome Done(std::string detail) { return {Status::OK(), std::move(detail)}; }

  Status status;
  std::string detail;
};

class StepRunner {
 public:
  using Step = std::function<StepOutcome()>;

  // Records into `result`, which must outlive the runner's use and have the fields `steps`
  // (std::vector<StepReport>), `status`, `failed_step` and `lease_lost`.
  template <class RecoveryResult>
  StepRunner(RecoveryResult* result, std::function<void(const std::string&)> log,
             std::function<void(const StepReport&)> step_done)
      : steps_(&result->steps),
        status_(&result->status),
        failed_step_(&result->failed_step),
        lease_lost_(&result->lease_lost),
        log_(std::move(log)),
        step_done_(std::move(step_done)) {}

  // From now on every step first renews `lease` (owned by the caller, alive while steps run).
  void RenewBeforeEachStep(RecoveryLease* lease) { lease_ = lease; }

  // Called with the step's name and status whenever a step fails, its lease renewal included.
  void OnFailure(std::function<void(const std::string& step, const Status&)> hook) { on_failure_ = std::move(hook); }

  // Runs `step` under the name `name`: true when it succeeded; false when it (or the renewal
  // before it) failed, the result's status and failed_step then saying which and why.
  bool Run(const std::string& name, const Step& step);

  // Renews the lease now, when there is one: OK, or the loss (also marked in the result). For a
  // step that waits and retries, so that it stops retrying once the lease is gone.
  Status RenewLease();

 private:
  std::vector<StepReport>* steps_;
  Status* status_;
  std::string* failed_step_;
  bool* lease_lost_;
  std::function<void(const std::string&)> log_;
  std::function<void(const StepReport&)> step_done_;
  std::function<void(const std::string&, const Status&)> on_failure_;
  RecoveryLease* lease_ = nullptr;
};

}  // namespace lifeboat::ops
