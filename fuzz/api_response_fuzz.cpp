// libFuzzer target for the API-response parsers (make fuzz); the input and what it
// exercises are described in api_response_input.h. Seeds (fuzz/corpus/api_response/) are
// the emulator's real answers, recorded by fuzz/record_api_seeds.sh, each behind the bytes
// that select its call. Whatever the bytes, nothing may crash, hang or trip a sanitizer.

#include "fuzz/api_response_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reconciler::fuzzing::RunApiResponseInput(data, size);
  return 0;
}
