#include "reconciler/state_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "reconciler/retry_policy.h"

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

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status DbError(sqlite3* db, const std::string& what) {
  return Status(Code::kInternal, "state store: " + what + ": " + sqlite3_errmsg(db));
}

std::vector<std::string> JsonList(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const json& e : j) {
      if (e.is_string()) out.push_back(e);
    }
  }
  return out;
}

Operation OperationFrom(const Stmt& s) {
  Operation op;
  op.id = s.Text(0);
  op.resource_key = s.Text(1);
  op.kind = s.Text(2);
  op.region = s.Text(3);
  op.request_json = s.Text(4);
  op.expected = s.Int(5);
  Result<Phase> phase = ParsePhase(s.Text(6));
  op.phase = phase.ok() ? *phase : Phase::kUnknown;  // an unreadable phase is treated as the careful one
  op.attempts = s.Int(7);
  op.deal_names = JsonList(s.Text(8));
  op.bill_id = s.Text(9);
  op.instance_ids = JsonList(s.Text(10));
  op.error = s.Text(11);
  op.created_at = s.Text(12);
  op.updated_at = s.Text(13);
  op.settled = s.Int(14);
  op.tags_pending = s.Int(15) != 0;
  op.sent_at = s.Int(16);
  op.waiting_since = s.Int(17);
  op.deadline_at = s.Int(18);
  op.error_code = s.Text(19);
  return op;
}

constexpr const char* kOperationColumns =
    "id, resource_key, kind, region, request, expected, phase, attempts, deal_names, bill_id, instance_ids, "
    "error, created_at, updated_at, settled, tags_pending, sent_at, waiting_since, deadline_at, error_code";

}  // namespace

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kIntent: return "intent";
    case Phase::kUnknown: return "unknown";
    case Phase::kOrdered: return "ordered";
    case Phase::kDelivered: return "delivered";
    case Phase::kDone: return "done";
    case Phase::kFailed: return "failed";
  }
  return "?";
}

Result<Phase> ParsePhase(const std::string& name) {
  for (Phase p : {Phase::kIntent, Phase::kUnknown, Phase::kOrdered, Phase::kDelivered, Phase::kDone, Phase::kFailed}) {
    if (name == PhaseName(p)) return p;
  }
  return Status(Code::kInvalidInput, "unknown operation phase '" + name + "'");
}

bool IsTerminal(Phase p) { return p == Phase::kDone || p == Phase::kFailed; }

std::vector<Operation> TerminalFailures(const std::vector<Operation>& operations) {
  // `operations` is in creation order (Operations()), so the last one seen per resource is
  // its newest purchase.
  std::map<std::string, const Operation*> newest;
  for (const Operation& op : operations) {
    if (op.kind.rfind("create-", 0) == 0) newest[op.resource_key] = &op;
  }
  std::vector<Operation> out;
  for (const Operation& op : operations) {
    auto it = newest.find(op.resource_key);
    if (it == newest.end() || it->second != &op) continue;
    if (op.phase == Phase::kFailed && HoldsResource(op.error_code)) out.push_back(op);
  }
  return out;
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path, Clock* clock) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  // Create the file with mode 0600 before SQLite does, so it never exists readable by others.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kInternal, "state store: cannot open " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ::close(fd);

  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    Status s = DbError(db, "cannot open " + path);
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<StateStore> store(new StateStore(db, path, clock));
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    Status s = store->Exec(pragma);
    if (!s.ok()) return s;
  }
  Status migrated = store->Migrate();
  if (!migrated.ok()) return migrated;
  return store;
}

StateStore::~StateStore() { sqlite3_close(db_); }

Status StateStore::Exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Status(Code::kInternal, "state store: " + message);
  }
  return Status::Ok();
}

int StateStore::SchemaVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "PRAGMA user_version");
  return s.Step() == SQLITE_ROW ? static_cast<int>(s.Int(0)) : 0;
}

Status StateStore::Migrate() {
  const int latest = static_cast<int>(std::size(kMigrations));
  int version = SchemaVersion();
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

std::string StateStore::NowText() const {
  std::time_t t = std::chrono::system_clock::to_time_t(clock_->Now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status StateStore::Bump() { return Exec("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"); }

int64_t StateStore::Generation() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT value FROM meta WHERE key = 'generation'");
  return s.Step() == SQLITE_ROW ? std::stoll(s.Text(0)) : 0;
}

int64_t StateStore::RebuiltAt() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT value FROM meta WHERE key = 'rebuilt_at'");
  if (s.Step() != SQLITE_ROW) return 0;
  char* end = nullptr;
  const std::string text = s.Text(0);
  long long v = std::strtoll(text.c_str(), &end, 10);
  return end && *end == '\0' ? v : 0;
}

Result<std::vector<ResourceRecord>> StateStore::Resources() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT key, region, deletion_policy, spec, group_id, updated_at FROM resources ORDER BY key");
  if (!s.ok()) return DbError(db_, "reading resources");
  std::vector<ResourceRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5)});
  return out;
}

Status StateStore::PutResource(const ResourceRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  Stmt st(db_,
          "INSERT INTO resources (key, region, deletion_policy, spec, group_id, updated_at) VALUES (?,?,?,?,?,?) "
          "ON CONFLICT(key) DO UPDATE SET region=excluded.region, deletion_policy=excluded.deletion_policy, "
          "spec=excluded.spec, group_id=excluded.group_id, updated_at=excluded.updated_at");
  st.Bind(1, r.key).Bind(2, r.region).Bind(3, r.deletion_policy).Bind(4, r.spec_json).Bind(5, r.group_id).Bind(6, NowText());
  if (st.Step() != SQLITE_DONE || !Bump().ok()) {
    Status e = DbError(db_, "writing resource " + r.key);
    Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

Status StateStore::DeleteResource(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  Stmt a(db_, "DELETE FROM resources WHERE key = ?");
  Stmt b(db_, "DELETE FROM instances WHERE resource_key = ?");
  a.Bind(1, key);
  b.Bind(1, key);
  if (a.Step() != SQLITE_DONE || b.Step() != SQLITE_DONE || !Bump().ok()) {
    Status e = DbError(db_, "forgetting " + key);
    Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

Result<std::vector<InstanceRecord>> StateStore::Instances() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT id, resource_key, region, operation_id, recorded_at FROM instances ORDER BY resource_key, id");
  if (!s.ok()) return DbError(db_, "reading instances");
  std::vector<InstanceRecord> out;
  while (s.Step() == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4)});
  return out;
}

Status StateStore::PutInstance(const InstanceRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  Stmt st(db_,
          "INSERT INTO instances (id, resource_key, region, operation_id, recorded_at) VALUES (?,?,?,?,?) "
          "ON CONFLICT(id) DO UPDATE SET resource_key=excluded.resource_key, region=excluded.region, "
          "operation_id=CASE WHEN excluded.operation_id = '' THEN instances.operation_id ELSE excluded.operation_id END");
  st.Bind(1, r.id).Bind(2, r.resource_key).Bind(3, r.region).Bind(4, r.operation_id).Bind(5, NowText());
  if (st.Step() != SQLITE_DONE || !Bump().ok()) {
    Status e = DbError(db_, "writing instance " + r.id);
    Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

Status StateStore::DeleteInstance(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  Stmt st(db_, "DELETE FROM instances WHERE id = ?");
  st.Bind(1, id);
  if (st.Step() != SQLITE_DONE || !Bump().ok()) {
    Status e = DbError(db_, "forgetting instance " + id);
    Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

Result<std::vector<Operation>> StateStore::Operations() {
  std::lock_guard<std::mutex> lock(mu_);
  // rowid is the insertion order, which breaks ties within a second in creation order.
  Stmt s(db_, (std::string("SELECT ") + kOperationColumns + " FROM operations ORDER BY created_at, rowid").c_str());
  if (!s.ok()) return DbError(db_, "reading operations");
  std::vector<Operation> out;
  while (s.Step() == SQLITE_ROW) out.push_back(OperationFrom(s));
  return out;
}

Result<std::vector<Operation>> StateStore::InFlight() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kOperationColumns +
               " FROM operations WHERE phase NOT IN ('done', 'failed') ORDER BY created_at, id")
                  .c_str());
  if (!s.ok()) return DbError(db_, "reading operations");
  std::vector<Operation> out;
  while (s.Step() == SQLITE_ROW) out.push_back(OperationFrom(s));
  return out;
}

Result<Operation> StateStore::GetOperation(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kOperationColumns + " FROM operations WHERE id = ?").c_str());
  s.Bind(1, id);
  if (s.Step() != SQLITE_ROW) return Status(Code::kNotFound, "no operation " + id);
  return OperationFrom(s);
}

Status StateStore::PutOperation(const Operation& op, const std::string& detail) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  const std::string now = NowText();
  Stmt st(db_, (std::string("INSERT INTO operations (") + kOperationColumns +
                ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET phase=excluded.phase, "
                "attempts=excluded.attempts, settled=excluded.settled, tags_pending=excluded.tags_pending, "
                "sent_at=excluded.sent_at, waiting_since=excluded.waiting_since, deadline_at=excluded.deadline_at, "
                "error_code=excluded.error_code, "
                "deal_names=excluded.deal_names, bill_id=excluded.bill_id, "
                "instance_ids=excluded.instance_ids, error=excluded.error, updated_at=excluded.updated_at")
                   .c_str());
  st.Bind(1, op.id).Bind(2, op.resource_key).Bind(3, op.kind).Bind(4, op.region).Bind(5, op.request_json);
  st.Bind(6, op.expected).Bind(7, std::string(PhaseName(op.phase))).Bind(8, op.attempts);
  st.Bind(9, json(op.deal_names).dump()).Bind(10, op.bill_id).Bind(11, json(op.instance_ids).dump());
  st.Bind(12, op.error).Bind(13, op.created_at.empty() ? now : op.created_at).Bind(14, now).Bind(15, op.settled);
  st.Bind(16, static_cast<int64_t>(op.tags_pending ? 1 : 0)).Bind(17, op.sent_at);
  st.Bind(18, op.waiting_since).Bind(19, op.deadline_at).Bind(20, op.error_code);
  Stmt ev(db_, "INSERT INTO events (at, operation_id, resource_key, phase, detail) VALUES (?,?,?,?,?)");
  ev.Bind(1, now).Bind(2, op.id).Bind(3, op.resource_key).Bind(4, std::string(PhaseName(op.phase))).Bind(5, detail);
  if (st.Step() != SQLITE_DONE || ev.Step() != SQLITE_DONE || !Bump().ok()) {
    Status e = DbError(db_, "recording operation " + op.id);
    Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

Result<std::vector<Event>> StateStore::Events(const std::string& operation_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, operation_id.empty()
                  ? "SELECT seq, at, operation_id, resource_key, phase, detail FROM events ORDER BY seq"
                  : "SELECT seq, at, operation_id, resource_key, phase, detail FROM events WHERE operation_id = ? ORDER BY seq");
  if (!operation_id.empty()) s.Bind(1, operation_id);
  std::vector<Event> out;
  while (s.Step() == SQLITE_ROW) out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5)});
  return out;
}

Status StateStore::ReplaceAll(const std::vector<ResourceRecord>& resources, const std::vector<InstanceRecord>& instances) {
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

Result<std::unique_ptr<StackLock>> StackLock::Acquire(const std::string& path, Clock* clock, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kInternal, "cannot open lock file " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[512] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "an unknown process";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    return Status(Code::kConflict, "another reconciler holds this stack: " + holder);
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::time_t t = std::chrono::system_clock::to_time_t(clock->Now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char started[32];
  std::strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string holder = "pid " + std::to_string(getpid()) + " on host " + host + ", started " + started +
                       (what.empty() ? "" : ", " + what) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, holder.data(), holder.size(), 0) < 0) {
    // The lock itself is held; only the description is missing.
  }
  return std::unique_ptr<StackLock>(new StackLock(fd));
}

StackLock::~StackLock() {
  flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace reconciler
