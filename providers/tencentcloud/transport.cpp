#include "providers/tencentcloud/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>

#include "base/retry_policy.h"

namespace reconciler::tencentcloud {

namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Per-exchange bookkeeping shared with libcurl's callbacks.
struct Exchange {
  CURL* handle = nullptr;
  std::string body;
  size_t max_bytes = 0;
  bool oversize = false;
  size_t bytes_out = 0;  // request bytes libcurl reports as written to the socket
  char error[CURL_ERROR_SIZE] = {0};
};

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t n = size * count;
  if (ex->body.size() + n > ex->max_bytes) {
    ex->oversize = true;
    return 0;  // makes libcurl abort with CURLE_WRITE_ERROR
  }
  if (ex->body.empty()) {
    // A listing page is about 250 KB: grown by doubling, it would be copied over again
    // several times. The length the answer announces is only a hint, bounded by the limit.
    curl_off_t announced = -1;
    if (curl_easy_getinfo(ex->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) == CURLE_OK && announced > 0) {
      ex->body.reserve(std::min(static_cast<size_t>(announced), ex->max_bytes));
    }
  }
  ex->body.append(data, n);
  return n;
}

// libcurl reports each block it has written with CURLINFO_HEADER_OUT / DATA_OUT. We never
// log the text (it carries the Authorization header); we only learn whether anything left.
int OnDebug(CURL*, curl_infotype type, char*, size_t size, void* user) {
  if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT) {
    static_cast<Exchange*>(user)->bytes_out += size;
  }
  return 0;
}

bool FailsBeforeSending(CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_FAILED_INIT:
      return true;
    default:
      return false;
  }
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(const TransportOptions& options) : options_(options) { GlobalInitOnce(); }

  ~CurlTransport() override {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    CURL* h = Acquire();
    Result<HttpResponse> result = Perform(h, request);
    Release(h);
    return result;
  }

 private:
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(h);
  }

  Result<HttpResponse> Perform(CURL* h, const HttpRequest& request) {
    // Reset clears options but keeps the handle's connection cache, so keep-alive survives.
    curl_easy_reset(h);
    Exchange ex;
    ex.handle = h;
    ex.max_bytes = options_.max_response_bytes;

    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    // No "Expect: 100-continue" round trip for larger bodies.
    headers = curl_slist_append(headers, "Expect:");

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (Result<UrlParts> parts = ParseUrl(request.url); parts.ok() && IsLoopbackHost(parts->host)) {
      curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    // gzip and deflate only: a server that honours "br" at its default quality spends far
    // longer compressing than the bytes save.
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options_.max_response_bytes));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnWrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, OnDebug);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &ex);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ex.error);
    if (request.reuse == Reuse::kFreshConnection) {
      curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }

    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);

    if (rc == CURLE_OK) {
      HttpResponse response;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
      response.body = std::move(ex.body);
      return response;
    }
    return Classify(rc, ex);
  }

  Status Classify(CURLcode rc, const Exchange& ex) const {
    std::string what = ex.error[0] ? ex.error : curl_easy_strerror(rc);
    if (ex.oversize || rc == CURLE_FILESIZE_EXCEEDED) {
      return Status(TransportCode(TransportFailure::kMalformedAnswer),
                    "response larger than " + std::to_string(options_.max_response_bytes) +
                        " bytes; its content is unknown");
    }
    if (FailsBeforeSending(rc) || ex.bytes_out == 0) {
      return Status(TransportCode(TransportFailure::kNotSent), "request not sent: " + what);
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return Status(TransportCode(TransportFailure::kTimeoutAfterSend), "timed out after the request was sent");
    }
    return Status(TransportCode(TransportFailure::kReset), "connection failed after the request was sent: " + what);
  }

  TransportOptions options_;
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

}  // namespace

namespace {

// 127.0.0.0/8 written as four decimal parts (libcurl writes IPv4 hosts so).
bool IsLoopbackIpv4(const std::string& host) {
  int parts[4];
  char tail = 0;
  if (std::sscanf(host.c_str(), "%3d.%3d.%3d.%3d%c", &parts[0], &parts[1], &parts[2], &parts[3], &tail) != 4) return false;
  for (int p : parts) {
    if (p < 0 || p > 255) return false;
  }
  return parts[0] == 127 && host.find_first_not_of("0123456789.") == std::string::npos;
}

}  // namespace

bool IsLoopbackHost(std::string host) {
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host == "localhost" || host == "[::1]" || IsLoopbackIpv4(host);
}

Result<UrlParts> ParseUrl(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), &curl_url_cleanup);
  if (!parsed) return Status(Code::kInternal, "out of memory parsing a URL");
  CURLUcode rc = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK) return Status(Code::kInvalidInput, std::string("not a URL: ") + curl_url_strerror(rc));
  UrlParts out;
  for (auto [part, field] : {std::pair{CURLUPART_SCHEME, &out.scheme}, std::pair{CURLUPART_HOST, &out.host}}) {
    char* text = nullptr;
    rc = curl_url_get(parsed.get(), part, &text, 0);
    if (rc != CURLUE_OK) return Status(Code::kInvalidInput, std::string("not a URL: ") + curl_url_strerror(rc));
    *field = text;
    curl_free(text);
  }
  for (char& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::unique_ptr<HttpTransport> NewCurlTransport(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace reconciler::tencentcloud
