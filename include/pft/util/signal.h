#pragma once
// SIGINT/SIGTERM handling. By default a signal ends pft at once with exit code 130. Code
// that can stop cleanly (the training loop: save a checkpoint, then exit 130) holds a
// GracefulInterrupt while it runs and polls interrupt_requested(); a second signal still
// ends the process at once.

namespace pft {

/// Installs pft's SIGINT/SIGTERM handler; called once by main.
void install_signal_handlers();

/// True once a signal arrived while a GracefulInterrupt was held.
bool interrupt_requested();

class GracefulInterrupt {
 public:
  GracefulInterrupt();
  ~GracefulInterrupt();
  GracefulInterrupt(const GracefulInterrupt&) = delete;
  GracefulInterrupt& operator=(const GracefulInterrupt&) = delete;
};

}  // namespace pft
