// Reflector's list: every page slimmed item by item as it parses, then the store replaced whole.
#include "discovery/k8s/reflector.hpp"
#include "base/log.hpp"
#include "discovery/k8s/list_page.hpp"
#include "discovery/objects/json_text.hpp"

namespace clusterdns::discovery::k8s {

namespace {

constexpr std::size_t kMaxPageBytes = 512u << 20;  // one list page; a bigger one is a broken server
constexpr int kMaxPages = 100000;                  // 50 million objects at 500 a page
constexpr int kMaxListRestarts = 3;                // expired continue tokens in one list

}  // namespace

Reflector::Next Reflector::list() {
  Store fresh;
  std::string rv;
  std::string cont;
  int pages = 0;
  int restarts = 0;
  int absent_status = 0;
  while (pages < kMaxPages) {
    std::string next_cont;
    bool gone = false;
    Next n = list_page(cont, fresh, rv, next_cont, gone, absent_status);
    if (gone && !cont.empty() && restarts < kMaxListRestarts) {
      // The continue token expired (410) mid-list: start over for a consistent snapshot.
      ++restarts;
      base::logger("discovery")
          ->info("{} {}: list continuation expired; listing again from the start", api_.origin(),
                 spec_.description);
      fresh.clear();
      cont.clear();
      pages = 0;
      continue;
    }
    if (gone) return Next::Backoff;
    if (n == Next::Absent) return absent(absent_status);
    if (n != Next::Watch) return n;
    ++pages;
    if (next_cont.empty()) break;
    cont = std::move(next_cont);
  }
  if (rv.empty()) {
    report("list response has no metadata.resourceVersion");
    return Next::Backoff;
  }
  thread_json_reader().release_if_large(kJsonParserKeptAfterBulk);  // the watch reads small lines
  std::size_t count = fresh.size();
  {
    // The consumer applies changes, not stores: a re-list reports what it removed and what it holds.
    std::vector<Change> changes;
    changes.reserve(fresh.size());
    std::lock_guard lock(store_mutex_);
    for (const auto& [key, old] : store_) {
      if (!fresh.count(key)) changes.push_back({key, nullptr});
    }
    for (const auto& [key, object] : fresh) {
      auto old = store_.find(key);
      if (old == store_.end() || old->second != object) changes.push_back({key, object});
    }
    if (changes_.empty()) {
      changes_ = std::move(changes);
    } else {
      changes_.insert(changes_.end(), std::make_move_iterator(changes.begin()),
                      std::make_move_iterator(changes.end()));
    }
    store_.swap(fresh);
    ++version_;
  }
  fresh.clear();  // the previous objects, freed outside the lock
  bool first = !synced();
  rv_ = rv;
  synced_.store(true, std::memory_order_release);
  {
    auto stats = stats_.lock();
    ++stats->lists;
  }
  recovered();
  if (absent_status_ != 0) {
    absent_status_ = 0;
    base::logger("discovery")->info("{} {}: served now", api_.origin(), spec_.description);
  }
  base::logger("discovery")
      ->info("{} {}: {} {} objects in {} page(s) at resourceVersion {}", api_.origin(), spec_.description,
             first ? "listed" : "re-listed", count, pages, rv);
  on_change_();
  return Next::Watch;
}

Reflector::Next Reflector::absent(int status) {
  heard();  // the server answered: not a silent watch
  {
    std::vector<Change> removed;
    std::lock_guard lock(store_mutex_);
    for (const auto& [key, old] : store_)
      removed.push_back({key, nullptr});
    if (!removed.empty()) {
      changes_.insert(changes_.end(), std::make_move_iterator(removed.begin()),
                      std::make_move_iterator(removed.end()));
      store_.clear();
      ++version_;
    }
  }
  rv_.clear();
  bad_.clear();
  synced_.store(true, std::memory_order_release);
  ++stats_.lock()->absent;
  // 404: the definition is not installed, a cluster that does not use it (not a failure). 403: the
  // credentials may not read it, a deployment to fix (health says stale), yet no reason to hold up the rest.
  failing_.store(status == 403, std::memory_order_relaxed);
  problem_.clear();
  if (status != absent_status_) {
    absent_status_ = status;
    if (status == 404) {
      base::logger("discovery")
          ->warn(
              "{} {}: not served (404: its CustomResourceDefinition is not installed); serving none, "
              "asking again with back-off (at most {} ms apart)",
              api_.origin(), spec_.description, timing_.backoff_max.count());
    } else {
      base::logger("discovery")
          ->error(
              "{} {}: forbidden (403: the credentials may not list them; see the ClusterRole in "
              "docker/); serving none, asking again with back-off (at most {} ms apart)",
              api_.origin(), spec_.description, timing_.backoff_max.count());
    }
  }
  on_change_();
  return Next::Absent;
}

Reflector::Next Reflector::list_page(const std::string& cont_in, Store& fresh, std::string& rv,
                                     std::string& cont_out, bool& gone, int& absent_status) {
  std::string path = spec_.path + "?limit=" + std::to_string(timing_.page_size) + query_suffix();
  if (!cont_in.empty()) path += "&continue=" + url_encode(cont_in);
  std::string body;
  bool too_big = false;
  HttpResult r = api_.get(
      path, timing_.list_read_timeout,
      [&](const char* d, std::size_t n) {
        heard();
        if (body.size() + n > kMaxPageBytes) return !(too_big = true);
        reserve_json_padding(body, n);  // parsed in place: room for simdjson's padding, grown geometrically
        body.append(d, n);
        return true;
      },
      cancel_);
  if (stopping()) return Next::Stop;
  if (too_big) {
    report("list page larger than 512 MiB");
    return Next::Backoff;
  }
  if (r.status == 410) {
    gone = true;
    return Next::Backoff;
  }
  if (spec_.optional && r.transport_ok && (r.status == 404 || r.status == 403)) {
    absent_status = r.status;
    return Next::Absent;
  }
  if (r.status != 200 || !r.transport_ok) return classify(r, "list");

  uint64_t malformed = 0;
  ListPageResult page = read_list_page(body, spec_.kind, [&](SlimResult& s) {
    if (s.object) {
      fresh.insert_or_assign(s.key, std::make_shared<const Slim>(std::move(*s.object)));
      bad_.erase(s.key);
    } else if (!s.error.empty()) {
      ++malformed;
      auto [it, added] = bad_.emplace(s.key, s.error);
      if (added || it->second != s.error) {
        it->second = s.error;
        base::logger("discovery")
            ->warn("{} {}: skipped {} {}: {}", api_.origin(), spec_.description, kind_name(spec_.kind),
                   s.key.empty() ? "(no name)" : s.key, s.error);
      }
    }
  });
  body.clear();
  body.shrink_to_fit();
  if (malformed > 0) {
    auto stats = stats_.lock();
    stats->malformed += malformed;
  }
  if (!page.problem.empty()) {
    report(page.problem);
    return Next::Backoff;
  }
  // Every page carries the first page's resourceVersion: the snapshot the continue token reads.
  if (rv.empty()) rv = page.resource_version;
  cont_out = page.continue_token;
  return Next::Watch;
}

}  // namespace clusterdns::discovery::k8s
