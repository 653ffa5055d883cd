// The state store against files it did not write or that were damaged since: every read
// fails with the file, what was read and why; nothing that is not our database is opened
// for writing, changed or chmodded.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>

#include "state/sqlite/sqlite_state_store.h"
#include "state/state_store.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO(sql << ": " << (error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

int64_t SqlInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

// A store holding one of everything, closed (so its WAL is checkpointed into the file).
std::string WrittenStore(const TempDir& dir) {
  FakeClock clock;
  const std::string path = (dir.path() / "state.db").string();
  auto store = std::move(OpenSqliteStateStore(path, &clock)).value();
  REQUIRE(store->PutResource({"ReadOnlyInstance/r", "ap-beijing", "Orphan", "{}", "", ""}).ok());
  REQUIRE(store->PutInstance({"pgro-1", "ReadOnlyInstance/r", "ap-beijing", "op-1", ""}).ok());
  Operation op;
  op.id = "op-1";
  op.resource_key = "ReadOnlyInstance/r";
  op.kind = OperationKind::kCreateReplicas;
  op.region = "ap-beijing";
  op.request_json = "{}";
  op.expected = 1;
  op.phase = Phase::kOrdered;
  op.deal_names = {"deal-1"};
  REQUIRE(store->PutOperation(op, "ordered").ok());
  return path;
}

// Overwrites the root page of `table` (one leaf page for so few rows) with garbage.
void CorruptTable(const std::string& path, const std::string& table) {
  const int64_t page = SqlInt(path, "SELECT rootpage FROM sqlite_master WHERE name = '" + table + "'");
  const int64_t size = SqlInt(path, "PRAGMA page_size");
  REQUIRE(page > 1);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp((page - 1) * size);
  const std::string garbage(static_cast<size_t>(size), '\xee');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  REQUIRE(f.good());
}

TEST_CASE("state store: a generation that is not a count is an error naming the file and the value") {
  TempDir dir("damage");
  const std::string path = WrittenStore(dir);
  std::string value;
  SUBCASE("letters") { value = "abc"; }
  SUBCASE("out of range") { value = "99999999999999999999"; }
  SUBCASE("negative") { value = "-3"; }
  SUBCASE("trailing text") { value = "12abc"; }
  SUBCASE("empty") { value = ""; }
  Sql(path, "UPDATE meta SET value = '" + value + "' WHERE key = 'generation'");
  FakeClock clock;
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE(store.ok());
  Result<int64_t> generation = (*store)->Generation();
  REQUIRE_FALSE(generation.ok());
  CHECK(generation.status().message() ==
        "state store " + path + ": the generation in meta is '" + value + "', not a count; the file is damaged");
}

TEST_CASE("state store: a missing generation or a damaged rebuilt_at is an error, not zero") {
  TempDir dir("damage");
  const std::string path = WrittenStore(dir);
  FakeClock clock;
  SUBCASE("rebuilt_at") {
    Sql(path, "INSERT INTO meta VALUES ('rebuilt_at', 'yesterday')");
    auto store = std::move(OpenSqliteStateStore(path, &clock)).value();
    Result<int64_t> at = store->RebuiltAt();
    REQUIRE_FALSE(at.ok());
    CHECK(at.status().message().find(path + ": rebuilt_at in meta is 'yesterday'") != std::string::npos);
  }
  SUBCASE("no rebuilt_at is never rebuilt") {
    auto store = std::move(OpenSqliteStateStore(path, &clock)).value();
    CHECK(*store->RebuiltAt() == 0);
  }
  SUBCASE("no generation") {
    Sql(path, "DELETE FROM meta WHERE key = 'generation'");
    // Not ours any more: Open refuses it before anything reads it.
    auto store = OpenSqliteStateStore(path, &clock);
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().message().find("not a reconciler state store") != std::string::npos);
  }
}

TEST_CASE("state store: a corrupted table page fails the read instead of reading as empty") {
  TempDir dir("damage");
  const std::string path = WrittenStore(dir);
  FakeClock clock;
  std::string table;
  std::function<Status(StateStore*)> read;
  SUBCASE("resources") {
    table = "resources";
    read = [](StateStore* s) { return s->Resources().status(); };
  }
  SUBCASE("instances") {
    table = "instances";
    read = [](StateStore* s) { return s->Instances().status(); };
  }
  SUBCASE("operations in flight") {
    table = "operations";
    read = [](StateStore* s) { return s->InFlight().status(); };
  }
  SUBCASE("every operation") {
    table = "operations";
    read = [](StateStore* s) { return s->Operations().status(); };
  }
  SUBCASE("one operation") {
    table = "operations";
    read = [](StateStore* s) { return s->GetOperation("op-1").status(); };
  }
  SUBCASE("events") {
    table = "events";
    read = [](StateStore* s) { return s->Events().status(); };
  }
  CorruptTable(path, table);
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE(store.ok());
  Status s = read(store->get());
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Code::kInternal);
  CHECK(s.message().rfind("state store " + path + ": reading ", 0) == 0);
  CHECK(s.message().find("malformed") != std::string::npos);
}

TEST_CASE("state store: a damaged operation row is an error naming the operation") {
  TempDir dir("damage");
  const std::string path = WrittenStore(dir);
  FakeClock clock;
  std::string damage, why;
  SUBCASE("deal names that are not a list") {
    damage = "deal_names = 'deal-1'";
    why = "deal_names: not a JSON list: deal-1";
  }
  SUBCASE("an instance id that is not a string") {
    damage = "instance_ids = '[7]'";
    why = "instance_ids: an item is number, not a string";
  }
  SUBCASE("a count that is not a number") {
    damage = "expected = 'two'";
    why = "expected is not an integer";
  }
  Sql(path, "UPDATE operations SET " + damage + " WHERE id = 'op-1'");
  auto store = std::move(OpenSqliteStateStore(path, &clock)).value();
  const std::string expected = "state store " + path + ": operation op-1 is damaged: " + why;
  CHECK(store->InFlight().status().message() == expected);
  CHECK(store->Operations().status().message() == expected);
  CHECK(store->GetOperation("op-1").status().message() == expected);
}

struct FileSnapshot {
  std::string bytes;
  mode_t mode = 0;
  bool operator==(const FileSnapshot&) const = default;
};

FileSnapshot Snapshot(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  FileSnapshot s;
  s.mode = st.st_mode;
  if (S_ISREG(st.st_mode)) s.bytes = ReadFile(path);
  return s;
}

TEST_CASE("state store: anything that is not its database is refused and left as it was") {
  TempDir dir("refuse");
  const std::string path = (dir.path() / "state.db").string();
  std::string why;
  SUBCASE("a text file") {
    dir.Write("state.db", "not a database, but somebody's notes\n");
    chmod(path.c_str(), 0644);
    why = "it is not a SQLite database";
  }
  SUBCASE("a file shorter than the SQLite header") {
    dir.Write("state.db", "SQLite");
    why = "it is not a SQLite database";
  }
  SUBCASE("an empty file reconciler did not create") {
    dir.Write("state.db", "");
    chmod(path.c_str(), 0644);
    why = "it is an empty file that reconciler did not create (mode 0644); remove it to start a new state";
  }
  SUBCASE("another program's SQLite database") {
    Sql(path, "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places VALUES (1, 'x');");
    chmod(path.c_str(), 0644);
    why = "it is a SQLite database, but not a reconciler state store";
  }
  SUBCASE("a directory") {
    REQUIRE(mkdir(path.c_str(), 0755) == 0);
    why = "it is a directory, not a database file";
  }
  SUBCASE("a FIFO") {
    REQUIRE(mkfifo(path.c_str(), 0644) == 0);
    why = "it is a FIFO, not a database file";
  }
  SUBCASE("a character device") {
    // A null device of our own, so that a regression could never chmod the system's.
    if (mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
      REQUIRE(symlink("/dev/null", path.c_str()) == 0);  // not root: /dev/null cannot be chmodded by us anyway
    }
    why = "it is a character device, not a database file";
  }
  SUBCASE("a dangling symlink") {
    REQUIRE(symlink((dir.path() / "elsewhere.db").c_str(), path.c_str()) == 0);
    why = "it is a symlink to nothing";
  }
  SUBCASE("a symlink loop") {
    REQUIRE(symlink(path.c_str(), path.c_str()) == 0);
    why = "it is a symlink loop";
  }
  const FileSnapshot before = Snapshot(path);
  FakeClock clock;
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kInvalidInput);
  CHECK(store.status().message() == "state store " + path + ": " + why + "; refusing to use it (nothing was changed)");
  CHECK(Snapshot(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "elsewhere.db"));
}

TEST_CASE("state store: an empty file an interrupted open left, or a database without tables, becomes a new store") {
  TempDir dir("new");
  const std::string path = (dir.path() / "state.db").string();
  SUBCASE("empty, ours and private") {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    REQUIRE(fd >= 0);
    close(fd);
  }
  SUBCASE("a SQLite file without tables") {
    Sql(path, "PRAGMA user_version = 0; CREATE TABLE t (x); DROP TABLE t;");
    chmod(path.c_str(), 0644);
  }
  FakeClock clock;
  auto store = OpenSqliteStateStore(path, &clock);
  REQUIRE(store.ok());
  CHECK(*(*store)->Generation() == 0);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

}  // namespace
}  // namespace reconciler::testing
