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
