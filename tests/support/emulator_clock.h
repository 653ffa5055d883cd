#pragma once

// A clock whose sleeps move the emulator's manual clock: when the engine waits d, the
// emulated account lives through d at once. Deliveries and boot-ups take their full
// emulated time, and the test spends none of it.

#include <atomic>

#include "base/clock.h"
#include "tests/support/emulator_fixture.h"

namespace reconciler::testing {

class EmulatorClock final : public Clock {
 public:
  explicit EmulatorClock(EmulatorFixture* emu) : emu_(emu) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(offset_ms_.load());
  }
  using Clock::SleepFor;
  bool SleepFor(std::chrono::milliseconds d, std::stop_token stop) override {
    if (stop.stop_requested()) return false;
    emu_->Advance(static_cast<double>(d.count()) / 1000.0);
    offset_ms_ += d.count();
    return true;
  }

 private:
  EmulatorFixture* emu_;
  std::atomic<int64_t> offset_ms_{0};
};

}  // namespace reconciler::testing
