#include "emulator/cached_answer.h"

#include <zlib.h>

#include <cassert>

namespace reconciler::tencentcloud::emulator {

namespace {

constexpr std::string_view kOpen = "{\"Response\":{";
constexpr std::string_view kIdKey = ",\"RequestId\":\"";
constexpr std::string_view kClose = "\"}}";

std::string Tail(std::string_view request_id) {
  std::string tail;
  tail.reserve(kIdKey.size() + request_id.size() + kClose.size());
  tail.append(kIdKey).append(request_id).append(kClose);
  return tail;
}

void AppendLittleEndian32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t Crc(uint32_t crc, std::string_view text) {
  return static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

// One deflate state and output buffer per thread, reset for each answer. A fresh state is
// about 270 KB, which the allocator maps anew and the kernel faults in page by page each
// time: that cost more than the compression.
struct Deflater {
  Deflater() { deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY); }  // 15 + 16: a gzip wrapper
  ~Deflater() { deflateEnd(&z); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  z_stream& Reset() {
    deflateReset(&z);
    return z;
  }
  z_stream z{};
  std::string scratch;
};

Deflater& ThreadDeflater() {
  thread_local Deflater deflater;
  return deflater;
}

}  // namespace

CachedAnswer::CachedAnswer(std::string_view members) : members_size_(members.size()) {
  // Level 1, as the server compresses other answers (server.cpp, GzipFast). Z_SYNC_FLUSH
  // ends the blocks on a byte boundary without a final block.
  Deflater& d = ThreadDeflater();
  z_stream& z = d.Reset();
  const size_t bound = deflateBound(&z, kOpen.size() + members.size()) + 16;
  if (d.scratch.size() < bound) d.scratch.resize(bound);
  z.next_out = reinterpret_cast<Bytef*>(d.scratch.data());
  z.avail_out = static_cast<uInt>(d.scratch.size());
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(kOpen.data()));
  z.avail_in = static_cast<uInt>(kOpen.size());
  deflate(&z, Z_NO_FLUSH);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(members.data()));
  z.avail_in = static_cast<uInt>(members.size());
  deflate(&z, Z_SYNC_FLUSH);
  gzip_head_.assign(d.scratch.data(), z.total_out);
  head_crc_ = Crc(Crc(0, kOpen), members);
}

std::string CachedAnswer::members() const {
  // The kept blocks inflate to exactly the text before the RequestId; they have no final
  // block, so inflate stops at their end without Z_STREAM_END.
  std::string head(kOpen.size() + members_size_, '\0');
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzip_head_.data()));
  z.avail_in = static_cast<uInt>(gzip_head_.size());
  z.next_out = reinterpret_cast<Bytef*>(head.data());
  z.avail_out = static_cast<uInt>(head.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  const bool whole = (rc == Z_OK || rc == Z_BUF_ERROR) && z.total_out == head.size() && z.avail_in == 0;
  inflateEnd(&z);
  assert(whole && "a kept answer inflates to its text");
  (void)whole;
  return head.substr(kOpen.size());
}

std::string CachedAnswer::Envelope(std::string_view request_id) const {
  std::string out;
  out.reserve(EnvelopeSize(request_id));
  out.append(kOpen).append(members()).append(Tail(request_id));
  return out;
}

size_t CachedAnswer::EnvelopeSize(std::string_view request_id) const {
  return kOpen.size() + members_size_ + kIdKey.size() + request_id.size() + kClose.size();
}

std::string CachedAnswer::GzippedEnvelope(std::string_view request_id) const {
  const std::string tail = Tail(request_id);
  std::string out;
  out.reserve(gzip_head_.size() + 5 + tail.size() + 8);
  out.append(gzip_head_);
  // The tail as the final stored block (RFC 1951 3.2.4): BFINAL 1, BTYPE 00, then LEN and
  // its complement. The head ended byte-aligned, so the block starts on a fresh byte.
  const auto len = static_cast<uint16_t>(tail.size());
  out.push_back('\x01');
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(~len & 0xff));
  out.push_back(static_cast<char>((~len >> 8) & 0xff));
  out.append(tail);
  AppendLittleEndian32(Crc(head_crc_, tail), &out);
  AppendLittleEndian32(static_cast<uint32_t>(EnvelopeSize(request_id)), &out);  // ISIZE: the length mod 2^32
  return out;
}

}  // namespace reconciler::tencentcloud::emulator
