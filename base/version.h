#pragma once

// The version of this build: `git describe --tags` when the source is a git checkout with a
// tag, else the CMake project version with the commit ("0.1.0+g7a6ab94"), fixed at configure
// time. Defined in one generated translation unit, so a new version relinks, and rebuilds
// nothing else.

namespace reconciler {

const char* BuildVersion();

}  // namespace reconciler
