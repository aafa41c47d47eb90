// Small file helpers shared by the tools that write state for others to read.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace k8i {

// WriteFileAtomically writes `content` to a temporary file beside `path` (with `mode`), fsyncs
// it and renames it over `path`, so a reader sees the old file or the whole new one.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content,
                                 mode_t mode = 0644);

}  // namespace k8i
