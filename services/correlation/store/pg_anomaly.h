// The anomaly detector's state in the correlation schema — per-series state (anomaly_series)
// and baseline buckets (baselines) — read and written inside the caller's transaction.
// Stateless; thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "pqxx/pqxx"
#include "services/correlation/core/anomaly.h"

namespace k8i::correlation {

// LoadSeriesStates reads (and row-locks) every stored state of the cluster into `out` (only
// series that are not quiet are stored).
void LoadSeriesStates(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                      std::map<std::string, SeriesState>& out);

// LoadBuckets reads the stored moments of `keys` into `out.moments`.
void LoadBuckets(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                 const std::set<BucketKey>& keys, Buckets& out);

// SaveSeriesStates upserts `states`; SaveBuckets upserts the dirty buckets, stamped `seen`.
void SaveSeriesStates(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                      const std::map<std::string, SeriesState>& states);
// DeleteSeriesStates deletes the states of `series` keys.
void DeleteSeriesStates(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                        const std::vector<std::string>& series);
void SaveBuckets(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                 const Buckets& buckets, absl::Time seen);

// A series with an open anomaly whose newest sample is older than a cutoff.
struct StaleSeries {
  std::string tenant;
  std::string cluster;
  std::string series;
  SeriesState state;
};

// LockStaleSeries returns (locked, skipping rows another transaction holds) up to `limit`
// series with an open anomaly whose newest sample is before `cutoff`.
std::vector<StaleSeries> LockStaleSeries(pqxx::work& tx, absl::Time cutoff, int limit);

// PruneAnomalyState deletes the state of series without an open anomaly silent since before
// `series_cutoff`, and baseline buckets not fed since before `bucket_cutoff`.
void PruneAnomalyState(pqxx::work& tx, absl::Time series_cutoff, absl::Time bucket_cutoff);

// The pending samples' text form, `hour:value;hour:value` (exact: %.17g).
std::string PendingToText(const std::vector<std::pair<int, double>>& pending);
std::vector<std::pair<int, double>> PendingFromText(const std::string& text);

}  // namespace k8i::correlation
