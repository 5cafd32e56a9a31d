// Reflector: paged list, watch from the list's resourceVersion, bookmarks, 410 → re-list, back-off.
#include "discovery/k8s/reflector.hpp"

#include <algorithm>
#include <charconv>

#include "base/log.hpp"
#include "discovery/k8s/watch_stream.hpp"
#include "discovery/objects/json_text.hpp"

namespace clusterdns::discovery::k8s {

namespace {

constexpr std::size_t kMaxEventBytes = 64u << 20;  // one watch event line
constexpr int kMaxUndecodableRewatches = 3;        // then the collection is listed again

}  // namespace

Reflector::Reflector(ResourceSpec spec, ApiClient& api, WatchTiming timing, std::function<void()> on_change)
    : spec_(std::move(spec)),
      api_(api),
      timing_(timing),
      on_change_(std::move(on_change)),
      rng_(std::random_device{}()) {}

Reflector::~Reflector() {
  request_stop();
  join();
}

void Reflector::start() {
  thread_ = std::thread([this] {
    run();
    exited_.store(true, std::memory_order_release);
  });
}

void Reflector::request_stop() {
  {
    std::lock_guard lock(wait_mutex_);
    stop_.store(true, std::memory_order_release);
  }
  wait_cv_.notify_all();
  cancel_.cancel();
}

void Reflector::join() {
  if (thread_.joinable()) thread_.join();
}

void Reflector::read(const std::function<void(const Store&)>& fn) const {
  std::lock_guard lock(store_mutex_);
  fn(store_);
}

uint64_t Reflector::version() const {
  std::lock_guard lock(store_mutex_);
  return version_;
}

std::vector<Reflector::Change> Reflector::take_changes() {
  std::vector<Change> out;
  std::lock_guard lock(store_mutex_);
  out.swap(changes_);
  return out;
}

ReflectorStats Reflector::stats() const {
  return *stats_.lock();
}

std::string Reflector::query_suffix() const {
  return spec_.label_selector.empty() ? "" : "&labelSelector=" + url_encode(spec_.label_selector);
}

void Reflector::run() {
  bool need_list = true;
  while (!stopping()) {
    Next next = need_list ? list() : watch();
    if (next == Next::Watch) need_list = false;
    switch (next) {
      case Next::Watch:
        break;
      case Next::Relist:
        need_list = true;
        if (++gone_streak_ > 1) wait_backoff();  // a server that answers every watch with 410
        break;
      case Next::Backoff:
        wait_backoff();
        break;
      case Next::BackoffRelist:
      case Next::Absent:
        need_list = true;
        wait_backoff();
        break;
      case Next::Stop:
        return;
    }
  }
}

void Reflector::wait_backoff() {
  // 0.8 s, 1.6 s, 3.2 s … each with up to +50 % jitter, never over the cap (30 s); a Retry-After the
  // server sent (429, 503) counts, up to the cap as well.
  ++failures_;
  const double cap = static_cast<double>(timing_.backoff_max.count());
  double base = static_cast<double>(timing_.backoff_initial.count()) * (1u << std::min(failures_ - 1, 16));
  double jittered = std::min(cap, base * (1.0 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng_)));
  double wanted = std::min(cap, 1000.0 * retry_after_);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(std::max(jittered, wanted)));
  retry_after_ = 0;
  std::unique_lock lock(wait_mutex_);
  wait_cv_.wait_for(lock, delay, [this] { return stopping(); });
}

void Reflector::report(const std::string& problem) {
  failing_.store(true, std::memory_order_relaxed);
  if (problem == problem_) return;
  problem_ = problem;
  const char* keeping = synced() ? "keeping the last good state" : "not synced yet";
  base::logger("discovery")
      ->warn("{} {}: {}; retrying with back-off, {}", api_.origin(), spec_.description, problem, keeping);
}

void Reflector::recovered() {
  failing_.store(false, std::memory_order_relaxed);
  if (problem_.empty()) return;
  base::logger("discovery")->info("{} {}: recovered", api_.origin(), spec_.description);
  problem_.clear();
}

Reflector::Next Reflector::classify(const HttpResult& r, const std::string& what) {
  if (stopping()) return Next::Stop;
  if (r.status == 0 || (r.status == 200 && !r.transport_ok)) {
    report(what + (r.status == 0 ? " " : " response cut: ") + r.describe());
    return Next::Backoff;
  }
  int code = r.status;
  if (code == 410) return Next::Relist;
  // An optional collection's definition removed while watched: the list says whether it is gone for good.
  if (spec_.optional && (code == 404 || code == 403)) return Next::BackoffRelist;
  if (code == 401) {
    api_.token_rejected();
    report(what + " unauthorized (401): the token was rejected; re-reading it before the next attempt");
    return Next::Backoff;
  }
  retry_after_ = r.retry_after;
  report(what + " " + r.describe());
  return code == 429 || code >= 500 ? Next::Backoff : Next::BackoffRelist;
}

Reflector::Next Reflector::watch() {
  std::uniform_int_distribution<int64_t> pick(
      timing_.min_watch_timeout.count(),
      std::max(timing_.min_watch_timeout, timing_.max_watch_timeout).count());
  const std::chrono::seconds timeout(pick(rng_));
  std::string path = spec_.path + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(rv_) +
                     "&timeoutSeconds=" + std::to_string(timeout.count()) + query_suffix();
  const auto started = std::chrono::steady_clock::now();
  auto last_byte = started;
  uint64_t events = 0;
  Next next = Next::Watch;
  LineSplitter lines(kMaxEventBytes);
  const std::chrono::seconds idle =
      timing_.watch_idle_timeout.count() > 0
          ? std::min(timeout + timing_.read_timeout_slack, timing_.watch_idle_timeout)
          : timeout + timing_.read_timeout_slack;
  HttpResult r = api_.get(
      path, idle,
      [&](const char* d, std::size_t n) {
        last_byte = std::chrono::steady_clock::now();
        heard();
        bool changed = false;
        bool go =
            lines.feed(d, n, [&](std::string& line) { return handle_line(line, next, changed, events); });
        if (changed) on_change_();
        return go;
      },
      cancel_);
  {
    auto stats = stats_.lock();
    ++stats->watches;
    if (lines.pending() > 0) ++stats->partial_lines;
    if (r.status == 410 || next == Next::Relist) ++stats->gone;
  }
  if (stopping()) return Next::Stop;
  if (!r.transport_ok && !r.cancelled && std::chrono::steady_clock::now() - last_byte >= idle) {
    // Not even a bookmark for two bookmark intervals: the server (or the path to it) went quiet.
    base::logger("discovery")
        ->warn("{} {}: watch silent for {} s (no event, no bookmark); watching again from resourceVersion {}",
               api_.origin(), spec_.description, idle.count(), rv_);
    ++stats_.lock()->idle_timeouts;
  }
  if (r.status != 200) return classify(r, "watch");
  if (lines.pending() > 0) {
    // The stream was cut inside an event: what arrived of it is dropped, and the re-watch from the last
    // complete event's resourceVersion delivers it whole.
    base::logger("discovery")
        ->debug("{} {}: stream cut mid-event; dropped {} bytes", api_.origin(), spec_.description,
                lines.pending());
    lines.discard();
  }
  if (lines.overflowed()) {
    report("watch event larger than 64 MiB");
    return Next::BackoffRelist;
  }
  if (next != Next::Watch) return next;
  if (events > 0 || std::chrono::steady_clock::now() - started >= std::chrono::seconds(1)) {
    if (r.transport_ok) heard();  // ended by the server at its timeout: it is there
    failures_ = 0;
    gone_streak_ = 0;
    recovered();
    return Next::Watch;  // the server's timeout, or a cut: watch again from rv_ at once
  }
  report("watch ended at once without events (" + (r.transport_ok ? std::string("closed") : r.transport) +
         ")");
  return Next::Backoff;
}

bool Reflector::handle_line(std::string& line, Next& next, bool& changed, uint64_t& events) {
  // The line's own buffer when it has room for simdjson's padding; a copy otherwise (one event).
  JsonWalk walk;
  std::optional<Document> ev = thread_json_reader().document(PaddedJson(line), walk);
  DocNode root = ev ? ev->root() : DocNode();
  DocNode type_node = root.get("type");
  DocNode object = root.get("object");
  if (!ev || !root.is_map() || !type_node.is_scalar() || type_node.plain() || !object.is_map() ||
      walk.duplicate_depth == 1) {
    // Skipping it would lose this change until the next re-list (hours): stop here and watch again from
    // the last applied resourceVersion, so the server sends it again (a 410 then means re-list). A line
    // that stays undecodable re-lists after a few attempts.
    {
      auto stats = stats_.lock();
      ++stats->malformed;
      ++stats->undecodable;
    }
    const bool relist = ++undecodable_streak_ >= kMaxUndecodableRewatches;
    base::logger("discovery")
        ->warn("{} {}: undecodable watch event after resourceVersion {}; {}: {:.200}", api_.origin(),
               spec_.description, rv_, relist ? "re-listing" : "watching again from there", line);
    if (relist) undecodable_streak_ = 0;
    next = relist ? Next::BackoffRelist : Next::Backoff;
    return false;
  }
  const std::string type = type_node.str();
  if (type == "ERROR") {
    DocNode code_node = object.get("code");
    int code = 0;
    if (code_node.is_scalar() && code_node.plain()) {
      const std::string_view c = code_node.scalar();
      if (std::from_chars(c.data(), c.data() + c.size(), code).ptr != c.data() + c.size()) code = 0;
    }
    DocNode message_node = object.get("message");
    std::string message =
        message_node.is_scalar() && !message_node.plain() ? message_node.str() : std::string();
    if (code == 410) {
      base::logger("discovery")
          ->info("{} {}: watch expired ({}); re-listing", api_.origin(), spec_.description, message);
      next = Next::Relist;
    } else {
      report("watch ERROR event " + std::to_string(code) + ": " + message);
      next = Next::BackoffRelist;
    }
    return false;
  }
  std::string rv = resource_version(object);
  if (type == "BOOKMARK") {
    if (!rv.empty()) rv_ = std::move(rv);
    auto stats = stats_.lock();
    ++stats->bookmarks;
    return true;
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") {
    base::logger("discovery")
        ->warn("{} {}: skipped a watch event of unknown type {}", api_.origin(), spec_.description, type);
    return true;
  }
  apply_object(type, object, changed, walk.duplicate_reason());
  if (!rv.empty()) rv_ = std::move(rv);
  undecodable_streak_ = 0;
  ++events;
  return true;
}

void Reflector::apply_object(const std::string& type, DocNode object, bool& changed,
                             const std::string& refused) {
  {
    auto stats = stats_.lock();
    ++stats->events;
  }
  if (type == "DELETED" && refused.empty()) {
    std::string key = object_key(spec_.kind, object);
    bad_.erase(key);
    std::lock_guard lock(store_mutex_);
    if (store_.erase(key) > 0) {
      changes_.push_back({key, nullptr});
      changed = true;
      ++version_;
    }
    return;
  }
  SlimResult s;
  if (refused.empty()) {
    s = slim_object(spec_.kind, object);
  } else {
    s.key = object_key(spec_.kind, object);
    s.error = refused;
  }
  if (!s.error.empty()) {
    // Malformed: logged with its key and skipped; whatever the store held for the key stays.
    auto [it, added] = bad_.emplace(s.key, s.error);
    if (added || it->second != s.error) {
      it->second = s.error;
      base::logger("discovery")
          ->warn("{} {}: skipped {} {} {}: {}", api_.origin(), spec_.description, type, kind_name(spec_.kind),
                 s.key.empty() ? "(no name)" : s.key, s.error);
    }
    auto stats = stats_.lock();
    ++stats->malformed;
    return;
  }
  bad_.erase(s.key);
  std::lock_guard lock(store_mutex_);
  if (s.object) {
    auto slim = std::make_shared<const Slim>(std::move(*s.object));
    store_.insert_or_assign(s.key, slim);
    changes_.push_back({s.key, std::move(slim)});
  } else if (store_.erase(s.key) == 0) {  // left out on purpose (e.g. an IP as externalName)
    return;
  } else {
    changes_.push_back({s.key, nullptr});
  }
  changed = true;
  ++version_;
}

}  // namespace clusterdns::discovery::k8s
