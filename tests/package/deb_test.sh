#!/usr/bin/env bash
# The Debian package, installed as apt would on a fresh host: `cpack -G DEB` in the (already
# built) build tree, then `dpkg --root` into an empty root with its own admin dir. Checks the
# installed binary runs and names its commit, the units and configs are where docs/install.md
# promises, the configs are conffiles, no unit is enabled, the postinst made the daemon's user,
# and `systemd-analyze verify` accepts every installed unit.
# Usage: tests/package/deb_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/lifeboat-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT   # only what this test made

# The package, from the build tree's own binary: cpack installs and packs, it does not compile
# (the tree is built by scripts/test before ctest runs).
(cd "$WORK" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/out" >"$WORK/cpack.log" 2>&1) \
  || { cat "$WORK/cpack.log" >&2; fail "cpack -G DEB failed"; }
shopt -s nullglob
debs=("$WORK"/out/lifeboat_*_*.deb)
[ ${#debs[@]} -eq 1 ] || fail "expected one lifeboat_<version>_<arch>.deb in $WORK/out, found: $(ls "$WORK/out")"
DEB=${debs[0]}
ARCH=$(dpkg --print-architecture)
VERSION=$(dpkg-deb -f "$DEB" Version)
[ "$(basename "$DEB")" = "lifeboat_${VERSION}_${ARCH}.deb" ] || fail "package file name $(basename "$DEB")"
echo "package: $(basename "$DEB"), $(stat -c %s "$DEB") bytes"

depends=$(dpkg-deb -f "$DEB" Depends)
echo "Depends: $depends"
for lib in libgrpc++ libprotobuf libcurl libssl libyaml-cpp libzstd libfmt libc6; do
  grep -q "$lib" <<<"$depends" || fail "Depends does not name $lib: $depends"
done

dpkg-deb -e "$DEB" "$WORK/control"
for f in /etc/lifeboat/lifeboat.yaml /etc/lifeboat/agent.yaml /etc/lifeboat/env; do
  grep -qx "$f" "$WORK/control/conffiles" || fail "$f is not a conffile: $(cat "$WORK/control/conffiles")"
done

# A fresh root: only dpkg's admin dir. --force-script-chrootless runs the postinst on this host
# with DPKG_ROOT set (the root holds no shell to chroot into); --force-depends because the root
# holds none of the libraries (this host does, and runs the binary).
ROOT=$WORK/root
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers"
: >"$ROOT/var/lib/dpkg/status"
: >"$ROOT/var/lib/dpkg/available"
dpkg --root="$ROOT" --force-script-chrootless --force-depends --force-not-root -i "$DEB" >"$WORK/dpkg.log" 2>&1 \
  || { cat "$WORK/dpkg.log" >&2; fail "dpkg --root -i failed"; }
status=$(dpkg --root="$ROOT" -s lifeboat | sed -n 's/^Status: //p')
[ "$status" = "install ok installed" ] || fail "dpkg status of lifeboat: '$status'"

BIN=$ROOT/usr/bin/lifeboat
[ -x "$BIN" ] || fail "no executable /usr/bin/lifeboat in the package"
out=$("$BIN" --version)
echo "lifeboat --version: $out"
commit=$(git -C "$(dirname "$0")" rev-parse --short=12 HEAD 2>/dev/null || true)
grep -q "^lifeboat $VERSION (commit " <<<"$out" || fail "--version does not name version $VERSION and a commit: $out"
if [ -n "$commit" ]; then
  grep -q "$commit" <<<"$out" || fail "--version does not name the commit $commit: $out"
fi
[ "$("$BIN" --version | tail -c1 | od -An -c | tr -d ' ')" = '\n' ] || fail "--version does not end with a newline"

UNITDIR=$ROOT/usr/lib/systemd/system
units=("$UNITDIR"/lifeboat*.service)
[ ${#units[@]} -ge 1 ] || fail "no lifeboat*.service in /usr/lib/systemd/system"
[ -f "$UNITDIR/lifeboat.service" ] || fail "lifeboat.service is not installed"
src_units=$(cd "$(dirname "$0")/../../deploy" && ls ./*.service | wc -l)
[ ${#units[@]} -eq "$src_units" ] || fail "${#units[@]} units installed, deploy/ has $src_units"
for u in "${units[@]}"; do
  grep -q "^ExecStart=/usr/bin/lifeboat " "$u" || fail "$(basename "$u") does not start /usr/bin/lifeboat: $(grep ExecStart "$u")"
  if [ -n "$(find "$ROOT/etc/systemd" -name "$(basename "$u")" 2>/dev/null)" ]; then
    fail "$(basename "$u") is enabled by the package"
  fi
done
if [ -f "$UNITDIR/lifeboat-agent.service" ]; then
  echo "agent unit: /usr/lib/systemd/system/lifeboat-agent.service"
elif [ -f "$(dirname "$0")/../../deploy/lifeboat-agent.service" ]; then
  fail "deploy/lifeboat-agent.service is not installed"
else
  echo "note: this tree's deploy/ has no lifeboat-agent.service yet; every deploy/*.service was installed"
fi

for f in lifeboat.yaml agent.yaml env; do
  [ -f "$ROOT/etc/lifeboat/$f" ] || fail "/etc/lifeboat/$f is not installed"
done
[ "$(stat -c %a "$ROOT/etc/lifeboat/env")" = 600 ] || fail "/etc/lifeboat/env is not mode 600"
[ -f "$ROOT/usr/share/doc/lifeboat/README.md" ] || fail "README.md not in /usr/share/doc/lifeboat"
[ -f "$ROOT/usr/share/lifeboat/prometheus/lifeboat-rules.yaml" ] || fail "alert rules not in /usr/share/lifeboat"
grep -q '^lifeboat:' "$ROOT/etc/passwd" || fail "postinst did not create the lifeboat user in the root"
[ -d "$ROOT/var/lib/lifeboat" ] || fail "postinst did not create /var/lib/lifeboat"

# The example coordinator config is read by the strict reader (an unknown key would exit 2).
"$BIN" --config "$ROOT/etc/lifeboat/lifeboat.yaml" --store "file://$WORK/store" list >"$WORK/list.log" 2>&1 \
  || { cat "$WORK/list.log" >&2; fail "the installed lifeboat.yaml is not accepted"; }

# systemd checks the units as installed in the root (ExecStart resolved there; no man pages:
# the package ships none). The root stands for a host with systemd, so it gets systemd's own
# units (sysinit.target, network-online.target, ...) from this one, never over the package's.
cp -rn /usr/lib/systemd/system/. "$UNITDIR/"
SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$ROOT" --man=no "${units[@]#$ROOT}" >"$WORK/verify.log" 2>&1 \
  || { cat "$WORK/verify.log" >&2; fail "systemd-analyze verify rejects the installed units"; }
if [ -s "$WORK/verify.log" ]; then cat "$WORK/verify.log" >&2; fail "systemd-analyze verify warns about the installed units"; fi
echo "PASS: $(basename "$DEB") installs into a fresh root; ${#units[@]} unit(s) verified, none enabled"
