// Leftovers of an agent that died in the middle of a call: the temp file of a staging download
// (AtomicFile's ".<name>.tmp-<pid>-<hex>") whose writing process is gone, and the temp dir of a
// native restore (".<data-dir name>.lifeboat-restore-XXXXXX" next to the data dir). Neither was
// ever put in place nor run by etcd, and the snapshot each came from is still in the store, so
// removing them loses nothing; left alone, a killed predecessor's copies would hold the disk
// space that the --resume of the same restore needs. The agent sweeps them before it serves.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace lifeboat::host {

// Removes such leftovers in `staging_dir` and beside `data_dir`; returns what it removed.
// A staging temp file of a live process (pid still running) is kept. Missing dirs are fine.
Result<std::vector<std::string>> SweepLeftovers(const std::string& staging_dir, const std::string& data_dir);

// Staged copies no recovery needs any more: when no live recovery lease is kept in
// `staging_dir` (the lease files of every member sharing it, host/lease_table.h), every staged
// copy there is removed (a recovery under way keeps its copies for --resume). Returns what it
// removed; a lease file that cannot be read counts as live (nothing is removed).
Result<std::vector<std::string>> SweepStaleStaged(const std::string& staging_dir, int64_t now_ms);

}  // namespace lifeboat::host
