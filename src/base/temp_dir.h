// TempDir: a fresh private directory for throwaway copies (decrypted snapshots among them) that
// is removed, with everything in it, when the object goes. For throwaway copies only: never
// point it at data that must survive.
//
// Every TempDir lives in one per-user root, "<parent>/lifeboat-<uid>" (0700, owned by this user,
// refused otherwise), as "<prefix><pid>-XXXXXX" (0700); files in it are created 0600 by their
// writers. The pid in the name lets the next TempDir::Create of any lifeboat process remove what
// a killed one left (a SIGKILL runs no destructor). After InstallTempDirCleanup, SIGINT, SIGTERM
// and SIGHUP remove the live TempDirs before the process dies of the signal as before (commands
// that handle those signals themselves replace this and run the destructors).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace lifeboat {

class TempDir {
 public:
  // "<parent>/lifeboat-<uid>/<prefix><pid>-XXXXXX"; an empty parent means DefaultTempParent().
  // Removes the stale dirs of dead processes in that root first.
  static Result<std::unique_ptr<TempDir>> Create(const std::string& parent, const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path, int slot) : path_(std::move(path)), slot_(slot) {}
  std::string path_;
  int slot_;  // in the signal handler's table; -1: not there
};

// The directory throwaway files go in when the caller names none: $TMPDIR when it is set and
// not empty, else /tmp. Every "empty means the default temp dir" in lifeboat resolves here.
std::string DefaultTempParent();

// The per-user root TempDirs of `parent` (empty: DefaultTempParent()) live in.
std::string TempRoot(const std::string& parent);

// Removes the TempDirs in TempRoot(parent) whose process is gone; returns what it removed.
Result<std::vector<std::string>> SweepStaleTempDirs(const std::string& parent);

// Installs the SIGINT/SIGTERM/SIGHUP handlers described above. Call once, early in main().
void InstallTempDirCleanup();

}  // namespace lifeboat
