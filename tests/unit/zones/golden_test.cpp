// Golden query files (NSD's qtest, CoreDNS's test.Case): registry fixture + query → expected answer as
// zone-file text. One file per spec area under tests/golden/; the format is described in its README.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "discovery/files/manifest_parser.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

namespace fs = std::filesystem;
using namespace clusterdns;

namespace {

struct Case {
  int line = 0;
  std::string name, type;
  bool tcp = false;
  int edns = -1;
  std::string rcode = "NOERROR";
  std::vector<std::string> flags;
  std::vector<std::string> answer, authority, additional;
};

struct GoldenFile {
  std::string fixture;
  zones::BuildConfig config;
  std::vector<base::AddressBlock> allow_transfer;
  std::vector<Case> cases;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string normalise(const std::string& s) {
  std::istringstream in(s);
  std::string w, out;
  while (in >> w)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

GoldenFile load(const fs::path& path) {
  GoldenFile g;
  std::ifstream in(path);
  std::string raw;
  int line_no = 0;
  std::vector<std::string>* section = nullptr;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "fixture") {
      words >> g.fixture;
    } else if (key == "option") {
      std::string kv;
      words >> kv;
      const auto eq = kv.find('=');
      const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "pods") {
        g.config.cluster.pods = v == "disabled"   ? zones::PodMode::Disabled
                                : v == "verified" ? zones::PodMode::Verified
                                                  : zones::PodMode::Insecure;
      } else if (k == "ttl") {
        g.config.cluster.ttl = static_cast<uint32_t>(std::stoul(v));
      } else if (k == "domain") {
        g.config.cluster.domain = v;
      } else if (k == "zone-file") {
        std::string error;
        auto zf = zones::load_zone_file(std::string(CLUSTERDNS_SOURCE_DIR) + "/" + v, error);
        EXPECT_TRUE(zf) << error;
        if (zf) g.config.static_zones.push_back(*zf);
      } else if (k == "external-zone") {
        g.config.cluster.external.zones.push_back(v);
      } else if (k == "external-ttl") {
        g.config.cluster.external.ttl = static_cast<uint32_t>(std::stoul(v));
      } else if (k == "external-ptr") {
        g.config.cluster.external.ptr = v == "true";
      } else if (k == "external-headless") {
        g.config.cluster.external.headless = v == "true";
      } else if (k == "external-ns-address") {
        g.config.cluster.external.ns_addresses.push_back(v);
      } else if (k == "clusterset-zone") {
        g.config.cluster.clusterset_zone = v;
      } else if (k == "allow-transfer") {
        g.allow_transfer.push_back(*base::AddressBlock::parse(v));
        g.config.keep_transfer_data = true;
      } else {
        ADD_FAILURE() << path << ":" << line_no << ": unknown option " << k;
      }
    } else if (key == "query") {
      Case c;
      c.line = line_no;
      words >> c.name >> c.type;
      std::string extra;
      while (words >> extra) {
        if (extra == "tcp") c.tcp = true;
        if (extra.rfind("edns=", 0) == 0) c.edns = std::stoi(extra.substr(5));
      }
      g.cases.push_back(c);
      section = nullptr;
    } else if (key == "rcode") {
      words >> g.cases.back().rcode;
    } else if (key == "flags") {
      std::string f;
      while (words >> f)
        g.cases.back().flags.push_back(f);
    } else if (key == "answer") {
      section = &g.cases.back().answer;
    } else if (key == "authority") {
      section = &g.cases.back().authority;
    } else if (key == "additional") {
      section = &g.cases.back().additional;
    } else if (section) {
      section->push_back(normalise(line));
    } else {
      ADD_FAILURE() << path << ":" << line_no << ": cannot read '" << line << "'";
    }
  }
  return g;
}

// Field-wise comparison; '*' in the expectation matches any one field (SOA serials move).
bool rr_matches(const std::string& expected, const std::string& got) {
  std::istringstream e(expected), g(got);
  std::string a, b;
  while (true) {
    const bool ea = static_cast<bool>(e >> a), gb = static_cast<bool>(g >> b);
    if (!ea || !gb) return ea == gb;
    if (a != "*" && a != b) {
      // Names compare case-insensitively (0x20: our answers echo the query's case).
      if (a.size() != b.size() || !std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
            return std::tolower(x) == std::tolower(y);
          })) {
        return false;
      }
    }
  }
}

void expect_section(const char* name, std::vector<std::string> expected, std::vector<std::string> got) {
  std::vector<bool> used(got.size());
  for (const auto& e : expected) {
    bool found = false;
    for (size_t i = 0; i < got.size() && !found; ++i) {
      if (!used[i] && rr_matches(e, got[i])) used[i] = found = true;
    }
    EXPECT_TRUE(found) << name << ": missing " << e;
  }
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_TRUE(used[i]) << name << ": unexpected " << got[i];
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, Answers) {
  const fs::path path = fs::path(CLUSTERDNS_SOURCE_DIR) / "tests/golden" / GetParam();
  GoldenFile g = load(path);
  ASSERT_FALSE(g.cases.empty()) << path;
  std::unique_ptr<discovery::RegistryState> state;
  if (!g.fixture.empty() && g.fixture != "none") {
    auto parsed = discovery::parse_manifests(std::string(CLUSTERDNS_SOURCE_DIR) + "/" + g.fixture);
    for (const auto& e : parsed.errors)
      ADD_FAILURE() << "fixture: " << e.to_string();
    state = std::make_unique<discovery::RegistryState>(std::move(parsed.state));
  }
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(g.fixture == "none" ? nullptr : state.get(), g.config, 2026120101));
  zones::Responder responder(holder, zones::ResponderOptions{g.allow_transfer});
  for (const Case& c : g.cases) {
    SCOPED_TRACE(path.string() + ":" + std::to_string(c.line) + ": " + c.name + " " + c.type);
    testutil::QuerySpec spec;
    spec.name = c.name;
    spec.type = testutil::type_from_text(c.type);
    spec.edns_size = c.edns;
    auto query = testutil::make_query(spec);
    std::vector<uint8_t> out(65535);
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<std::vector<uint8_t>> streamed;
    std::function<void(std::span<const uint8_t>)> sink = [&](std::span<const uint8_t> m) {
      streamed.emplace_back(m.begin(), m.end());
    };
    dns::QueryContext ctx;
    ctx.transport = c.tcp ? dns::Transport::Tcp : dns::Transport::Udp;
    ctx.peer = reinterpret_cast<const sockaddr*>(&peer);
    ctx.peer_len = sizeof peer;
    ctx.stream = c.tcp ? &sink : nullptr;
    const size_t n = responder.answer(query, out, ctx);
    ASSERT_GT(n, 0u);
    const auto d = testutil::decode(out.data(), n);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.id, spec.id);
    EXPECT_EQ(d.rcode, c.rcode);
    EXPECT_TRUE(d.qr);
    for (const auto& f : c.flags) {
      const bool want = f[0] != '-';
      const std::string flag = want ? f : f.substr(1);
      const bool have = flag == "aa"   ? d.aa
                        : flag == "tc" ? d.tc
                        : flag == "rd" ? d.rd
                        : flag == "ra" ? d.ra
                                       : !want;
      EXPECT_EQ(have, want) << "flag " << flag;
    }
    auto answer = d.answer;
    for (const auto& m : streamed) {  // zone transfers: every message's answers, in order
      const auto dm = testutil::decode(m.data(), m.size());
      answer.insert(answer.begin() + static_cast<long>(answer.size() - d.answer.size()), dm.answer.begin(),
                    dm.answer.end());
    }
    expect_section("answer", c.answer, answer);
    expect_section("authority", c.authority, d.authority);
    expect_section("additional", c.additional, d.additional);
  }
}

std::vector<std::string> golden_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(CLUSTERDNS_SOURCE_DIR) / "tests/golden")) {
    if (e.path().extension() == ".golden") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(Spec, Golden, ::testing::ValuesIn(golden_files()), [](const auto& info) {
  std::string n = info.param.substr(0, info.param.find('.'));
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

}  // namespace
