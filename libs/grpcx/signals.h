// Shutdown signals for every k8intel process: block SIGTERM/SIGINT before starting threads, then
// wait for one in main.
#pragma once

namespace k8i::grpcx {

// BlockShutdownSignals blocks SIGTERM and SIGINT in the calling thread and every thread it
// starts afterwards. Call first thing in main.
void BlockShutdownSignals();

// WaitForShutdownSignal blocks until SIGTERM or SIGINT arrives and returns its number.
int WaitForShutdownSignal();

}  // namespace k8i::grpcx
