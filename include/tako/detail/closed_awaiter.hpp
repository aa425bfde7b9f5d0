#pragma once
/// \file
/// `detail::closed_awaiter<Shared>`: the wait of a channel sender's `closed()` — until the
/// channel has no receiver — for the channels whose receivers are counted under a lock
/// (broadcast, watch). `Shared` provides `closed_lock()` (the lock guarding the count and
/// the list), `has_receivers_locked()` and a `wait_list closed_waiters`, which the last
/// receiver's destruction fires.

#include <coroutine>
#include <mutex>

#include "tako/detail/wait_list.hpp"

namespace tako::detail {

template <class Shared>
class closed_awaiter : private wait_node {
public:
    explicit closed_awaiter(Shared& s) noexcept : s_(&s) {}
    /// Only an awaiter that is not being awaited may be moved (e.g. into `select`).
    closed_awaiter(closed_awaiter&& o) noexcept : s_(o.s_) {}
    closed_awaiter(const closed_awaiter&) = delete;
    closed_awaiter& operator=(const closed_awaiter&) = delete;
    /// Unlinks from the channel if the awaiting task is cancelled while parked.
    ~closed_awaiter() {
        if (linked_) {
            std::lock_guard guard(s_->closed_lock());
            if (is_linked()) {
                unlink();
            }
        }
    }
    bool await_ready() const noexcept { return false; }
    // Resumed by the scheduler once the last receiver's destruction fired our node.
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        {
            std::lock_guard guard(s_->closed_lock());
            if (s_->has_receivers_locked()) {
                arm(h);
                s_->closed_waiters.push_back(*this);
                linked_ = true;
                return true;
            }
        }
        return complete_or_yield(h);
    }
    void await_resume() noexcept { linked_ = false; }

private:
    Shared* s_;
    bool linked_ = false; ///< may be linked: the destructor must look, under the lock
};

} // namespace tako::detail
