#pragma once
// Test fixtures that Python writes (tiny random checkpoints) made once per build folder and
// shared by every test process that asks for the same one: ctest runs each test in a process
// of its own, and a suite's SetUpTestSuite would otherwise write the same checkpoints again for
// every test. The fixtures are read-only by convention; the generating scripts are seeded, so
// a cached one is the one the test would have written.

#include <string>
#include <vector>

namespace pft::test {

/// Links `link` (created; its parent must exist) to the output folder of `python
/// tests/python/<script> FOLDER args...`, run once per distinct script content and arguments
/// under BUILD_DIR/test-fixtures (written beside, then renamed into place, so concurrent test
/// processes never see half a fixture). Returns false (and fails the test) when the script
/// fails.
bool link_cached_fixture(const std::string& link, const std::string& script,
                         const std::vector<std::string>& args);

}  // namespace pft::test
