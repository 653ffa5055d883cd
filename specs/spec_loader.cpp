#include "specs/spec_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "specs/field_reader.h"
#include "specs/kinds.h"
#include "specs/project.h"
#include "specs/rules.h"

namespace reconciler::specs {

namespace {

namespace fs = std::filesystem;

constexpr const char* kApiVersion = "reconciler/v1";

std::string DisplayPath(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool IsSpecFile(const fs::path& p) {
  std::string name = p.filename().string();
  std::string ext = p.extension().string();
  return !name.empty() && name[0] != '.' && (ext == ".yaml" || ext == ".yml") && name != kProjectFile;
}

// Why the entry at `path` (symlinks followed) cannot be read as a file, or "" when it can.
std::string NotAFile(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    struct stat link {};
    if (error == ENOENT && ::lstat(path.c_str(), &link) == 0) return "it is a symlink to nothing";
    if (error == ELOOP) return "it is a symlink loop";
    return std::string("it cannot be read: ") + std::strerror(error);
  }
  if (S_ISREG(st.st_mode)) return "";
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (S_ISFIFO(st.st_mode)) return "it is a FIFO";
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "it is a device";
  if (S_ISSOCK(st.st_mode)) return "it is a socket";
  return "it is not a regular file";
}

// Reads the regular file at `path`: at most `max_bytes`, and at most what is left of the
// stack's `*budget`. Anything else is reported and left unread. The file is opened
// non-blocking and checked again once open, so a FIFO swapped in never blocks the read.
std::optional<std::string> ReadLimited(const fs::path& path, const std::string& shown, size_t max_bytes,
                                       size_t* budget, size_t total_limit, Diagnostics* diags) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    diags->Error({shown, 0, 0}, fd < 0 ? std::string("cannot read the file: ") + std::strerror(errno)
                                       : "cannot read the file: " + NotAFile(path));
    if (fd >= 0) ::close(fd);
    return std::nullopt;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > max_bytes || size > *budget) {
    ::close(fd);
    diags->Error({shown, 0, 0}, size > max_bytes ? "the file is " + std::to_string(size) +
                                                       " bytes; the limit is " + std::to_string(max_bytes) + " bytes"
                                                 : "with this file the stack's files hold more than " +
                                                       std::to_string(total_limit) + " bytes, the limit for a stack");
    return std::nullopt;
  }
  std::string text(std::min(size, max_bytes) + 1, '\0');
  size_t got = 0;
  ssize_t n = 0;
  while (got < text.size() && (n = ::read(fd, text.data() + got, text.size() - got)) > 0) got += static_cast<size_t>(n);
  ::close(fd);
  if (n < 0 || got > size) {
    diags->Error({shown, 0, 0}, n < 0 ? std::string("cannot read the file: ") + std::strerror(errno)
                                      : "the file grew while it was read");
    return std::nullopt;
  }
  text.resize(got);
  *budget -= got;
  return text;
}

// Where a kind is read from the document, with defaults merged in.
// The spec is taken, not copied: its document is not read again.
Node MergeDefaults(Node&& spec, const Node& defaults, Kind kind) {
  Node merged = std::move(spec);
  const std::vector<std::string>& fields = FieldsOf(kind);
  for (const auto& [k, v] : defaults.members) {
    if (std::find(fields.begin(), fields.end(), k.scalar) == fields.end()) continue;
    Node* own = nullptr;
    for (auto& [mk, mv] : merged.members) {
      if (mk.scalar == k.scalar) own = &mv;
    }
    if (!own) {
      merged.members.push_back({k, v});
    } else if (k.scalar == "tags" && own->IsMap() && v.IsMap()) {
      // Tags merge key by key; the spec's own win.
      for (const auto& [tk, tv] : v.members) {
        if (!own->Find(tk.scalar)) own->members.push_back({tk, tv});
      }
    }
  }
  return merged;
}

// What one spec file yields. Files are loaded in parallel, each into its own result, and
// merged in file order so the output does not depend on scheduling.
struct FileResult {
  Diagnostics diags;
  std::vector<std::pair<Resource, Location>> resources;  // with where metadata.name was written
};

// The command line's --region and --endpoint, and TENCENTCLOUD_REGION, onto the project.
void ApplyOverrides(const ProjectOverrides& o, LoadedStack* out) {
  Project& project = out->desired.project;
  const bool flag = !o.region.empty();
  const std::string region = flag ? o.region : (project.region.empty() ? o.default_region : std::string());
  if (!region.empty() && !IsSupportedRegion(region)) {
    const std::string hint = DidYouMean(region, SupportedRegions());
    out->diags.Error({flag ? "--region" : "TENCENTCLOUD_REGION", 0, 0},
                     "region \"" + region + "\" is not a region TencentDB for PostgreSQL supports" +
                         (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  } else if (!region.empty()) {
    project.region = region;
  }
  if (!o.profile.empty()) project.profile = o.profile;
  if (!o.endpoint.empty()) {
    project.endpoint = o.endpoint;
    project.endpoint_at = {"--endpoint", 0, 0};
  }
}

class Loader {
 public:
  Loader(LoadedStack* out, const ParseLimits& limits) : out_(out), limits_(limits) {}

  void LoadProject(const StackSource& source) {
    const std::string shown = DisplayPath(source.dir, kProjectFile);
    if (!source.project) {
      if (!source.read_errors.has_errors()) {
        out_->diags.Error({shown, 0, 0}, "no project file: a stack directory needs a reconciler.yaml with at least \"stack\"");
      }
      return;
    }
    out_->sources[source.project->path] = source.project->contents;
    std::vector<Node> docs = ParseYaml(source.project->path, source.project->contents, &out_->diags, limits_);
    docs.erase(std::remove_if(docs.begin(), docs.end(), [](const Node& d) { return d.IsNull(); }), docs.end());
    if (docs.empty()) {
      if (!out_->diags.has_errors()) {
        out_->diags.Error({source.project->path, 0, 0}, "the project file is empty; it needs at least \"stack\"");
      }
      return;
    }
    if (docs.size() > 1) out_->diags.Error(docs[1].at, "the project file must hold one YAML document");
    out_->desired.project = ParseProject(docs[0], {source.project->path, 1, 1}, &out_->diags, &defaults_);
  }

  // Thread-safe: reads only the project and defaults, writes only `result`.
  void LoadFile(const StackFile& file, FileResult* result) const {
    std::vector<Node> docs = ParseYaml(file.path, file.contents, &result->diags, limits_);
    result->resources.reserve(docs.size());
    size_t documents = 0;
    for (Node& doc : docs) {
      if (doc.IsNull()) continue;
      ++documents;
      LoadDocument(doc, result);
    }
    if (documents == 0 && !result->diags.has_errors()) {
      result->diags.Error({file.path, 0, 0}, "the file holds no YAML documents");
    }
  }

  // Adds one file's outcome, in file order: duplicates are judged here.
  void Merge(const StackFile& file, FileResult&& result) {
    out_->sources[file.path] = file.contents;
    out_->diags.Merge(result.diags);
    for (auto& [resource, name_at] : result.resources) {
      auto [first, fresh] = seen_.emplace(resource.key, name_at);
      if (!fresh) {
        const Location& f = first->second;
        out_->diags.Error(name_at, "duplicate " + resource.key.ToString() + "; first defined at " + f.file + ":" +
                                       std::to_string(f.line) + ":" + std::to_string(f.column));
        continue;
      }
      out_->desired.resources.push_back(std::move(resource));
    }
  }

  void Finish() { CheckStack(&out_->desired, &out_->diags); }

 private:
  // Takes the document's spec for the resource, so `doc` is left without it.
  void LoadDocument(Node& doc, FileResult* result) const {
    Diagnostics& diags = result->diags;
    if (!doc.IsMap()) {
      diags.Error(doc.at, "a document must be a mapping with apiVersion, kind, metadata and spec, got " + doc.Describe());
      return;
    }
    if (doc.Find("items") || (doc.Find("kind") && doc.Find("kind")->scalar == "List")) {
      LoadList(doc, result);
      return;
    }
    FieldReader top(doc, "the document", {"apiVersion", "kind", "metadata", "spec"}, doc.at, &diags);
    top.Require("apiVersion");
    top.Require("kind");
    top.Require("metadata");
    top.Require("spec");
    std::string api_version, kind_name, name;
    if (top.String("apiVersion", &api_version) && api_version != kApiVersion) {
      top.Error("apiVersion", "apiVersion must be " + std::string(kApiVersion) + ", got \"" + api_version + "\"");
    }
    std::optional<Kind> kind;
    if (top.String("kind", &kind_name)) {
      kind = ParseKind(kind_name);
      if (!kind) {
        std::string hint = DidYouMean(kind_name, {"ReadOnlyInstance", "ReadOnlyGroup", "ServerlessInstance"});
        top.Error("kind", "unknown kind \"" + kind_name + "\"; the kinds are ReadOnlyInstance, ReadOnlyGroup and ServerlessInstance" +
                              (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
      }
    }
    Location name_at = doc.at;
    if (const Node* metadata = top.Get("metadata")) {
      if (!metadata->IsMap()) {
        diags.Error(metadata->at, "metadata must be a mapping with a name, got " + metadata->Describe());
      } else {
        FieldReader m(*metadata, "metadata", {"name"}, doc.FindKey("metadata")->at, &diags);
        m.Require("name");
        if (m.String("name", &name)) {
          if (std::string why = CheckLabel(name); !why.empty()) {
            m.Error("name", "metadata.name \"" + name + "\" " + why);
            name.clear();
          }
          name_at = m.At("name");
        }
        m.Finish();
      }
    }
    const Node* spec = top.Get("spec");
    top.Finish();
    if (spec && !spec->IsMap()) {
      diags.Error(spec->at, "spec must be a mapping, got " + spec->Describe());
      return;
    }
    if (!kind || !spec) return;

    Node merged = MergeDefaults(std::move(*doc.Find("spec")), defaults_, *kind);
    Resource resource;
    resource.key = {*kind, name};
    resource.at = doc.at;
    FieldReader r(merged, std::string(KindName(*kind)) + " spec", FieldsOf(*kind), doc.FindKey("spec")->at, &diags);
    resource.spec = ReadSpec(*kind, r, name, out_->desired.project, &resource.depends_on, &diags);
    r.Finish();
    resource.fields = r.Locations();
    if (name.empty()) return;
    result->resources.emplace_back(std::move(resource), name_at);
  }

  // kind: List holds several manifests in one document, so they can share YAML anchors.
  void LoadList(Node& doc, FileResult* result) const {
    Diagnostics& diags = result->diags;
    FieldReader list(doc, "the List", {"apiVersion", "kind", "items"}, doc.at, &diags);
    std::string api_version, kind;
    list.Require("apiVersion");
    list.Require("items");
    if (list.String("apiVersion", &api_version) && api_version != kApiVersion) {
      list.Error("apiVersion", "apiVersion must be " + std::string(kApiVersion) + ", got \"" + api_version + "\"");
    }
    if (list.String("kind", &kind) && kind != "List") list.Error("kind", "a document with items must be kind: List");
    const Node* items = list.Get("items");
    list.Finish();
    if (!items) return;
    if (!items->IsSequence()) {
      diags.Error(items->at, "items must be a list of manifests, got " + items->Describe());
      return;
    }
    for (Node& item : doc.Find("items")->items) {
      if (item.IsMap() && item.Find("items")) {
        diags.Error(item.at, "a List may not hold another List");
        continue;
      }
      LoadDocument(item, result);
    }
  }

  LoadedStack* out_;
  const ParseLimits& limits_;
  Node defaults_;
  std::map<ResourceKey, Location> seen_;
};

}  // namespace

StackSource ReadStack(const std::string& dir, const ParseLimits& limits) {
  StackSource source;
  source.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    source.read_errors.Error({dir, 0, 0}, "not a stack directory (it should hold reconciler.yaml and spec files)");
    return source;
  }
  size_t budget = limits.max_total_bytes;
  fs::path project = fs::path(dir) / kProjectFile;
  if (struct stat st {}; ::lstat(project.c_str(), &st) == 0) {
    std::string shown = DisplayPath(dir, kProjectFile);
    if (std::string why = NotAFile(project); !why.empty()) {
      source.read_errors.Error({shown, 0, 0}, why + ", not a project file");
    } else if (auto text = ReadLimited(project, shown, limits.max_bytes, &budget, limits.max_total_bytes,
                                       &source.read_errors)) {
      source.project = StackFile{shown, std::move(*text)};
    }
  }
  // Every entry named like a spec file must be one: skipping it would make its resources look
  // deleted, and the plan would orphan them.
  std::vector<fs::path> paths;
  size_t named = 0;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    if (!IsSpecFile(p)) continue;
    if (++named > limits.max_files) {
      source.read_errors.Error({dir, 0, 0}, "the stack holds more than " + std::to_string(limits.max_files) +
                                                " spec files, the limit");
      return source;
    }
    if (std::string why = NotAFile(p); !why.empty()) {
      source.read_errors.Error({DisplayPath(dir, p.filename().string()), 0, 0}, why + ", not a spec file");
      continue;
    }
    paths.push_back(p);
  }
  if (ec) {
    source.read_errors.Error({dir, 0, 0}, "cannot list the stack directory: " + ec.message());
    return source;
  }
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    std::string shown = DisplayPath(dir, p.filename().string());
    if (auto text = ReadLimited(p, shown, limits.max_bytes, &budget, limits.max_total_bytes, &source.read_errors)) {
      source.files.push_back({shown, std::move(*text)});
    }
  }
  return source;
}

LoadedStack LoadStack(const StackSource& source, const ParseLimits& limits, const ProjectOverrides& overrides) {
  LoadedStack out;
  out.diags.Merge(source.read_errors);
  Loader loader(&out, limits);
  loader.LoadProject(source);
  ApplyOverrides(overrides, &out);
  // Spec files are independent until duplicates and references are checked, so they are
  // parsed on one thread per core.
  std::vector<FileResult> results(source.files.size());
  size_t workers = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 8);
  workers = std::min(workers, source.files.size() / 4 + 1);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < source.files.size();) loader.LoadFile(source.files[i], &results[i]);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  size_t resources = 0;
  for (const FileResult& r : results) resources += r.resources.size();
  out.desired.resources.reserve(resources);
  for (size_t i = 0; i < source.files.size(); ++i) loader.Merge(source.files[i], std::move(results[i]));
  loader.Finish();
  return out;
}

LoadedStack LoadStackDir(const std::string& dir, const ParseLimits& limits, const ProjectOverrides& overrides) {
  return LoadStack(ReadStack(dir, limits), limits, overrides);
}

}  // namespace reconciler::specs
