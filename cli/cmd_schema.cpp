// reconciler schema [NAME] [--out DIR]: the JSON Schemas compiled into the binary.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "cli/commands.h"
#include "cli/schemas.h"
#include "specs/rules.h"

namespace reconciler {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> SchemaNames() {
  std::vector<std::string> names;
  for (const SchemaFile& s : EmbeddedSchemas()) names.emplace_back(s.name);
  return names;
}

// The schema `name` names: its short name ("project") or its file name ("project.schema.json").
const SchemaFile* FindSchema(const std::string& name) {
  for (const SchemaFile& s : EmbeddedSchemas()) {
    if (name == s.name || name == s.file) return &s;
  }
  return nullptr;
}

int UnknownSchema(const std::string& name, Io io) {
  std::string known;
  for (const std::string& n : SchemaNames()) known += (known.empty() ? "" : ", ") + n;
  const std::string hint = specs::DidYouMean(name, SchemaNames());
  io.err << "reconciler schema: unknown schema \"" << name << "\""
         << (hint.empty() ? "" : "; did you mean \"" + hint + "\"?") << " (schemas: " << known << ")\n";
  return kExitInvalidInput;
}

// Makes `dir` (and its parents) unless it is a directory already. A path that exists and is
// not a directory is the caller's mistake (3); anything else the system refused (1).
int MakeDirectory(const fs::path& dir, Io io) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    io.err << "reconciler schema: --out " << dir.string() << " exists and is not a directory\n";
    return kExitInvalidInput;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    io.err << "reconciler schema: cannot create directory " << dir.string() << ": " << ec.message() << "\n";
    return kExitError;
  }
  return kExitOk;
}

// Writes `text` to `path` (mode 0644: a schema is no secret); on failure says why.
bool WriteFile(const fs::path& path, std::string_view text, Io io) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t done = 0;
  while (fd >= 0 && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  int error = fd < 0 || done < text.size() ? errno : 0;
  if (fd >= 0 && ::close(fd) != 0 && error == 0) error = errno;
  if (error == 0) return true;
  io.err << "reconciler schema: cannot write " << path.string() << ": " << std::strerror(error) << "\n";
  return false;
}

}  // namespace

int RunSchemaCommand(const SchemaCommandOptions& options, Io io) {
  std::vector<const SchemaFile*> chosen;
  if (options.name.empty()) {
    for (const SchemaFile& s : EmbeddedSchemas()) chosen.push_back(&s);
  } else if (const SchemaFile* s = FindSchema(options.name)) {
    chosen.push_back(s);
  } else {
    return UnknownSchema(options.name, io);
  }
  if (options.out.empty()) {
    // One document on stdout, as `terraform providers schema` prints: the named schema, else
    // resource.schema.json, the one spec files use (the kinds' schemas are its $refs).
    const SchemaFile* s = options.name.empty() ? FindSchema("resource") : chosen.front();
    io.out << s->text;
    return kExitOk;
  }
  if (int made = MakeDirectory(options.out, io); made != kExitOk) return made;
  for (const SchemaFile* s : chosen) {
    const fs::path path = fs::path(options.out) / std::string(s->file);
    if (!WriteFile(path, s->text, io)) return kExitError;
    io.out << "wrote " << path.string() << "\n";
  }
  return kExitOk;
}

}  // namespace reconciler
