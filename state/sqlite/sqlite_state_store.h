#pragma once

// The state in a SQLite file: WAL mode with synchronous=FULL, file mode 0600, one transaction
// per transition. The schema is versioned and migrated forward on open. This folder holds the
// only SQLite code of the project.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "state/state_store.h"

struct sqlite3;

namespace reconciler {

// Opens (creating when absent, with mode 0600) and migrates the store at `path`. Refuses with
// kInvalidInput, changing nothing, anything at `path` that is not a regular file holding a
// SQLite database with our schema (or no tables yet). An empty file is taken as a new store
// only when it is what an interrupted Open leaves (ours, one link, mode 0600). Every read
// fails with kInternal, naming the file, what was read and SQLite's message, when the file
// is damaged.
Result<std::unique_ptr<StateStore>> OpenSqliteStateStore(const std::string& path, Clock* clock);

class SqliteStateStore final : public StateStore {
 public:
  // As OpenSqliteStateStore.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path, Clock* clock);
  ~SqliteStateStore() override;

  int SchemaVersion() override;
  Result<int64_t> Generation() override;
  Result<std::vector<ResourceRecord>> Resources() override;
  Status PutResource(const ResourceRecord& r) override;
  Status DeleteResource(const std::string& key) override;
  Result<std::vector<InstanceRecord>> Instances() override;
  Status PutInstance(const InstanceRecord& r) override;
  Status PutInstances(const std::vector<InstanceRecord>& records) override;
  Status DeleteInstance(const std::string& id) override;
  Result<std::vector<Operation>> Operations() override;
  Result<std::vector<Operation>> InFlight() override;
  Result<Operation> GetOperation(const std::string& id) override;
  Status PutOperation(const Operation& op, const std::string& detail) override;
  Result<std::vector<Event>> Events(const std::string& operation_id = "") override;
  Status ReplaceAll(const std::vector<ResourceRecord>& resources,
                    const std::vector<InstanceRecord>& instances) override;
  Result<int64_t> RebuiltAt() override;
  Result<std::string> DaemonValue(const std::string& key) override;
  Status PutDaemonValue(const std::string& key, const std::string& value) override;
  const std::string& path() const override { return path_; }

 private:
  SqliteStateStore(sqlite3* db, std::string path, Clock* clock) : db_(db), path_(std::move(path)), clock_(clock) {}
  Status CheckOurs();
  Result<int> ReadUserVersion();
  Status Migrate();
  Status Exec(const std::string& sql);
  Status Bump();
  // Runs `write` (statements on db_) in a transaction, committed together with whatever
  // other threads queued meanwhile (group commit). Returns `write`'s status, or the commit's.
  Status Write(const std::function<Status()>& write);
  Status WriteOperation(const Operation& op, const std::string& detail);
  std::string NowText() const;

  sqlite3* db_;
  std::string path_;
  Clock* clock_;
  std::mutex mu_;  // the connection

  struct Writer {
    const std::function<Status()>* write;
    Status status;
    bool done = false;
  };
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Writer*> writers_;  // the front one commits for all
};

}  // namespace reconciler
