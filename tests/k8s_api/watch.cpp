// Watch streams: chunked {"type":…,"object":…}\n lines from a resourceVersion, bookmarks, 410s and cuts.
#include <chrono>
#include <thread>

#include <httplib.h>

#include "tests/k8s_api/api_server.hpp"

namespace clusterdns::k8s_api {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kSlice = std::chrono::milliseconds(100);  // longest wait inside one provider call

std::string event_line(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

struct WatchState {
  const ResourceType* type = nullptr;
  std::string ns;
  LabelSelector labels;
  FieldSelector fields;
  int64_t next_rv = 0;  // events after this one are due
  bool bookmarks = false;
  Clock::time_point deadline;
  Clock::time_point next_bookmark;
  uint64_t cut_generation = 0;
  uint64_t bookmark_generation = 0;
  std::vector<std::string> initial;  // synthetic ADDED events for a watch without a resourceVersion
  bool midline = false;              // cut inside the next line written
  bool garble = false;               // the next line written is not JSON (then the stream goes on)
  Clock::time_point midline_deadline;
  bool done = false;
};

bool selected(const WatchState& st, const json& object) {
  if (!st.ns.empty() && object["metadata"].value("namespace", "") != st.ns) return false;
  return st.labels.matches(object) && st.fields.matches(object);
}

json bookmark_object(const ResourceType& type, int64_t rv) {
  return {{"kind", type.kind},
          {"apiVersion", type.api_version},
          {"metadata", {{"resourceVersion", std::to_string(rv)}}}};
}

}  // namespace

void TestApiServer::serve_watch(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                                const std::string& ns) {
  auto st = std::make_shared<WatchState>();
  st->type = &type;
  st->ns = ns;
  std::string error;
  std::optional<LabelSelector> labels = LabelSelector::parse(req.get_param_value("labelSelector"));
  std::optional<FieldSelector> fields = FieldSelector::parse(req.get_param_value("fieldSelector"), error);
  if (!labels || !fields) {
    send_json(res, 400, status_object(400, "BadRequest", labels ? error : "unable to parse requirement"));
    return;
  }
  st->labels = *labels;
  st->fields = *fields;
  st->bookmarks = req.get_param_value("allowWatchBookmarks") == "true" ||
                  req.get_param_value("allowWatchBookmarks") == "1";
  long timeout =
      req.has_param("timeoutSeconds") ? std::atol(req.get_param_value("timeoutSeconds").c_str()) : 1800;
  st->deadline = Clock::now() + std::chrono::seconds(timeout > 0 ? timeout : 1800);
  std::string rv_text = req.get_param_value("resourceVersion");
  bool too_old = false;
  std::string gone_mode;
  {
    auto lock = store_.lock();
    // A held server accepts the connection but answers only when released (bounded: 30 s).
    store_.cv().wait_for(lock, std::chrono::seconds(30),
                         [this] { return !control_.hold || stopping_.load(); });
    ++control_.watches[type.plural];
    st->cut_generation = control_.cut_generation;
    st->bookmark_generation = control_.bookmark_generation;
    st->next_bookmark = Clock::now() + std::chrono::milliseconds(control_.bookmark_interval_ms);
    gone_mode = control_.gone_mode;
    if (rv_text.empty() || rv_text == "0") {
      // "Get state and start at most recent": every current object as a synthetic ADDED first.
      for (const auto& obj : store_.current(type.plural)) {
        if (selected(*st, *obj)) st->initial.push_back(event_line("ADDED", *obj));
      }
      st->next_rv = store_.rv_locked();
    } else {
      st->next_rv = std::atoll(rv_text.c_str());
      too_old = st->next_rv < store_.compacted_locked();
    }
    if (!too_old || gone_mode != "http") ++control_.active_watches;
  }
  std::string too_old_message =
      "too old resource version: " + rv_text + " (" + std::to_string(store_.compacted()) + ")";
  if (too_old && gone_mode == "http") {
    send_json(res, 410, status_object(410, "Expired", too_old_message));
    return;
  }
  if (too_old) {
    st->initial = {event_line("ERROR", status_object(410, "Expired", too_old_message))};
    st->done = true;
  }
  res.status = 200;
  res.set_chunked_content_provider(
      "application/json",
      [this, st](std::size_t, httplib::DataSink& sink) {
        std::vector<std::string> lines;
        bool finish = false;
        bool abort = false;
        int split = 0;
        int delay = 0;
        if (!st->initial.empty()) {
          lines.swap(st->initial);
          finish = st->done;
        } else {
          auto lock = store_.lock();
          // Wait only when nothing is pending: an event stored while the last chunk was being written has
          // already notified, and waiting for the slice then would delay it by 100 ms.
          store_.cv().wait_for(lock, kSlice, [&] {
            std::vector<Event> pending;
            store_.events_after(st->next_rv, st->type->plural, pending);
            return !pending.empty() || stopping_.load() || control_.cut_generation != st->cut_generation ||
                   control_.bookmark_generation != st->bookmark_generation || !control_.served(*st->type);
          });
          if (stopping_.load()) return false;
          if (control_.cut_generation != st->cut_generation) {
            st->cut_generation = control_.cut_generation;
            const std::string& mode = control_.cut_mode;
            if (mode == "clean") finish = true;
            if (mode == "abort") abort = true;
            if (mode == "error410" || mode == "error500") {
              int code = mode == "error410" ? 410 : 500;
              lines.push_back(event_line(
                  "ERROR", status_object(code, code == 410 ? "Expired" : "InternalError",
                                         code == 410 ? "too old resource version" : "internal error")));
              finish = true;
            }
            if (mode == "garble") st->garble = true;
            if (mode == "midline") {
              st->midline = true;
              st->midline_deadline = Clock::now() + std::chrono::seconds(2);
            }
          }
          if (!finish && !abort && !control_.hold) {
            std::vector<Event> events;
            store_.events_after(st->next_rv, st->type->plural, events);
            for (const Event& e : events) {
              if (selected(*st, *e.object)) lines.push_back(event_line(e.type, *e.object));
              st->next_rv = e.rv;
            }
            auto now = Clock::now();
            bool forced = control_.bookmark_generation != st->bookmark_generation;
            st->bookmark_generation = control_.bookmark_generation;
            bool periodic = control_.bookmark_interval_ms > 0 && now >= st->next_bookmark;
            bool closing = now >= st->deadline;
            if (st->bookmarks && (forced || periodic || (closing && lines.empty()))) {
              // Every event up to now has been scanned, so the whole store's resourceVersion is safe to
              // resume from.
              st->next_rv = store_.rv_locked();
              lines.push_back(event_line("BOOKMARK", bookmark_object(*st->type, st->next_rv)));
              st->next_bookmark = now + std::chrono::milliseconds(std::max(control_.bookmark_interval_ms, 1));
            }
            if (st->midline && lines.empty() && now >= st->midline_deadline) {
              lines.push_back(event_line("BOOKMARK", bookmark_object(*st->type, st->next_rv)));
            }
            // A custom resource whose definition was deleted: its DELETED events sent, the watch ends.
            finish = closing || !control_.served(*st->type);
          }
          split = control_.split_bytes;
          delay = control_.piece_delay_ms;
        }
        if (abort) return false;
        for (std::size_t i = 0; i < lines.size(); ++i) {
          if (st->garble) {
            lines[i] = "%" + lines[i];  // one undecodable line; the events after it follow as usual
            st->garble = false;
          }
          const std::string& line = lines[i];
          if (st->midline) {
            // A cut inside an event: half of the line, then the connection drops without the last chunk.
            sink.write(line.data(), line.size() / 2);
            return false;
          }
          std::size_t piece = split > 0 ? static_cast<std::size_t>(split) : line.size();
          for (std::size_t off = 0; off < line.size(); off += piece) {
            if (!sink.write(line.data() + off, std::min(piece, line.size() - off))) return false;
            if (delay > 0 && off + piece < line.size())
              std::this_thread::sleep_for(std::chrono::milliseconds(delay));
          }
        }
        if (finish) sink.done();
        return true;
      },
      [this](bool) {
        auto lock = store_.lock();
        --control_.active_watches;
      });
}

}  // namespace clusterdns::k8s_api
