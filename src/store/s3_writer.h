// S3ObjectWriter: streams an object into S3 as a multipart upload fed directly by Append(), with
// no temp file. Full parts are uploaded by a few threads while Append() keeps filling the next;
// Append() blocks once max_parts_in_flight parts wait or travel, so memory stays under
// (max_parts_in_flight + 1) * part_size. The object appears only at Commit()
// (CompleteMultipartUpload); Abort(), any failure and destruction without Commit abort the
// upload. An object smaller than one part is sent as a single PUT at Commit(). With Object Lock
// (`options`), the PUT or CreateMultipartUpload carries the lock and every body a Content-MD5.
#pragma once

#include <memory>
#include <string>

#include "store/s3_client.h"
#include "store/store.h"

namespace lifeboat::store {

// `client` must outlive the writer. `key` is the full key in the bucket.
std::unique_ptr<ObjectWriter> NewS3ObjectWriter(S3Client* client, std::string key, WriteOptions options = {});

}  // namespace lifeboat::store
