// The one non-template piece of tako::sync::mpsc: refusing to block a thread that drives
// tasks (it needs the runtime's per-thread context, which is private to the library).

#include "tako/sync/mpsc.hpp"

#include <stdexcept>
#include <string>

#include "runtime/scheduler.hpp"

namespace tako::sync::mpsc::detail {

void check_can_block(const char* what) {
    if (tako::detail::tls_thread.is_runtime_thread) {
        throw std::logic_error(std::string(what) +
                               ": cannot block a thread that drives tako tasks (a runtime "
                               "worker or a block_on thread): it could deadlock the tasks "
                               "that would unblock it. Await the async operation instead, or "
                               "call this from a plain thread or inside spawn_blocking");
    }
}

} // namespace tako::sync::mpsc::detail
