#include "pft/util/signal.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

#include "pft/util/error.h"

namespace pft {
namespace {

// Signal-handler state must be lock-free atomics at namespace scope.
std::atomic<int> g_graceful_depth{0};
std::atomic<bool> g_requested{false};

extern "C" void on_signal(int) {
  if (g_graceful_depth.load() > 0 && !g_requested.exchange(true)) return;
  _exit(exit_codes::kInterrupted);
}

}  // namespace

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupt_requested() { return g_requested.load(); }

GracefulInterrupt::GracefulInterrupt() { g_graceful_depth.fetch_add(1); }
GracefulInterrupt::~GracefulInterrupt() { g_graceful_depth.fetch_sub(1); }

}  // namespace pft
