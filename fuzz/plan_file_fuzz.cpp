// libFuzzer target for the plan-file reader (make fuzz); the input and what it exercises
// are described in plan_file_input.h. Seeds (fuzz/corpus/plan_file/) are plans saved by
// `reconciler plan --out` against the emulator (fuzz/record_plan_seeds.sh). Whatever the
// bytes, nothing may crash, hang or trip a sanitizer.

#include "fuzz/plan_file_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  volatile size_t rendered = reconciler::fuzzing::RunPlanFileInput(data, size).size();
  (void)rendered;
  return 0;
}
