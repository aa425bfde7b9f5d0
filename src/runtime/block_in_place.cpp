// block_in_place: the calling thread's scheduler decides what blocking here needs.

#include "runtime/scheduler.hpp"
#include "tako/blocking.hpp"

namespace tako::detail {

block_in_place_scope::block_in_place_scope() {
    // Outside a runtime blocking is fine; inside one, the scheduler hands the thread's work
    // over (multi_thread) or refuses (current_thread's driving thread).
    if (scheduler* s = tls_thread.spawner) {
        token_ = s->prepare_to_block();
        if (token_ != nullptr) {
            sched_ = s;
        }
    }
}

block_in_place_scope::~block_in_place_scope() {
    if (sched_ != nullptr) {
        sched_->finish_blocking(token_);
    }
}

} // namespace tako::detail
