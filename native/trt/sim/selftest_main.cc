// Development entry point: runs the simulator's self-test and exits non-zero when a case fails.
#include <cstdio>

#include "trt/sim/sim.h"

int main() {
  int failed = 0;
  for (const auto& r : trtn::trt::sim::SelfTest()) {
    std::printf("%s  %s\n      %s\n", r.passed ? "PASS" : "FAIL", r.name.c_str(), r.detail.c_str());
    failed += !r.passed;
  }
  std::printf("%d failed\n", failed);
  return failed ? 1 : 0;
}
