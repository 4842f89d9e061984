// JSON forms of survey and check results, shared by `status -w json` and `check -w json`.
#pragma once

#include <nlohmann/json.hpp>

#include "ops/verify/check.h"
#include "ops/verify/survey.h"

namespace lifeboat::cli {

nlohmann::json ReportToJson(const ops::ClusterReport& report);
nlohmann::json MemberToJson(const ops::MemberReport& r);

}  // namespace lifeboat::cli
