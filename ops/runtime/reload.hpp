// What a reload changes in place (zones options, logging, query log, lameduck), and telling the operator
// about the rest: a changed listen address, source or port needs a restart and is logged as such.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "base/guarded.hpp"
#include "ops/metrics/query_metrics.hpp"
#include "ops/runtime/config_file.hpp"
#include "ops/runtime/snapshot_pipeline.hpp"
#include "zones/builder.hpp"

namespace clusterdns::ops {

struct Settings {
  zones::BuildConfig build;  // --domain, --ttl, --pods, --zone-file (read again at every reload)
  std::string log_level = "info";
  std::string log_format = "text";
  double query_log_rate = 0;
  std::chrono::milliseconds lameduck{5000};
  std::vector<FlagArg> args;  // every effective flag, to tell what else changed
  // The flags apply() changes without a restart (the flag tables' reloadable ones: --domain, --ttl, --pods,
  // --zone-file, --log-level, --log-format, --query-log, --lameduck); every other change is logged as
  // needing a restart.
  std::vector<std::string> reloadable;
};

class SettingsApplier {
 public:
  // `initial` is what the server started with (logging and the query log are applied here once).
  SettingsApplier(Settings initial, SnapshotPipeline& pipeline, QueryMetrics& metrics);
  // Rebuilds and publishes the snapshot with next.build (queries keep being answered from the old one
  // meanwhile), applies logging, the query-log rate and the lameduck duration, and logs every other changed
  // flag as needing a restart. Main thread.
  void apply(Settings next);
  std::chrono::milliseconds lameduck() const;

 private:
  // Reloadable fields as applied; args: non-reloadable values as running. Held through a whole apply().
  base::Guarded<Settings> current_;
  SnapshotPipeline& pipeline_;
  QueryMetrics& metrics_;
};

}  // namespace clusterdns::ops
