#pragma once

// A directory under the system temp dir, removed with everything in it on destruction.

#include <filesystem>
#include <string>

namespace reconciler::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // Writes `text` to `relative`, creating directories as needed; returns the full path.
  std::string Write(const std::string& relative, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::string& path);

}  // namespace reconciler::testing
