// A scratch directory for discovery tests, removed with everything in it when the test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace clusterdns::discovery::test_support {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "clusterdns-discovery-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& rel = "") const {
    return rel.empty() ? path_.string() : (path_ / rel).string();
  }

  // Rewrites rel in place (truncate + write), creating parent directories.
  void write(const std::string& rel, const std::string& text) const {
    std::filesystem::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::trunc) << text;
  }
  // Writes a sibling temporary file and renames it over rel, as vim, IDEs and `kubectl edit`-style tools do.
  void replace(const std::string& rel, const std::string& text) const {
    std::filesystem::path tmp = (path_ / rel).parent_path() / ".replace.tmp";
    std::ofstream(tmp, std::ios::trunc) << text;
    std::filesystem::rename(tmp, path_ / rel);
  }

 private:
  std::filesystem::path path_;
};

}  // namespace clusterdns::discovery::test_support
