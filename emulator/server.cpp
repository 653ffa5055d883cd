#include "emulator/server.h"

#include <httplib.h>
#include <memory>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <zlib.h>

#include "emulator/http_server.h"
#include "emulator/request_parts.h"
#include "emulator/socket_abort.h"
#include "providers/tencentcloud/signer.h"

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

namespace {

constexpr int64_t kMaxSkewSeconds = 300;
constexpr size_t kMinGzipBytes = 1024;  // smaller answers go as they are

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string Envelope(Reply& reply, const std::string& request_id) {
  if (reply.ok && reply.cached) return reply.cached->Envelope(request_id);
  if (reply.ok && !reply.raw.empty()) {
    return "{\"Response\":{" + reply.raw + ",\"RequestId\":\"" + request_id + "\"}}";
  }
  json envelope = json::object();
  json& response = envelope["Response"];
  if (reply.ok) response = std::move(reply.body);
  else response = {{"Error", {{"Code", reply.code}, {"Message", reply.message}}}};
  response["RequestId"] = request_id;
  return envelope.dump();
}

std::string GzipFast(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // 15 + 16: a gzip wrapper
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string VersionOf(const std::string& service) { return service == "tag" ? "2018-08-13" : "2017-03-12"; }

void SendJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// An HTTP error page instead of an API answer, as a load balancer in front of the API sends.
void SendHttpError(httplib::Response& res, int64_t status) {
  res.status = static_cast<int>(status);
  res.set_content("<html><body>" + std::to_string(status) + " injected fault</body></html>", "text/html");
}

// The faults that refuse a request instead of processing it: a throttling burst, a skewed
// server clock, an expired session token.
std::optional<Reply> RefusedByFault(Faults& faults, const httplib::Request& req, const std::string& action,
                                    CallKind kind, double wall) {
  if (faults.Take(FaultType::kThrottle, action, kind)) {
    return Error("RequestLimitExceeded",
                 "Your current request times exceed the frequency limit for " + action + " (injected burst).");
  }
  std::optional<FaultRefusal> refusal = faults.CheckCredentials(
      action, kind, req.get_header_value("X-TC-Timestamp"), !req.get_header_value("X-TC-Token").empty(), wall);
  if (refusal) return Error(refusal->code, refusal->message);
  return std::nullopt;
}

}  // namespace

double SystemWallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

EmulatorServer::EmulatorServer(World world, ServerOptions options)
    : world_(std::move(world)),
      options_(std::move(options)),
      metadata_([this] { return options_.wall(); }),
      limiter_(world_.catalogue.rate_limits) {
  if (!options_.wall) options_.wall = SystemWallSeconds;
  cloud_ = std::make_unique<EmulatedCloud>(world_, &faults_, options_.wall);
  http_ = std::make_unique<HttpServer>();
}

EmulatorServer::~EmulatorServer() = default;

Result<std::unique_ptr<EmulatorServer>> EmulatorServer::Create(World world, ServerOptions options) {
  std::unique_ptr<EmulatorServer> server(new EmulatorServer(std::move(world), std::move(options)));
  Status faults = server->faults_.Add(json::parse(server->world_.faults_json));
  if (!faults.ok()) return faults.Annotate("world file");
  const std::string& data = server->options_.data_path;
  if (!data.empty() && std::filesystem::exists(data)) {
    std::ifstream in(data, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    json saved = json::parse(buf.str(), nullptr, false);
    if (saved.is_discarded()) return Status(Code::kInvalidInput, data + ": the data file is not valid JSON");
    Status loaded = server->cloud_->LoadJson(saved);
    if (!loaded.ok()) return loaded.Annotate(data);
  }
  server->Route();
  return server;
}

Result<int> EmulatorServer::Bind(const std::string& host, int port) {
  http_->set_keep_alive_max_count(1000000);
  http_->set_keep_alive_timeout(60);
  http_->set_tcp_nodelay(true);
  // Oversize requests must reach the handler so it can answer RequestSizeLimitExceeded.
  http_->set_payload_max_length(std::max<uint64_t>(64u << 20, world_.catalogue.max_request_bytes * 2));
  // httplib gives each keep-alive connection a pool thread for its lifetime, and a connection
  // beyond the pool waits until one closes. A plan keeps up to 64 pages in flight, so several
  // processes at once (the crash harness, a daemon beside a CLI) need several times that; an
  // idle connection's thread sleeps in poll() (http_server.h).
  http_->new_task_queue = [] { return new httplib::ThreadPool(256); };
  // Debian's httplib is a compiled library that listens with a backlog of 5. A client that
  // opens dozens of connections at once, as a plan fetching its pages does, had most of its SYNs
  // dropped and retried a second later: a stall no real endpoint has. Listening again on the
  // bound socket raises the backlog.
  auto listening = std::make_shared<int>(-1);
  http_->set_socket_options([listening](socket_t sock) {
    httplib::default_socket_options(sock);
    *listening = sock;
  });
  int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return Status(Code::kInternal, "cannot listen on " + host + ":" + std::to_string(port));
  if (*listening < 0 || ::listen(*listening, SOMAXCONN) != 0) {
    return Status(Code::kInternal, "cannot raise the listen backlog on " + host + ":" + std::to_string(bound));
  }
  port_ = bound;
  return bound;
}

void EmulatorServer::Serve() { http_->listen_after_bind(); }

void EmulatorServer::Stop() {
  // stop() is a no-op until the accept loop runs; wait for it with a deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!http_->is_running() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  http_->stop();
  faults_.Interrupt();  // late answers and latency faults end now
  // httplib looks at its stop flag only between requests, so an idle keep-alive client
  // would hold a worker for the whole keep-alive timeout. Close those connections now.
  CloseAcceptedConnections(port_);
}

void EmulatorServer::Route() {
  const httplib::Server::Handler api = [this](const httplib::Request& req, httplib::Response& res) {
    HandleApi(req, res);
  };
  http_->Get("/_admin/model", [this](const httplib::Request& req, httplib::Response& res) {
    if (AdminAllowed(req, res)) SendJson(res, cloud_->model().ToJson());
  });
  http_->Get("/_admin/state", [this](const httplib::Request& req, httplib::Response& res) {
    if (AdminAllowed(req, res)) SendJson(res, cloud_->StateJson());
  });
  http_->Get("/_admin/calls", [this](const httplib::Request& req, httplib::Response& res) {
    if (!AdminAllowed(req, res)) return;
    std::lock_guard<std::mutex> lock(mu_);
    SendJson(res, calls_);
  });
  http_->Get("/_admin/faults", [this](const httplib::Request& req, httplib::Response& res) {
    if (AdminAllowed(req, res)) SendJson(res, faults_.ToJson());
  });
  admin_posts_["/_admin/faults"] = [this](const httplib::Request& req, httplib::Response& res) {
    if (!AdminAllowed(req, res)) return;
    // An empty body adds nothing and lists the rules.
    json body = json::parse(req.body.empty() ? std::string("[]") : req.body, nullptr, false);
    if (body.is_object() && body.value("clear", false)) {
      faults_.Clear();
      SendJson(res, faults_.ToJson());
      return;
    }
    Status added = body.is_discarded() ? Status(Code::kInvalidInput, "the body is not JSON") : faults_.Add(body);
    if (!added.ok()) return SendJson(res, {{"error", added.message()}}, 400);
    SendJson(res, faults_.ToJson());
  };
  admin_posts_["/_admin/advance"] = [this](const httplib::Request& req, httplib::Response& res) {
    if (!AdminAllowed(req, res)) return;
    char* end = nullptr;
    std::string text = req.get_param_value("seconds");
    double seconds = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(seconds >= 0)) {
      return SendJson(res, {{"error", "seconds must be a non-negative number, got '" + text + "'"}}, 400);
    }
    cloud_->Advance(seconds);
    Persist();
    SendJson(res, {{"now", cloud_->Now()}});
  };
  admin_posts_["/_admin/reset"] = [this](const httplib::Request& req, httplib::Response& res) {
    if (!AdminAllowed(req, res)) return;
    cloud_->Reset();
    faults_.Clear();
    faults_.Add(json::parse(world_.faults_json));
    {
      std::lock_guard<std::mutex> lock(mu_);
      limiter_.Reset();
      calls_ = json::object();
    }
    Persist();
    SendJson(res, {{"reset", true}});
  };
  admin_posts_["/_admin/metadata"] = [this](const httplib::Request& req, httplib::Response& res) {
    if (!AdminAllowed(req, res)) return;
    json body = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
    Status set = metadata_.Configure(body);
    if (!set.ok()) return SendJson(res, {{"error", set.message()}}, 400);
    SendJson(res, metadata_.ToJson());
  };
  for (const auto& [path, handler] : admin_posts_) http_->Post(path, handler);
  metadata_.Route(*http_);  // before the API's catch-all GET
  // The API answers on any other path: the Go SDK sends an endpoint's path ("host:port/prefix")
  // but signs "/".
  http_->Post(R"(/(?!_admin/).*)", api);
  http_->Get(R"(/(?!_admin/).*)", api);
  // httplib 0.11 waits for the body of a POST that has neither Content-Length nor
  // Transfer-Encoding, then answers 400 (cpp-httplib issues 523 and 1738), so
  // `curl -X POST .../_admin/reset` failed. Such a request has no body (RFC 9112 section
  // 6.3): it is served here, before httplib tries to read one.
  http_->set_pre_routing_handler([this, api](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "POST" || req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    auto admin = admin_posts_.find(req.path);
    if (admin != admin_posts_.end()) admin->second(req, res);
    else if (req.path.rfind("/_admin/", 0) == 0) res.status = 404;
    else api(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
}

bool EmulatorServer::AdminAllowed(const httplib::Request& req, httplib::Response& res) {
  if (req.remote_addr == "127.0.0.1" || req.remote_addr == "::1" || req.remote_addr == "::ffff:127.0.0.1") return true;
  SendJson(res, {{"error", "the admin API is served on loopback only"}}, 403);
  return false;
}

void EmulatorServer::HandleApi(const httplib::Request& req, httplib::Response& res) {
  // Faults run in the order a request meets them: before processing, instead of it, after
  // it. Rules may be scoped to DryRun calls or real ones, which only the body tells.
  const std::string action = req.get_header_value("X-TC-Action");
  const CallKind kind = faults_.empty()        ? CallKind::kReal
                        : req.method == "GET" ? CallKindOfQuery(req.get_param_value("DryRun"))
                                              : CallKindOf(req.body);
  if (auto f = faults_.Take(FaultType::kLatency, action, kind)) faults_.Delay(f->ms);
  if (auto f = faults_.Take(FaultType::kHttpError, action, kind)) {
    Count(action, Error("HttpError", ""));
    SendHttpError(res, f->status);
    return;
  }
  if (faults_.Take(FaultType::kResetBeforeProcessing, action, kind)) {
    Count(action, Error("ConnectionReset", ""));
    AbortConnection(req.local_port, req.remote_port, Abort::kReset);
    return;
  }
  Reply reply;
  if (std::optional<Reply> refused = RefusedByFault(faults_, req, action, kind, options_.wall())) {
    reply = std::move(*refused);
    Count(action, reply);
  } else {
    reply = Process(req, action);
  }
  if (reply.committed) Persist();
  if (reply.committed && faults_.Take(FaultType::kDropAfterCommit, action, kind)) {
    // The purchase stands; the client never hears of it.
    AbortConnection(req.local_port, req.remote_port, Abort::kClose);
    return;
  }
  if (reply.committed) {
    if (auto f = faults_.Take(FaultType::kErrorAfterCommit, action, kind)) return SendHttpError(res, f->status);
  }
  // The client has given up by the time a late answer is sent; the write then fails.
  if (auto f = faults_.Take(FaultType::kLateAnswer, action, kind)) faults_.Delay(f->ms);
  res.status = 200;
  const std::string request_id = NewRequestId();
  std::optional<FaultRule> malformed;
  if (reply.ok) malformed = faults_.Take(FaultType::kMalformedAnswer, action, kind);
  // httplib would gzip "application/json" itself at zlib's default level, which costs more
  // than the answer takes to build. The emulator compresses at level 1 instead, and the
  // charset parameter keeps httplib from compressing a second time.
  const bool gzip = req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos;
  std::string body;
  if (reply.cached && !malformed && gzip && reply.cached->EnvelopeSize(request_id) > kMinGzipBytes) {
    // A kept page: its text was compressed by the first request that asked for it.
    res.set_header("Content-Encoding", "gzip");
    body = reply.cached->GzippedEnvelope(request_id);
  } else {
    body = Envelope(reply, request_id);
    if (malformed) body = MalformAnswer(malformed->malformation, body);
    if (body.size() > kMinGzipBytes && gzip) {
      res.set_header("Content-Encoding", "gzip");
      body = GzipFast(body);
    }
  }
  res.set_content(std::move(body), "application/json; charset=utf-8");
}

void EmulatorServer::Count(const std::string& action, const Reply& reply) {
  std::lock_guard<std::mutex> lock(mu_);
  json& c = calls_[action.empty() ? "<none>" : action];
  if (c.is_null()) c = {{"total", 0}, {"dryRun", 0}, {"errors", 0}, {"throttled", 0}};
  c["total"] = c["total"].get<int64_t>() + 1;
  if (reply.dry_run) c["dryRun"] = c["dryRun"].get<int64_t>() + 1;
  if (!reply.ok) c["errors"] = c["errors"].get<int64_t>() + 1;
  // Throttles apart from other errors: a client working at the limit should draw none.
  if (!reply.ok && reply.code == "RequestLimitExceeded") c["throttled"] = c["throttled"].get<int64_t>() + 1;
}

Reply EmulatorServer::Authenticate(const httplib::Request& req, std::string* service) {
  ParsedAuthorization auth;
  std::string error;
  if (!req.has_header("Authorization")) return Error("AuthFailure.InvalidAuthorization", "The Authorization header is missing.");
  if (!ParseAuthorization(req.get_header_value("Authorization"), &auth, &error)) {
    return Error("AuthFailure.InvalidAuthorization", "Authorization is malformed: " + error + ".");
  }
  if (auth.terminator != "tc3_request") {
    return Error("AuthFailure.InvalidAuthorization", "The credential scope must end in tc3_request.");
  }
  auto signs = [&](const char* name) {
    return std::find(auth.signed_headers.begin(), auth.signed_headers.end(), name) != auth.signed_headers.end();
  };
  if (!signs("content-type") || !signs("host")) {
    return Error("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.");
  }
  const std::string ts_text = req.get_header_value("X-TC-Timestamp");
  char* end = nullptr;
  const long long ts = std::strtoll(ts_text.c_str(), &end, 10);
  if (ts_text.empty() || *end != '\0') {
    return Error("MissingParameter", "The request is missing a valid header `X-TC-Timestamp`.");
  }
  // Clients sign with the wall clock, so skew is measured against it, not against the
  // emulated clock that lifecycles follow.
  const double now = options_.wall();
  if (std::abs(now - static_cast<double>(ts)) > kMaxSkewSeconds) {
    return Error("AuthFailure.SignatureExpire",
                 "Signature expired: X-TC-Timestamp " + ts_text + " is more than 5 minutes from the server time " +
                     std::to_string(static_cast<long long>(now)) + ".");
  }
  const CredentialPair* cred = nullptr;
  for (const CredentialPair& c : world_.catalogue.credentials) {
    if (c.secret_id == auth.secret_id) cred = &c;
  }
  // A role's temporary key from the metadata service: valid with its token until it expires.
  std::optional<IssuedCredentials> issued = cred ? std::nullopt : metadata_.Find(auth.secret_id);
  CredentialPair role_pair;
  if (issued) {
    if (now >= issued->expires_at) {
      return Error("AuthFailure.TokenFailure", "The temporary credentials expired at " +
                                                   std::to_string(static_cast<long long>(issued->expires_at)) + ".");
    }
    role_pair = {issued->secret_id, issued->secret_key, issued->token};
    cred = &role_pair;
  }
  if (!cred) return Error("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct.");
  if (auth.date != UtcDate(ts)) {
    return Error("AuthFailure.SignatureFailure", "The credential scope date " + auth.date +
                                                     " is not the UTC date of X-TC-Timestamp.");
  }
  // The real endpoints are named after their service (postgres.tencentcloudapi.com), and
  // SDKs that derive the scope's service from the endpoint get it right there. Here one
  // address stands in for postgres.* and tag.*, so such an SDK names the address's first
  // label instead ("127" for 127.0.0.1:PORT): then the action decides the service. A scope
  // naming a real service still has to own the action (Process checks that).
  const std::string host = req.get_header_value("Host");
  const bool real_service = auth.service == "postgres" || auth.service == "tag";
  if (!real_service && !IsFirstHostLabel(auth.service, host)) {
    return Error("AuthFailure.SignatureFailure", "The credential scope names service `" + auth.service +
                                                     "`, which is neither postgres, tag nor the first label of the Host `" +
                                                     host + "`.");
  }
  SignInput in;
  in.method = req.method;
  in.canonical_query = req.method == "GET" ? RawQuery(req.target) : std::string();
  for (const std::string& name : auth.signed_headers) in.headers.emplace_back(name, req.get_header_value(name.c_str()));
  // SDKs may leave the body out of the signature (their "unsigned payload" option).
  const bool unsigned_payload = req.get_header_value("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD";
  in.payload = unsigned_payload ? std::string_view("UNSIGNED-PAYLOAD") : std::string_view(req.body);
  in.service = auth.service;
  in.timestamp = ts;
  in.secret_id = auth.secret_id;
  in.secret_key = cred->secret_key;
  bool valid = ConstantTimeEquals(Sign(in).signature, auth.signature);
  // The real endpoints are reached on the default port, so an SDK never had to choose
  // between signing the host with or without it; the Node SDK signs it without, the others
  // with. Both are taken.
  const std::string bare_host = HostWithoutPort(host);
  if (!valid && bare_host != host) {
    for (auto& [name, value] : in.headers) {
      if (name == "host") value = bare_host;
    }
    valid = ConstantTimeEquals(Sign(in).signature, auth.signature);
  }
  if (!valid) {
    return Error("AuthFailure.SignatureFailure",
                 "The provided credentials could not be validated. Please check your signature is correct.");
  }
  if (!cred->token.empty() && !ConstantTimeEquals(req.get_header_value("X-TC-Token"), cred->token)) {
    return Error("AuthFailure.TokenFailure", "The X-TC-Token is missing or invalid for these temporary credentials.");
  }
  *service = real_service ? auth.service : std::string();
  return Reply();
}

Reply EmulatorServer::Process(const httplib::Request& req, const std::string& action) {
  Reply reply = [&]() -> Reply {
    if (req.body.size() > world_.catalogue.max_request_bytes) {
      return Error("RequestSizeLimitExceeded", "The request body is " + std::to_string(req.body.size()) +
                                                   " bytes; the limit is " +
                                                   std::to_string(world_.catalogue.max_request_bytes) + ".");
    }
    std::string service;
    Reply auth = Authenticate(req, &service);
    if (!auth.ok) return auth;
    if (action.empty()) return Error("MissingParameter", "The request is missing a required header `X-TC-Action`.");
    // An empty service is a scope that named the Host's label (see Authenticate): the
    // action's own service answers.
    if (service.empty()) service = ServiceOfAction(action);
    if (!FindAction(service, action)) {
      std::string owner = ServiceOfAction(action);
      if (owner.empty()) return Error("InvalidAction", "The action `" + action + "` does not exist.");
      // The real endpoint verifies with its own service name, so a scope naming another
      // service fails as a signature mismatch.
      return Error("AuthFailure.SignatureFailure", "The credential scope names service `" + service +
                                                       "`, but `" + action + "` belongs to `" + owner + "`.");
    }
    const std::string version = req.get_header_value("X-TC-Version");
    if (version.empty()) return Error("MissingParameter", "The request is missing a required header `X-TC-Version`.");
    if (version != VersionOf(service)) {
      return Error("NoSuchVersion", "The API version `" + version + "` does not exist for " + service + ".");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!limiter_.Allow(action, cloud_->Now())) {
        return Error("RequestLimitExceeded", "Your current request times exceed the frequency limit of " +
                                                 std::to_string(limiter_.LimitFor(action)) + " per second for " +
                                                 action + ".");
      }
    }
    const std::string type = MediaType(req.get_header_value("Content-Type"));
    json params;
    if (req.method == "GET") {
      // GET flattens parameters into the query (Name.N.Field); the site model types them.
      if (type != "application/x-www-form-urlencoded") {
        return Error("InvalidParameter", "GET requests take Content-Type application/x-www-form-urlencoded.");
      }
      auto form = cloud_->model().FromForm(service, action, ParseQuery(RawQuery(req.target)));
      if (auto* bad = std::get_if<ModelError>(&form)) return Error(bad->code, bad->message);
      params = std::move(std::get<json>(form));
    } else {
      if (type != "application/json") {
        return Error("InvalidParameter", "POST requests take Content-Type application/json.");
      }
      params = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
      if (params.is_discarded() || !params.is_object()) {
        return Error("InvalidParameterValue.StructParseFailed", "The request body is not a JSON object.");
      }
    }
    return cloud_->Handle(service, action, req.get_header_value("X-TC-Region"), params);
  }();
  Count(action, reply);
  return reply;
}

void EmulatorServer::Persist() {
  if (options_.data_path.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  const std::string tmp = options_.data_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << cloud_->SaveJson().dump();
  }
  std::filesystem::rename(tmp, options_.data_path);
}

}  // namespace reconciler::tencentcloud::emulator
