# Shared by the bench/*.sh scripts (sourced, not run). Sets ROOT and LB (the lifeboat binary):
# LIFEBOAT_BIN=path measures an already built binary; otherwise installs and builds it.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
LB=${LIFEBOAT_BIN:-}
if [ -z "$LB" ]; then
  bash scripts/setup >/dev/null
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build lifeboat >/dev/null
  LB=$ROOT/build/lifeboat
fi

# Starts a 3-member cluster in $WORK/cluster, loads ~$1 MiB of keys, sources its cluster.env and
# sets LEADER, SRC (a follower: both tools under comparison read from it) and SRC_EP.
start_loaded_cluster() {
  bash scripts/etcd-cluster start "$WORK/cluster" --quota-bytes 8589934592 >/dev/null
  # shellcheck disable=SC1091
  source "$WORK/cluster/cluster.env"
  echo "loading ~$1 MB of keys ..."
  bash scripts/etcd-cluster load "$WORK/cluster" "$1" >/dev/null
  LEADER=$(bash scripts/etcd-cluster leader "$WORK/cluster")
  local i name_var client_var
  for i in $(seq 1 "$MEMBERS"); do
    name_var=M${i}_NAME client_var=M${i}_CLIENT
    if [ "${!name_var}" != "$LEADER" ]; then SRC=${!name_var}; SRC_EP=${!client_var}; break; fi
  done
}
