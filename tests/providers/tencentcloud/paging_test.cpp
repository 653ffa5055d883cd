// A listing's pages are fetched at once after the first, and the result is the one a reader
// going page by page would get: in order, complete, and refused when the listing shifted.

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "providers/tencentcloud/rate_budget.h"
#include "providers/tencentcloud/rate_limits.h"
#include "providers/tencentcloud/tencent_cloud.h"
#include "tests/support/loopback_server.h"

namespace reconciler::tencentcloud {
namespace {

using nlohmann::json;
using testing::LoopbackServer;

std::string IdOf(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "pgro-%05d", i);
  return id;
}

// A DescribeDBInstances that pages `ids` by Offset and Limit, as the cloud does. Counts calls and the most that were in flight at once; with
// `hold_for` > 1, each call waits (up to 5 s) until that many are in flight.
struct PagedListing {
  explicit PagedListing(int count, int hold_for = 0) : hold_for(hold_for) {
    for (int i = 0; i < count; ++i) ids.push_back(IdOf(i));
    srv.server().new_task_queue = [] { return new httplib::ThreadPool(32); };  // every page of a round at once
    srv.server().Post("/", [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); });
    srv.Start();
    CloudConfig config;
    config.credentials.secret_id = "AKIDtest";
    config.credentials.secret_key = Secret("key");
    config.endpoints.SetOverride(srv.url());
    client = std::make_unique<ApiClient>(config, transport.get(), &clock);
  }

  std::unique_ptr<TencentCloud> Cloud(int parallelism) {
    TencentCloudOptions options;
    options.page_parallelism = parallelism;
    options.jitter_seed = 1;
    return std::make_unique<TencentCloud>(client.get(), &budget, &clock, options);
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    json p = json::parse(req.body);
    const size_t offset = p.value("Offset", 0);
    const size_t limit = p.value("Limit", 20);
    {
      std::unique_lock<std::mutex> lock(mu);
      ++calls;
      ++in_flight;
      max_in_flight = std::max(max_in_flight, in_flight);
      cv.notify_all();
      // Until `hold_for` calls were in flight together once (the first page comes alone).
      if (hold_for > 1 && offset != 0) {
        cv.wait_for(lock, std::chrono::seconds(5), [&] { return max_in_flight >= hold_for; });
      }
      if (first_offset != SIZE_MAX && offset != 0 && offset != first_offset) {
        cv.wait_for(lock, std::chrono::seconds(5), [&] { return first_cut; });
      }
    }
    json set = json::array();
    size_t total = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      total = ids.size();
      for (size_t i = offset; i < std::min(ids.size(), offset + limit); ++i) {
        set.push_back({{"DBInstanceId", ids[i]}, {"Region", "ap-beijing"}, {"DBInstanceStatus", "running"}});
      }
      if (on_page) on_page(offset, ids);
      if (offset == first_offset) {
        first_cut = true;
        cv.notify_all();
      }
      if (offset == fail_at) {
        res.set_content(R"({"Response":{"RequestId":"r","Error":{"Code":"InvalidParameter","Message":"no"}}})",
                        "application/json");
        --in_flight;
        return;
      }
      --in_flight;
    }
    res.set_content(json{{"Response", {{"RequestId", "r"}, {"TotalCount", total}, {"DBInstanceSet", set}}}}.dump(),
                    "application/json");
  }

  std::vector<std::string> Listed(TencentCloud* cloud, Status* status = nullptr) {
    Result<std::vector<cloud::Instance>> r = cloud->ListInstances("ap-beijing", {});
    if (status) *status = r.ok() ? Status::Ok() : r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const cloud::Instance& i : *r) out.push_back(i.id);
    }
    return out;
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> ids;
  // Runs as each page is cut, after it is cut: the listing changing while it is read.
  std::function<void(size_t offset, std::vector<std::string>&)> on_page;
  size_t fail_at = SIZE_MAX;
  size_t first_offset = SIZE_MAX;  // other pages after the first wait until this one is cut
  bool first_cut = false;
  int hold_for = 0;
  int calls = 0;
  int in_flight = 0;
  int max_in_flight = 0;
  LoopbackServer srv;
  FakeClock clock;
  std::unique_ptr<HttpTransport> transport = NewCurlTransport({});
  RateBudget budget{&clock, &DocumentedRateLimit};
  std::unique_ptr<ApiClient> client;
};

}  // namespace

TEST_CASE("paging: the pages after the first are fetched at once, and the listing is the one page by page gives") {
  PagedListing listing(1050, 4);
  std::vector<std::string> parallel = listing.Listed(listing.Cloud(8).get());
  CHECK(listing.calls == 11);
  CHECK(listing.max_in_flight >= 4);  // each call was held until four were in flight
  listing.hold_for = 0;
  listing.calls = listing.max_in_flight = 0;
  std::vector<std::string> sequential = listing.Listed(listing.Cloud(1).get());
  CHECK(listing.max_in_flight == 1);
  CHECK(listing.calls == 11);
  CHECK(parallel == listing.ids);
  CHECK(sequential == listing.ids);
}

TEST_CASE("paging: instances bought while the listing is read are followed to the new total") {
  SUBCASE("bought before the later pages are read: the pages the new total adds are fetched") {
    PagedListing listing(1050);
    listing.on_page = [](size_t offset, std::vector<std::string>& ids) {
      if (offset == 0 && ids.size() == 1050) {
        for (int i = 1050; i < 1210; ++i) ids.push_back(IdOf(i));  // appended: the listing is in creation order
      }
    };
    Status status;
    std::vector<std::string> got = listing.Listed(listing.Cloud(8).get(), &status);
    REQUIRE(status.ok());
    CHECK(got.size() == 1210);
    CHECK(got == listing.ids);
    CHECK(listing.calls == 13);
  }
  SUBCASE("bought after the last page was cut short, and reported by pages read later: it is read again") {
    PagedListing listing(1050);
    listing.first_offset = 1000;  // pages 1..9 are cut only after page 10
    listing.on_page = [](size_t offset, std::vector<std::string>& ids) {
      if (offset == 1000 && ids.size() == 1050) {
        for (int i = 1050; i < 1120; ++i) ids.push_back(IdOf(i));
      }
    };
    Status status;
    std::vector<std::string> got = listing.Listed(listing.Cloud(16).get(), &status);
    REQUIRE(status.ok());
    CHECK(got.size() == 1120);
    CHECK(got == listing.ids);
    CHECK(listing.calls == 13);  // page 0, pages 1..10, then page 10 again and page 11
  }
}

TEST_CASE("paging: a listing that shrinks while it is read is refused as inconsistent, and a failed page fails it") {
  SUBCASE("an instance removed while the pages are read shifts the later ones: one may be missed") {
    PagedListing listing(1050);
    listing.on_page = [](size_t offset, std::vector<std::string>& ids) {
      if (offset == 0 && ids.size() == 1050) ids.erase(ids.begin() + 5);
    };
    Status status;
    CHECK(listing.Listed(listing.Cloud(8).get(), &status).empty());
    CHECK(status.code() == Code::kRetryable);
    CHECK(status.message().find("shrank from 1050 to 1049") != std::string::npos);
  }
  SUBCASE("a page that fails fails the listing, and it says why") {
    PagedListing listing(1050);
    listing.fail_at = 500;
    Status status;
    CHECK(listing.Listed(listing.Cloud(8).get(), &status).empty());
    CHECK_FALSE(status.ok());
    CHECK(status.api_code() == "InvalidParameter");
  }
}

}  // namespace reconciler::tencentcloud
