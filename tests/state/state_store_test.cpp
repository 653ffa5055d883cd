#include "state/state_store.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/sqlite/sqlite_state_store.h"
#include "state/stack_lease.h"
#include "engine/observe.h"  // TerminalFailures
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

std::string Pragma(const std::string& path, const char* pragma) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, pragma, -1, &stmt, nullptr);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

TEST_CASE("state store: a new store is private, in WAL mode, at the latest schema") {
  TempDir dir("state");
  FakeClock clock;
  std::string path = (dir.path() / "sub" / "state.db").string();
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE(store.ok());
  CHECK((*store)->SchemaVersion() == 7);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(Pragma(path, "PRAGMA journal_mode") == "wal");
}

TEST_CASE("state store: an old file is migrated forward, keeping its data") {
  TempDir dir("state");
  FakeClock clock;
  std::string path = (dir.path() / "state.db").string();
  {
    // A store written by the first version of the schema.
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    const char* v1 = R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE resources (key TEXT PRIMARY KEY, region TEXT NOT NULL, deletion_policy TEXT NOT NULL, spec TEXT NOT NULL,
                              group_id TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL);
      CREATE TABLE instances (id TEXT PRIMARY KEY, resource_key TEXT NOT NULL, region TEXT NOT NULL,
                              operation_id TEXT NOT NULL DEFAULT '', recorded_at TEXT NOT NULL);
      CREATE INDEX instances_by_resource ON instances(resource_key);
      CREATE TABLE operations (id TEXT PRIMARY KEY, resource_key TEXT NOT NULL, kind TEXT NOT NULL, region TEXT NOT NULL,
                               request TEXT NOT NULL, expected INTEGER NOT NULL, phase TEXT NOT NULL,
                               attempts INTEGER NOT NULL DEFAULT 0, deal_names TEXT NOT NULL DEFAULT '[]',
                               bill_id TEXT NOT NULL DEFAULT '', instance_ids TEXT NOT NULL DEFAULT '[]',
                               error TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, operation_id TEXT NOT NULL,
                           resource_key TEXT NOT NULL, phase TEXT NOT NULL, detail TEXT NOT NULL);
      INSERT INTO meta VALUES ('generation', '7');
      INSERT INTO operations (id, resource_key, kind, region, request, expected, phase, attempts, deal_names, created_at, updated_at)
        VALUES ('op-old', 'ReadOnlyInstance/r', 'create-replicas', 'ap-beijing', '{}', 2, 'ordered', 1, '["d1"]', 't', 't');
      PRAGMA user_version = 1;)sql";
    REQUIRE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE(store.ok());
  CHECK((*store)->SchemaVersion() == 7);
  CHECK(*(*store)->Generation() == 7);
  auto ops = (*store)->InFlight();
  REQUIRE(ops->size() == 1);
  CHECK(ops->front().id == "op-old");
  CHECK(ops->front().deal_names == std::vector<std::string>{"d1"});
  CHECK(ops->front().settled == 0);
}

TEST_CASE("state store: a file from a newer reconciler is refused, not damaged") {
  TempDir dir("state");
  FakeClock clock;
  std::string path = (dir.path() / "state.db").string();
  REQUIRE(OpenSqliteStateStore(path, &clock).ok());
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().message().find("schema version 99") != std::string::npos);
  CHECK(Pragma(path, "PRAGMA user_version") == "99");
}

TEST_CASE("state store: every write bumps the generation and operations keep their history") {
  TempDir dir("state");
  FakeClock clock;
  auto store = std::move(OpenSqliteStateStore((dir.path() / "s.db").string(), &clock)).value();
  int64_t g0 = *store->Generation();
  REQUIRE(store->PutResource({"ReadOnlyInstance/r", "ap-beijing", "Orphan", "{}", "", ""}).ok());
  REQUIRE(store->PutInstance({"pgro-1", "ReadOnlyInstance/r", "ap-beijing", "op-1", ""}).ok());
  Operation op;
  op.id = "op-1";
  op.resource_key = "ReadOnlyInstance/r";
  op.kind = OperationKind::kCreateReplicas;
  op.region = "ap-beijing";
  op.request_json = "{}";
  op.expected = 1;
  REQUIRE(store->PutOperation(op, "intent").ok());
  op.phase = Phase::kOrdered;
  op.deal_names = {"d"};
  REQUIRE(store->PutOperation(op, "ordered").ok());
  CHECK(*store->Generation() == g0 + 4);
  auto events = *store->Events("op-1");
  REQUIRE(events.size() == 2);
  CHECK(events[0].phase == "intent");
  CHECK(events[1].phase == "ordered");
  REQUIRE(store->DeleteResource("ReadOnlyInstance/r").ok());
  CHECK(store->Instances()->empty());
}

TEST_CASE("state store: a second holder fails at once, naming the first") {
  TempDir dir("lock");
  FakeClock clock;
  std::string path = (dir.path() / "state.db.lock").string();
  auto first = StackLock::Acquire(path, &clock);
  REQUIRE(first.ok());
  auto second = StackLock::Acquire(path, &clock);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Code::kConflict);
  CHECK(second.status().message().find("pid " + std::to_string(getpid())) != std::string::npos);
  CHECK(second.status().message().find("on host ") != std::string::npos);
  CHECK(second.status().message().find("started 2023-11-14T22:13:20Z") != std::string::npos);
  first->reset();
  CHECK(StackLock::Acquire(path, &clock).ok());
}

TEST_CASE("state store: a dead holder's lock does not block") {
  TempDir dir("lock");
  FakeClock clock;
  std::string path = (dir.path() / "state.db.lock").string();
  pid_t child = fork();
  if (child == 0) {
    auto held = StackLock::Acquire(path, &clock);
    _exit(held.ok() ? 0 : 1);  // dies holding the lock
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(StackLock::Acquire(path, &clock).ok());
}


TEST_CASE("state store: a schema 5 file migrates to 6 and its purchases in flight get their wait started later") {
  TempDir dir("state");
  FakeClock clock;
  std::string path = (dir.path() / "state.db").string();
  {
    // A store written by schema 5: the columns of migrations 1 to 5, and no deadlines.
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    const char* v5 = R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE resources (key TEXT PRIMARY KEY, region TEXT NOT NULL, deletion_policy TEXT NOT NULL, spec TEXT NOT NULL,
                              group_id TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL);
      CREATE TABLE instances (id TEXT PRIMARY KEY, resource_key TEXT NOT NULL, region TEXT NOT NULL,
                              operation_id TEXT NOT NULL DEFAULT '', recorded_at TEXT NOT NULL);
      CREATE INDEX instances_by_resource ON instances(resource_key);
      CREATE TABLE operations (id TEXT PRIMARY KEY, resource_key TEXT NOT NULL, kind TEXT NOT NULL, region TEXT NOT NULL,
                               request TEXT NOT NULL, expected INTEGER NOT NULL, phase TEXT NOT NULL,
                               attempts INTEGER NOT NULL DEFAULT 0, deal_names TEXT NOT NULL DEFAULT '[]',
                               bill_id TEXT NOT NULL DEFAULT '', instance_ids TEXT NOT NULL DEFAULT '[]',
                               error TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                               settled INTEGER NOT NULL DEFAULT 0, tags_pending INTEGER NOT NULL DEFAULT 0,
                               sent_at INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX operations_by_phase ON operations(phase);
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, operation_id TEXT NOT NULL,
                           resource_key TEXT NOT NULL, phase TEXT NOT NULL, detail TEXT NOT NULL);
      INSERT INTO meta VALUES ('generation', '12');
      INSERT INTO operations (id, resource_key, kind, region, request, expected, phase, attempts, deal_names,
                              error, created_at, updated_at, settled, tags_pending, sent_at)
        VALUES ('op-five', 'ReadOnlyInstance/r', 'create-replicas', 'ap-beijing', '{}', 2, 'ordered', 1, '["d1","d2"]',
                '', 't', 't', 0, 1, 1699999000);
      INSERT INTO operations (id, resource_key, kind, region, request, expected, phase, attempts, deal_names,
                              error, created_at, updated_at, settled, tags_pending, sent_at)
        VALUES ('op-old-failure', 'ReadOnlyInstance/q', 'create-replicas', 'ap-beijing', '{}', 1, 'failed', 1, '[]',
                'permanent: InvalidParameterValue.BadSpec: no', 't', 't', 1, 0, 1699999000);
      PRAGMA user_version = 5;)sql";
    REQUIRE(sqlite3_exec(db, v5, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE(store.ok());
  CHECK((*store)->SchemaVersion() == 7);
  CHECK(*(*store)->Generation() == 12);
  Result<Operation> op = (*store)->GetOperation("op-five");
  REQUIRE(op.ok());
  CHECK(op->phase == Phase::kOrdered);
  CHECK(op->deal_names == std::vector<std::string>{"d1", "d2"});
  CHECK(op->tags_pending);
  CHECK(op->sent_at == 1699999000);
  CHECK(op->waiting_since == 0);  // the executor starts its wait when it next follows it
  CHECK(op->deadline_at == 0);
  CHECK(op->error_code.empty());
  // A failure recorded before codes were kept holds nothing: it has no code to show.
  CHECK(TerminalFailures(*(*store)->Operations()).empty());
  // Opening again migrates nothing more.
  store->reset();
  auto again = OpenSqliteStateStore(path, &clock);
  REQUIRE(again.ok());
  CHECK((*again)->SchemaVersion() == 7);
}

TEST_CASE("state store: a wait's start and deadline and a failure's code round-trip") {
  TempDir dir("state");
  FakeClock clock;
  auto store = std::move(OpenSqliteStateStore((dir.path() / "s.db").string(), &clock)).value();
  Operation op;
  op.id = "op-1";
  op.resource_key = "ReadOnlyInstance/r";
  op.kind = OperationKind::kCreateReplicas;
  op.region = "ap-beijing";
  op.request_json = "{}";
  op.expected = 1;
  op.phase = Phase::kOrdered;
  op.waiting_since = 1700000000;
  op.deadline_at = 1700001800;
  REQUIRE(store->PutOperation(op, "ordered").ok());
  Operation read = *store->GetOperation("op-1");
  CHECK(read.waiting_since == 1700000000);
  CHECK(read.deadline_at == 1700001800);
  op.phase = Phase::kFailed;
  op.error_code = kOrderDeadlineExceeded;
  op.error = "order d1 listed no instances within 30m";
  REQUIRE(store->PutOperation(op, "failed").ok());
  read = *store->GetOperation("op-1");
  CHECK(read.error_code == kOrderDeadlineExceeded);
  CHECK(read.deadline_at == 1700001800);  // kept, to show when it gave up
  CHECK(store->InFlight()->empty());
}

Operation Op(const std::string& id, const std::string& resource, Phase phase, const std::string& code,
             OperationKind kind = OperationKind::kCreateReplicas) {
  Operation op;
  op.id = id;
  op.resource_key = resource;
  op.kind = kind;
  op.region = "ap-beijing";
  op.request_json = "{}";
  op.phase = phase;
  op.error_code = code;
  return op;
}

TEST_CASE("state store: only the newest purchase of a resource can hold it") {
  TempDir dir("state");
  FakeClock clock;
  auto store = std::move(OpenSqliteStateStore((dir.path() / "s.db").string(), &clock)).value();
  // Same second: creation order still decides which is newest.
  REQUIRE(store->PutOperation(Op("op-zz-old", "ReadOnlyInstance/a", Phase::kFailed, "InvalidParameterValue.BadSpec"), "").ok());
  REQUIRE(store->PutOperation(Op("op-aa-new", "ReadOnlyInstance/a", Phase::kDone, ""), "").ok());
  REQUIRE(store->PutOperation(Op("op-b1", "ReadOnlyInstance/b", Phase::kDone, ""), "").ok());
  REQUIRE(store->PutOperation(Op("op-b2", "ReadOnlyInstance/b", Phase::kFailed, kRunningDeadlineExceeded), "").ok());
  REQUIRE(store->PutOperation(Op("op-c", "ReadOnlyInstance/c", Phase::kFailed, "AuthFailure.SignatureExpire"), "").ok());
  REQUIRE(store->PutOperation(Op("op-d", "ReadOnlyInstance/d", Phase::kFailed, ""), "").ok());
  REQUIRE(store->PutOperation(Op("op-e", "ServerlessInstance/e", Phase::kFailed, "OperationDenied.NotSupportZoneError",
                                 OperationKind::kCreateServerless), "").ok());
  // A spec change is no purchase of the resource: it neither holds nor releases it.
  REQUIRE(store->PutOperation(Op("op-b3", "ReadOnlyInstance/b", Phase::kDone, "", OperationKind::kModifySpec), "").ok());
  std::vector<Operation> held = TerminalFailures(*store->Operations());
  REQUIRE(held.size() == 2);
  CHECK(held[0].id == "op-b2");
  CHECK(held[1].id == "op-e");
}

TEST_CASE("state store: a refusal among purchases sent at once holds the resource, whichever was begun last") {
  TempDir dir("state");
  FakeClock clock;
  auto store = std::move(OpenSqliteStateStore((dir.path() / "s.db").string(), &clock)).value();
  auto batched = [](Operation op, const std::string& batch) {
    op.batch = batch;
    return op;
  };
  const std::string limit = "OperationDenied.RoInstanceCountExeedError";
  // a: the refused purchase was begun first, its sibling (bought) after it.
  REQUIRE(store->PutOperation(batched(Op("op-a1", "ReadOnlyInstance/a", Phase::kFailed, limit), "b-1"), "").ok());
  REQUIRE(store->PutOperation(batched(Op("op-a2", "ReadOnlyInstance/a", Phase::kDone, ""), "b-1"), "").ok());
  // b: an older batch's refusal, then a newer attempt (another batch) that bought: released.
  REQUIRE(store->PutOperation(batched(Op("op-b1", "ReadOnlyInstance/b", Phase::kFailed, limit), "b-2"), "").ok());
  REQUIRE(store->PutOperation(batched(Op("op-b2", "ReadOnlyInstance/b", Phase::kDone, ""), "b-3"), "").ok());
  // c: two refusals in one batch hold it once, by the first.
  REQUIRE(store->PutOperation(batched(Op("op-c1", "ReadOnlyInstance/c", Phase::kFailed, limit), "b-4"), "").ok());
  REQUIRE(store->PutOperation(batched(Op("op-c2", "ReadOnlyInstance/c", Phase::kFailed, limit), "b-4"), "").ok());
  // d: unbatched purchases (made before schema 7) keep the newest-purchase rule.
  REQUIRE(store->PutOperation(Op("op-d1", "ReadOnlyInstance/d", Phase::kFailed, limit), "").ok());
  REQUIRE(store->PutOperation(Op("op-d2", "ReadOnlyInstance/d", Phase::kDone, ""), "").ok());
  std::vector<Operation> ops = *store->Operations();
  REQUIRE(ops.size() == 8);
  CHECK(ops[0].batch == "b-1");  // the batch survives the store
  std::vector<Operation> held = TerminalFailures(ops);
  REQUIRE(held.size() == 2);
  CHECK(held[0].id == "op-a1");
  CHECK(held[1].id == "op-c1");
}

}  // namespace
}  // namespace reconciler::testing
