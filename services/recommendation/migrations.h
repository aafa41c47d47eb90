// The recommendation schema's migrations, embedded from migrations/*.sql at build time.
#pragma once

#include <vector>

#include "libs/pg/migrate.h"

namespace k8i::recommendation {
const std::vector<k8i::pg::Migration>& Migrations();
}  // namespace k8i::recommendation
