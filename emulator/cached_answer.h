#pragma once

// CachedAnswer: one answer that many requests share, a page of a listing, kept until the
// next change to the account (see EmulatedCloud::Changed). Only the RequestId differs
// between the requests it answers, and it comes last, so the part before it is compressed
// once, when the answer is made, and kept compressed only: a page of 100 instances is about
// 130 KB of text and 8 KB of gzip, and most clients take gzip. A client that does not gets
// the text inflated from it.
//
// Immutable after construction, so thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace reconciler::tencentcloud::emulator {

class CachedAnswer {
 public:
  // `members` are the Response members as JSON text ("\"A\":1,\"B\":[...]").
  explicit CachedAnswer(std::string_view members);

  // The members as given.
  std::string members() const;
  // {"Response":{<members>,"RequestId":"<request_id>"}}: the bytes of the answer.
  std::string Envelope(std::string_view request_id) const;
  size_t EnvelopeSize(std::string_view request_id) const;
  // Envelope(request_id) as one gzip member (RFC 1952): the kept deflate blocks of
  // everything before the RequestId, then the rest as a stored block.
  std::string GzippedEnvelope(std::string_view request_id) const;
  // The bytes kept.
  size_t kept_bytes() const { return gzip_head_.size(); }

 private:
  // The gzip header and the deflate blocks of the text before the RequestId, flushed to a
  // byte boundary and not final, so more blocks may follow.
  std::string gzip_head_;
  uint32_t head_crc_ = 0;   // CRC-32 of that text
  size_t members_size_ = 0;
};

}  // namespace reconciler::tencentcloud::emulator
