#pragma once

// CachedAnswer: the text of one answer that many requests share, a page of a listing, kept
// until the next change to the account (see EmulatedCloud::Changed). Only the RequestId
// differs between the requests it answers, and it comes last, so the part before it is
// serialised once and, for clients that take gzip, compressed once.
//
// Thread-safe: the text never changes; the compressed part is made once, on first use, by
// whichever request needs it first.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace reconciler::tencentcloud::emulator {

class CachedAnswer {
 public:
  // `members` are the Response members as JSON text ("\"A\":1,\"B\":[...]").
  explicit CachedAnswer(std::string members) : members_(std::move(members)) {}

  const std::string& members() const { return members_; }
  // {"Response":{<members>,"RequestId":"<request_id>"}}: the bytes of the answer.
  std::string Envelope(std::string_view request_id) const;
  size_t EnvelopeSize(std::string_view request_id) const;
  // Envelope(request_id) as one gzip member (RFC 1952). The deflate blocks of everything
  // before the RequestId are made once and reused; the rest follows as a stored block.
  std::string GzippedEnvelope(std::string_view request_id) const;

 private:
  const std::string members_;
  mutable std::once_flag compressed_;
  // The gzip header and the deflate blocks of the text before the RequestId, flushed to a
  // byte boundary and not final, so more blocks may follow.
  mutable std::string gzip_head_;
  mutable uint32_t head_crc_ = 0;  // CRC-32 of that text
};

}  // namespace reconciler::tencentcloud::emulator
