#include "reconciler/state_store.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
  auto store = StateStore::Open(path, &clock);
  REQUIRE(store.ok());
  CHECK((*store)->SchemaVersion() == 5);
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
  auto store = StateStore::Open(path, &clock);
  REQUIRE(store.ok());
  CHECK((*store)->SchemaVersion() == 5);
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
  REQUIRE(StateStore::Open(path, &clock).ok());
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  auto store = StateStore::Open(path, &clock);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().message().find("schema version 99") != std::string::npos);
  CHECK(Pragma(path, "PRAGMA user_version") == "99");
}

TEST_CASE("state store: every write bumps the generation and operations keep their history") {
  TempDir dir("state");
  FakeClock clock;
  auto store = std::move(StateStore::Open((dir.path() / "s.db").string(), &clock)).value();
  int64_t g0 = *store->Generation();
  REQUIRE(store->PutResource({"ReadOnlyInstance/r", "ap-beijing", "Orphan", "{}", "", ""}).ok());
  REQUIRE(store->PutInstance({"pgro-1", "ReadOnlyInstance/r", "ap-beijing", "op-1", ""}).ok());
  Operation op;
  op.id = "op-1";
  op.resource_key = "ReadOnlyInstance/r";
  op.kind = "create-replicas";
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

}  // namespace
}  // namespace reconciler::testing
