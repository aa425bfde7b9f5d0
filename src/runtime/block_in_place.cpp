// block_in_place: the calling thread's scheduler decides what blocking here needs.

#include "runtime/scheduler.hpp"
#include "tako/blocking.hpp"

namespace tako::detail {

void enter_block_in_place() {
    // Outside a runtime blocking is fine; inside one, the scheduler hands the thread's work
    // over (multi_thread) or refuses (current_thread's driving thread).
    if (scheduler* s = tls_thread.spawner) {
        s->prepare_to_block();
    }
}

} // namespace tako::detail
