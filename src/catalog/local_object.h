// A backup's snapshot read where it is: a plain object (neither compressed nor encrypted) of a
// store that keeps its objects as files on this host (Store::LocalPath) needs no copy as large
// as the database. The one check every in-place reader makes before it trusts that file.
#pragma once

#include <string>

#include "base/status.h"
#include "catalog/manifest.h"
#include "store/store.h"

namespace lifeboat::catalog {

// The file of `m`'s object, checked in one read: a regular file whose etcd trailer matches its
// image, of the manifest's size and SHA-256 (which covers the trailer, so the image is the one
// the manifest's db_sha256 names). "" (nothing read) when the object cannot be read in place: the caller
// copies it (CopyVerified, FetchToFile). Corruption naming the file and what differs when it is
// not the manifest's byte for byte; the caller says what to do about it.
Result<std::string> CheckedLocalObject(store::Store& store, const Manifest& m);

}  // namespace lifeboat::catalog
