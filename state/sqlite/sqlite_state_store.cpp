#include "state/sqlite/sqlite_state_store.h"

#include <functional>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>


namespace reconciler {

using nlohmann::json;

namespace {

// Migrations, in order. Each runs once, in one transaction with the version bump.
const char* const kMigrations[] = {
    // 1: the first schema.
    R"sql(
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE resources (
      key TEXT PRIMARY KEY,
      region TEXT NOT NULL,
      deletion_policy TEXT NOT NULL,
      spec TEXT NOT NULL,
      group_id TEXT NOT NULL DEFAULT '',
      updated_at TEXT NOT NULL);
    CREATE TABLE instances (
      id TEXT PRIMARY KEY,
      resource_key TEXT NOT NULL,
      region TEXT NOT NULL,
      operation_id TEXT NOT NULL DEFAULT '',
      recorded_at TEXT NOT NULL);
    CREATE INDEX instances_by_resource ON instances(resource_key);
    CREATE TABLE operations (
      id TEXT PRIMARY KEY,
      resource_key TEXT NOT NULL,
      kind TEXT NOT NULL,
      region TEXT NOT NULL,
      request TEXT NOT NULL,
      expected INTEGER NOT NULL,
      phase TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      deal_names TEXT NOT NULL DEFAULT '[]',
      bill_id TEXT NOT NULL DEFAULT '',
      instance_ids TEXT NOT NULL DEFAULT '[]',
      error TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL);
    CREATE TABLE events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      operation_id TEXT NOT NULL,
      resource_key TEXT NOT NULL,
      phase TEXT NOT NULL,
      detail TEXT NOT NULL);
    INSERT INTO meta VALUES ('generation', '0');
    )sql",
    // 2: operations are looked up by phase on every plan.
    R"sql(
    CREATE INDEX operations_by_phase ON operations(phase);
    )sql",
    // 3: sends that provably bought nothing, so an intent with more attempts than that is
    // known to need a search before any retry.
    R"sql(
    ALTER TABLE operations ADD COLUMN settled INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 4: a purchase whose create carried only its operation tag (the international site):
    // the stack, resource and user tags still have to go on through the tag service.
    R"sql(
    ALTER TABLE operations ADD COLUMN tags_pending INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 5: when the last create call went out, so the search after an unknown outcome covers
    // the cloud's visibility window from the send, across restarts.
    R"sql(
    ALTER TABLE operations ADD COLUMN sent_at INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 6: bounded waits and terminal failures. The wait for an order or for instances to run
    // keeps its start and deadline, so a restart does not restart it; a failure keeps the
    // cloud's error code (or the deadline's), which plan and state list show.
    R"sql(
    ALTER TABLE operations ADD COLUMN waiting_since INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE operations ADD COLUMN deadline_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE operations ADD COLUMN error_code TEXT NOT NULL DEFAULT '';
    )sql",
    // 7: the purchases one change sends at once share a batch, so that a refusal among them
    // holds the resource although a sibling was begun after it (TerminalFailures).
    R"sql(
    ALTER TABLE operations ADD COLUMN batch TEXT NOT NULL DEFAULT '';
    )sql",
};

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsInt(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_INTEGER; }
  std::string Name(int col) const {
    const char* name = sqlite3_column_name(stmt_, col);
    return name ? name : "column " + std::to_string(col + 1);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

std::string FileOf(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  return file ? file : "";
}

// Names the file, so a message about a damaged store says which one.
Status DbError(sqlite3* db, const std::string& what) {
  return Status(Code::kInternal, "state store " + FileOf(db) + ": " + what + ": " + sqlite3_errmsg(db));
}

// A damaged row is an error, never a default: an empty list of deal names or instance ids
// would make a purchase look like it bought nothing.
Result<std::vector<std::string>> JsonList(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return Status(Code::kInternal, "not a JSON list: " + text.substr(0, 80));
  std::vector<std::string> out;
  for (const json& e : j) {
    if (!e.is_string()) return Status(Code::kInternal, "an item is " + std::string(e.type_name()) + ", not a string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<Operation> OperationFrom(const Stmt& s) {
  for (int col : {5, 7, 14, 15, 16, 17, 18}) {
    if (!s.IsInt(col)) return Status(Code::kInternal, s.Name(col) + " is not an integer");
  }
  Result<std::vector<std::string>> deal_names = JsonList(s.Text(8));
  if (!deal_names.ok()) return deal_names.status().Annotate("deal_names");
  Result<std::vector<std::string>> instance_ids = JsonList(s.Text(10));
  if (!instance_ids.ok()) return instance_ids.status().Annotate("instance_ids");
  Result<OperationKind> kind = ParseOperationKind(s.Text(2));
  if (!kind.ok()) return Status(Code::kInternal, "operation " + s.Text(0) + ": " + kind.status().message());
  Operation op;
  op.id = s.Text(0);
  op.resource_key = s.Text(1);
  op.kind = *kind;
  op.region = s.Text(3);
  op.request_json = s.Text(4);
  op.expected = s.Int(5);
  Result<Phase> phase = ParsePhase(s.Text(6));
  op.phase = phase.ok() ? *phase : Phase::kUnknown;  // an unreadable phase is treated as the careful one
  op.attempts = s.Int(7);
  op.deal_names = std::move(deal_names).value();
  op.bill_id = s.Text(9);
  op.instance_ids = std::move(instance_ids).value();
  op.error = s.Text(11);
  op.created_at = s.Text(12);
  op.updated_at = s.Text(13);
  op.settled = s.Int(14);
  op.tags_pending = s.Int(15) != 0;
  op.sent_at = s.Int(16);
  op.waiting_since = s.Int(17);
  op.deadline_at = s.Int(18);
  op.error_code = s.Text(19);
  op.batch = s.Text(20);
  return op;
}

constexpr const char* kOperationColumns =
    "id, resource_key, kind, region, request, expected, phase, attempts, deal_names, bill_id, instance_ids, "
    "error, created_at, updated_at, settled, tags_pending, sent_at, waiting_since, deadline_at, error_code, batch";

Result<std::vector<Operation>> ReadOperations(sqlite3* db, Stmt* s) {
  std::vector<Operation> out;
  int rc;
  while ((rc = s->Step()) == SQLITE_ROW) {
    Result<Operation> op = OperationFrom(*s);
    if (!op.ok()) return op.status().Annotate("state store " + FileOf(db) + ": operation " + s->Text(0) + " is damaged");
    out.push_back(std::move(op).value());
  }
  if (rc != SQLITE_DONE) return DbError(db, "reading operations");
  return out;
}

}  // namespace


namespace {

// Every SQLite file starts with these 16 bytes (https://www.sqlite.org/fileformat.html).
constexpr char kSqliteHeader[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Status Refuse(const std::string& path, const std::string& why) {
  return Status(Code::kInvalidInput, "state store " + path + ": " + why + "; refusing to use it (nothing was changed)");
}

// An empty file is what Open leaves when it dies before SQLite writes the first page: owned
// by us, one link, no access for anyone else. Any other empty file is somebody else's.
bool LooksLeftByOpen(const struct stat& st) {
  return st.st_uid == ::geteuid() && st.st_nlink == 1 && (st.st_mode & 077) == 0;
}

// Creates the file with mode 0600 before SQLite does, so it never exists readable by others.
// O_EXCL also refuses to follow a symlink, dangling or not.
Status CreateStateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kInternal, "state store " + path + ": cannot create: " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ::close(fd);
  return Status::Ok();
}

// Whether `path` may hold our state: absent (it is created), a SQLite database, or an empty
// file Open left behind. Anything else (a device, a FIFO, a directory, a text file) is
// refused before anything opens it for writing, and is not modified.
Status CheckStateFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    if (error == ELOOP) return Refuse(path, "it is a symlink loop");
    if (error != ENOENT) return Status(Code::kInternal, "state store " + path + ": " + std::strerror(error));
    if (::lstat(path.c_str(), &st) == 0) return Refuse(path, "it is a symlink to nothing");
    return CreateStateFile(path);
  }
  if (!S_ISREG(st.st_mode)) return Refuse(path, std::string("it is ") + FileKind(st.st_mode) + ", not a database file");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return Status(Code::kInternal, "state store " + path + ": cannot open: " + std::strerror(errno));
  char header[sizeof kSqliteHeader] = {};
  const bool same = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const ssize_t n = same && st.st_size > 0 ? ::pread(fd, header, sizeof header, 0) : 0;
  ::close(fd);
  if (!same) return Refuse(path, "it changed while it was checked");
  if (st.st_size == 0) {
    if (LooksLeftByOpen(st)) return Status::Ok();
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Refuse(path, std::string("it is an empty file that reconciler did not create (mode ") + mode +
                            "); remove it to start a new state");
  }
  if (n != static_cast<ssize_t>(sizeof header) || std::memcmp(header, kSqliteHeader, sizeof header) != 0) {
    return Refuse(path, "it is not a SQLite database");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::string& path, Clock* clock) {
  return SqliteStateStore::Open(path, clock);
}

Result<std::unique_ptr<StateStore>> SqliteStateStore::Open(const std::string& path, Clock* clock) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  Status file = CheckStateFile(path);
  if (!file.ok()) return file;

  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    Status s(Code::kInternal, "state store " + path + ": cannot open: " + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteStateStore> store(new SqliteStateStore(db, path, clock));
  sqlite3_busy_timeout(db, 5000);
  // Judged before the pragmas, which may write.
  Status ours = store->CheckOurs();
  if (!ours.ok()) return ours;
  // Only now that it is known to be ours; a file already private is left alone.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || ((st.st_mode & 07777) != 0600 && ::chmod(path.c_str(), 0600) != 0)) {
    return Status(Code::kInternal, "state store " + path + ": cannot make it private (chmod 0600): " + std::strerror(errno));
  }
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    Status s = store->Exec(pragma);
    if (!s.ok()) return s;
  }
  Status migrated = store->Migrate();
  if (!migrated.ok()) return migrated;
  return std::unique_ptr<StateStore>(std::move(store));
}

Status SqliteStateStore::CheckOurs() {
  Stmt tables(db_, "SELECT name FROM sqlite_master WHERE type = 'table'");
  bool any = false, meta = false;
  int rc;
  while ((rc = tables.Step()) == SQLITE_ROW) {
    any = true;
    meta |= tables.Text(0) == "meta";
  }
  if (rc != SQLITE_DONE) return DbError(db_, "reading its list of tables");
  if (!any) return Status::Ok();  // a new database: Migrate creates the schema
  Result<int> version = ReadUserVersion();
  if (!version.ok()) return version.status();
  if (*version < 1 || !meta) return Refuse(path_, "it is a SQLite database, but not a reconciler state store");
  Stmt generation(db_, "SELECT count(*) FROM meta WHERE key = 'generation'");
  rc = generation.Step();
  if (rc != SQLITE_ROW) return DbError(db_, "reading meta");
  if (generation.Int(0) != 1) return Refuse(path_, "it is a SQLite database, but not a reconciler state store");
  return Status::Ok();
}

SqliteStateStore::~SqliteStateStore() { sqlite3_close(db_); }

Status SqliteStateStore::Exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Status(Code::kInternal, "state store " + FileOf(db_) + ": " + message);
  }
  return Status::Ok();
}

// Group commit, as leveldb batches its log writes: writers queue; the one at the front
// commits everything queued in one transaction, each write in its own savepoint (a write
// that fails is rolled back alone), and wakes the rest. One fsync then makes a whole batch
// durable: concurrent purchases each wait for one commit, not for one another's. A write
// returns only once its transaction is committed.
Status SqliteStateStore::Write(const std::function<Status()>& write) {
  Writer me{&write};
  std::unique_lock<std::mutex> queue(queue_mu_);
  writers_.push_back(&me);
  queue_cv_.wait(queue, [&] { return me.done || writers_.front() == &me; });
  if (me.done) return me.status;
  const std::vector<Writer*> batch(writers_.begin(), writers_.end());
  queue.unlock();
  {
    std::lock_guard<std::mutex> lock(mu_);
    Status begin = Exec("BEGIN IMMEDIATE");
    if (!begin.ok()) {
      for (Writer* w : batch) w->status = begin;
    } else {
      for (Writer* w : batch) {
        Exec("SAVEPOINT write");
        w->status = (*w->write)();
        if (!w->status.ok()) Exec("ROLLBACK TO write");
        Exec("RELEASE write");
      }
      Status commit = Exec("COMMIT");
      if (!commit.ok()) {
        Exec("ROLLBACK");
        for (Writer* w : batch) {
          if (w->status.ok()) w->status = commit;
        }
      }
    }
  }
  queue.lock();
  for (size_t i = 0; i < batch.size(); ++i) {
    writers_.front()->done = true;
    writers_.pop_front();
  }
  queue_cv_.notify_all();
  return me.status;
}

int SqliteStateStore::SchemaVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<int> version = ReadUserVersion();
  return version.ok() ? *version : -1;
}

Result<int> SqliteStateStore::ReadUserVersion() {
  Stmt s(db_, "PRAGMA user_version");
  if (s.Step() != SQLITE_ROW) return DbError(db_, "reading the schema version");
  return static_cast<int>(s.Int(0));
}

Status SqliteStateStore::Migrate() {
  const int latest = static_cast<int>(std::size(kMigrations));
  Result<int> read = ReadUserVersion();
  if (!read.ok()) return read.status();
  int version = *read;
  if (version > latest) {
    return Status(Code::kInvalidInput, "state store " + path_ + " has schema version " + std::to_string(version) +
                                           ", newer than this reconciler understands (" + std::to_string(latest) + ")");
  }
  for (; version < latest; ++version) {
    std::string sql = "BEGIN IMMEDIATE;" + std::string(kMigrations[version]) +
                      "PRAGMA user_version=" + std::to_string(version + 1) + ";COMMIT;";
    Status s = Exec(sql);
    if (!s.ok()) {
      Exec("ROLLBACK");
      return s.Annotate("migrating to schema version " + std::to_string(version + 1));
    }
  }
  return Status::Ok();
}

std::string SqliteStateStore::NowText() const { return UtcText(clock_->Now()); }

Status SqliteStateStore::Bump() { return Exec("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"); }

namespace {

// A number written by this program: digits only, no sign, no space, in range.
std::optional<int64_t> ParseCount(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

Result<int64_t> SqliteStateStore::Generation() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT value FROM meta WHERE key = 'generation'");
  int rc = s.Step();
  if (rc == SQLITE_DONE) return Status(Code::kInternal, "state store " + FileOf(db_) + ": meta has no generation");
  if (rc != SQLITE_ROW) return DbError(db_, "reading the generation");
  std::optional<int64_t> generation = ParseCount(s.Text(0));
  if (!generation) {
    return Status(Code::kInternal, "state store " + FileOf(db_) + ": the generation in meta is '" + s.Text(0).substr(0, 40) +
                                       "', not a count; the file is damaged");
  }
  return *generation;
}

Result<int64_t> SqliteStateStore::RebuiltAt() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT value FROM meta WHERE key = 'rebuilt_at'");
  int rc = s.Step();
  if (rc == SQLITE_DONE) return int64_t{0};
  if (rc != SQLITE_ROW) return DbError(db_, "reading when it was rebuilt");
  std::optional<int64_t> at = ParseCount(s.Text(0));
  if (!at) {
    return Status(Code::kInternal, "state store " + FileOf(db_) + ": rebuilt_at in meta is '" + s.Text(0).substr(0, 40) +
                                       "', not unix seconds; the file is damaged");
  }
  return *at;
}

namespace {

Status CheckDaemonKey(const std::string& key) {
  if (key.rfind("daemon.", 0) == 0 && key.size() > 7) return Status::Ok();
  return Status(Code::kInvalidInput, "state store: '" + key + "' is not a daemon key (daemon.*)");
}

}  // namespace

Result<std::string> SqliteStateStore::DaemonValue(const std::string& key) {
  if (Status k = CheckDaemonKey(key); !k.ok()) return k;
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT value FROM meta WHERE key = ?");
  s.Bind(1, key);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return DbError(db_, "reading " + key);
  return s.Text(0);
}

Status SqliteStateStore::PutDaemonValue(const std::string& key, const std::string& value) {
  if (Status k = CheckDaemonKey(key); !k.ok()) return k;
  std::lock_guard<std::mutex> lock(mu_);
  Stmt st(db_, value.empty() ? "DELETE FROM meta WHERE key = ?" : "INSERT OR REPLACE INTO meta VALUES (?, ?)");
  st.Bind(1, key);
  if (!value.empty()) st.Bind(2, value);
  if (st.Step() != SQLITE_DONE) return DbError(db_, "writing " + key);
  return Status::Ok();
}

Result<std::vector<ResourceRecord>> SqliteStateStore::Resources() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT key, region, deletion_policy, spec, group_id, updated_at FROM resources ORDER BY key");
  if (!s.ok()) return DbError(db_, "reading resources");
  std::vector<ResourceRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5)});
  if (rc != SQLITE_DONE) return DbError(db_, "reading resources");
  return out;
}

Status SqliteStateStore::PutResource(const ResourceRecord& r) {
  return Write([&] {
    Stmt st(db_,
            "INSERT INTO resources (key, region, deletion_policy, spec, group_id, updated_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(key) DO UPDATE SET region=excluded.region, deletion_policy=excluded.deletion_policy, "
            "spec=excluded.spec, group_id=excluded.group_id, updated_at=excluded.updated_at");
    st.Bind(1, r.key).Bind(2, r.region).Bind(3, r.deletion_policy).Bind(4, r.spec_json).Bind(5, r.group_id).Bind(6, NowText());
    if (st.Step() != SQLITE_DONE || !Bump().ok()) return DbError(db_, "writing resource " + r.key);
    return Status::Ok();
  });
}

Status SqliteStateStore::DeleteResource(const std::string& key) {
  return Write([&] {
    Stmt a(db_, "DELETE FROM resources WHERE key = ?");
    Stmt b(db_, "DELETE FROM instances WHERE resource_key = ?");
    a.Bind(1, key);
    b.Bind(1, key);
    if (a.Step() != SQLITE_DONE || b.Step() != SQLITE_DONE || !Bump().ok()) return DbError(db_, "forgetting " + key);
    return Status::Ok();
  });
}

Result<std::vector<InstanceRecord>> SqliteStateStore::Instances() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT id, resource_key, region, operation_id, recorded_at FROM instances ORDER BY resource_key, id");
  if (!s.ok()) return DbError(db_, "reading instances");
  std::vector<InstanceRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4)});
  if (rc != SQLITE_DONE) return DbError(db_, "reading instances");
  return out;
}

Status SqliteStateStore::PutInstance(const InstanceRecord& r) { return PutInstances({r}); }

Status SqliteStateStore::PutInstances(const std::vector<InstanceRecord>& records) {
  return Write([&] {
    for (const InstanceRecord& r : records) {
      Stmt st(db_,
              "INSERT INTO instances (id, resource_key, region, operation_id, recorded_at) VALUES (?,?,?,?,?) "
              "ON CONFLICT(id) DO UPDATE SET resource_key=excluded.resource_key, region=excluded.region, "
              "operation_id=CASE WHEN excluded.operation_id = '' THEN instances.operation_id ELSE excluded.operation_id END");
      st.Bind(1, r.id).Bind(2, r.resource_key).Bind(3, r.region).Bind(4, r.operation_id).Bind(5, NowText());
      if (st.Step() != SQLITE_DONE) return DbError(db_, "writing instance " + r.id);
    }
    if (!Bump().ok()) return DbError(db_, "writing instances");
    return Status::Ok();
  });
}

Status SqliteStateStore::DeleteInstance(const std::string& id) {
  return Write([&] {
    Stmt st(db_, "DELETE FROM instances WHERE id = ?");
    st.Bind(1, id);
    if (st.Step() != SQLITE_DONE || !Bump().ok()) return DbError(db_, "forgetting instance " + id);
    return Status::Ok();
  });
}

Result<std::vector<Operation>> SqliteStateStore::Operations() {
  std::lock_guard<std::mutex> lock(mu_);
  // rowid is the insertion order, which breaks ties within a second in creation order.
  Stmt s(db_, (std::string("SELECT ") + kOperationColumns + " FROM operations ORDER BY created_at, rowid").c_str());
  if (!s.ok()) return DbError(db_, "reading operations");
  return ReadOperations(db_, &s);
}

Result<std::vector<Operation>> SqliteStateStore::InFlight() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kOperationColumns +
               " FROM operations WHERE phase NOT IN ('done', 'failed') ORDER BY created_at, id")
                  .c_str());
  if (!s.ok()) return DbError(db_, "reading operations");
  return ReadOperations(db_, &s);
}

Result<Operation> SqliteStateStore::GetOperation(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kOperationColumns + " FROM operations WHERE id = ?").c_str());
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return Status(Code::kNotFound, "no operation " + id);
  if (rc != SQLITE_ROW) return DbError(db_, "reading operation " + id);
  Result<Operation> op = OperationFrom(s);
  if (!op.ok()) return op.status().Annotate("state store " + FileOf(db_) + ": operation " + id + " is damaged");
  return op;
}

Status SqliteStateStore::PutOperation(const Operation& op, const std::string& detail) {
  return Write([&] { return WriteOperation(op, detail); });
}

Status SqliteStateStore::WriteOperation(const Operation& op, const std::string& detail) {
  const std::string now = NowText();
  Stmt st(db_, (std::string("INSERT INTO operations (") + kOperationColumns +
                ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET phase=excluded.phase, "
                "attempts=excluded.attempts, settled=excluded.settled, tags_pending=excluded.tags_pending, "
                "sent_at=excluded.sent_at, waiting_since=excluded.waiting_since, deadline_at=excluded.deadline_at, "
                "error_code=excluded.error_code, "
                "deal_names=excluded.deal_names, bill_id=excluded.bill_id, "
                "instance_ids=excluded.instance_ids, error=excluded.error, updated_at=excluded.updated_at")
                   .c_str());
  st.Bind(1, op.id).Bind(2, op.resource_key).Bind(3, std::string(OperationKindName(op.kind))).Bind(4, op.region).Bind(5, op.request_json);
  st.Bind(6, op.expected).Bind(7, std::string(PhaseName(op.phase))).Bind(8, op.attempts);
  st.Bind(9, json(op.deal_names).dump()).Bind(10, op.bill_id).Bind(11, json(op.instance_ids).dump());
  st.Bind(12, op.error).Bind(13, op.created_at.empty() ? now : op.created_at).Bind(14, now).Bind(15, op.settled);
  st.Bind(16, static_cast<int64_t>(op.tags_pending ? 1 : 0)).Bind(17, op.sent_at);
  st.Bind(18, op.waiting_since).Bind(19, op.deadline_at).Bind(20, op.error_code).Bind(21, op.batch);
  Stmt ev(db_, "INSERT INTO events (at, operation_id, resource_key, phase, detail) VALUES (?,?,?,?,?)");
  ev.Bind(1, now).Bind(2, op.id).Bind(3, op.resource_key).Bind(4, std::string(PhaseName(op.phase))).Bind(5, detail);
  if (st.Step() != SQLITE_DONE || ev.Step() != SQLITE_DONE || !Bump().ok()) {
    return DbError(db_, "recording operation " + op.id);
  }
  return Status::Ok();
}

Result<std::vector<Event>> SqliteStateStore::Events(const std::string& operation_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, operation_id.empty()
                  ? "SELECT seq, at, operation_id, resource_key, phase, detail FROM events ORDER BY seq"
                  : "SELECT seq, at, operation_id, resource_key, phase, detail FROM events WHERE operation_id = ? ORDER BY seq");
  if (!operation_id.empty()) s.Bind(1, operation_id);
  std::vector<Event> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5)});
  if (rc != SQLITE_DONE) return DbError(db_, "reading events");
  return out;
}

Status SqliteStateStore::ReplaceAll(const std::vector<ResourceRecord>& resources, const std::vector<InstanceRecord>& instances) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  bool ok = Exec("DELETE FROM resources").ok() && Exec("DELETE FROM instances").ok();
  const std::string now = NowText();
  for (const ResourceRecord& r : resources) {
    if (!ok) break;
    Stmt st(db_, "INSERT INTO resources (key, region, deletion_policy, spec, group_id, updated_at) VALUES (?,?,?,?,?,?)");
    st.Bind(1, r.key).Bind(2, r.region).Bind(3, r.deletion_policy).Bind(4, r.spec_json).Bind(5, r.group_id).Bind(6, now);
    ok = st.Step() == SQLITE_DONE;
  }
  for (const InstanceRecord& r : instances) {
    if (!ok) break;
    Stmt st(db_, "INSERT OR REPLACE INTO instances (id, resource_key, region, operation_id, recorded_at) VALUES (?,?,?,?,?)");
    st.Bind(1, r.id).Bind(2, r.resource_key).Bind(3, r.region).Bind(4, r.operation_id).Bind(5, now);
    ok = st.Step() == SQLITE_DONE;
  }
  if (ok) {
    Stmt st(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('rebuilt_at', ?)");
    st.Bind(1, std::to_string(std::chrono::duration_cast<std::chrono::seconds>(clock_->Now().time_since_epoch()).count()));
    ok = st.Step() == SQLITE_DONE;
  }
  if (!ok || !Bump().ok()) {
    Status e = DbError(db_, "rebuilding state");
    Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

}  // namespace reconciler
