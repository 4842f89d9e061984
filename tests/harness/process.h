// Child processes for integration tests: run one to completion with its output captured, or spawn
// one in the background and wait for it later. Nothing here can hang a test: every wait has a
// deadline, and a child that overruns it is killed together with its process group.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lifeboat::harness {

struct ProcResult {
  int exit_code = -1;  // exit status; 128+N when killed by signal N; -1 on timeout or exec failure
  std::string out, err;
  bool ok() const { return exit_code == 0; }
};

// Runs argv (PATH lookup) with stdin from /dev/null and stdout/stderr captured through pipes.
// extra_env is added to (and overrides) this process's environment. On timeout the child's
// process group is SIGKILLed, exit_code is -1 and err ends with a note naming the timeout.
ProcResult Run(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& extra_env = {},
               std::chrono::seconds timeout = std::chrono::seconds(120));

// Starts argv in the background with stdout/stderr appended to out_file/err_file (created if
// needed) and stdin from `in_fd` (-1: /dev/null). Returns the pid, or -1 (and fails the current
// test) if it could not be started.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_file,
            const std::string& err_file, const std::map<std::string, std::string>& extra_env = {},
            int in_fd = -1);

// Spawn with stdin on a fresh pseudo-terminal, as an operator's shell would run it: *terminal
// receives its master side, to type into (write "yes\n") and to close once done.
pid_t SpawnOnTerminal(const std::vector<std::string>& argv, const std::string& out_file, const std::string& err_file,
                      int* terminal, const std::map<std::string, std::string>& extra_env = {});

// Reaps a child started by Spawn; out/err are the contents of its files. On timeout the child's
// process group is SIGKILLed and exit_code is -1. `usage` (optional) receives the child's own
// resource use (wait4): its peak RSS is ru_maxrss, in KiB.
ProcResult Wait(pid_t pid, std::chrono::seconds timeout = std::chrono::seconds(120), struct rusage* usage = nullptr);

// Calls cond every `interval` until it returns true (-> true) or `deadline` has passed (-> false).
bool PollUntil(std::chrono::milliseconds deadline, const std::function<bool()>& cond,
               std::chrono::milliseconds interval = std::chrono::milliseconds(50));

// Creates a fresh directory /tmp/<prefix>XXXXXX and returns its path; on failure fails the
// current test and returns "". Removed at the process's exit if every test in it passed, kept
// for a post-mortem if one failed.
std::string MakeTempDir(const std::string& prefix);

// The etcd version this test pass runs: LB_ETCD_VERSION (set per pass by CTest), "" when unset,
// which is the system's 3.4.23.
std::string PassEtcdVersion();

// Path of an etcd tool ("etcd", "etcdctl", "etcdutl") of one version: "" is the pass's version,
// "3.4" the system's (found on PATH), "3.5.16"/"3.5.30"/"3.6.14"/"3.7.1" the ones
// scripts/fetch-etcd put into LB_ETCD_DIR ("3.4.23" also names the system's). The system 3.4 has
// no etcdutl; its etcdctl does that work.
std::string EtcdTool(const std::string& version, const std::string& tool);

// The directory of a fetched version's binaries; "" for the system's (PATH). "" = the pass's.
std::string EtcdBinDir(const std::string& version);

// The full version that EtcdTool(version, ...) runs, as `etcd --version` prints it: "3.4.23" (the
// system's), "3.5.16", "3.5.30", "3.6.14", "3.7.1".
std::string ResolvedEtcdVersion(const std::string& version);

// n distinct free TCP ports on 127.0.0.1, below the ephemeral range and reserved against other
// test processes until this one exits (see process.cc).
std::vector<int> FreePorts(int n);

// Runs the lifeboat CLI under test (LB_BINARY) with args.
ProcResult Lifeboat(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {},
                    std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace lifeboat::harness
