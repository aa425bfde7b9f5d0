#pragma once
// Runtime threads: named, with the configured stack size, running the start/stop hooks.

#include <pthread.h>

#include <functional>
#include <utility>

#include "tako/runtime.hpp"

namespace tako::detail {

/// A joinable OS thread (std::thread cannot set a stack size).
class os_thread {
public:
    os_thread() noexcept = default;
    os_thread(os_thread&& o) noexcept : id_(o.id_), joinable_(std::exchange(o.joinable_, false)) {}
    os_thread& operator=(os_thread&& o) noexcept {
        if (this != &o) {
            join();
            id_ = o.id_;
            joinable_ = std::exchange(o.joinable_, false);
        }
        return *this;
    }
    ~os_thread() { join(); }

    void join() noexcept {
        if (std::exchange(joinable_, false)) {
            pthread_join(id_, nullptr);
        }
    }
    void detach() noexcept {
        if (std::exchange(joinable_, false)) {
            pthread_detach(id_);
        }
    }
    [[nodiscard]] bool joinable() const noexcept { return joinable_; }

private:
    friend os_thread start_thread(const runtime::builder::config&, std::function<void()>, bool);
    pthread_t id_{};
    bool joinable_ = false;
};

/// Starts `body` on a new thread named and sized per `cfg`, wrapped in the thread start
/// hook and (if `run_stop_hook`) the stop hook; a body that must report its exit only after
/// the stop hook ran calls it itself. Throws std::system_error if the thread can't start.
os_thread start_thread(const runtime::builder::config& cfg, std::function<void()> body,
                       bool run_stop_hook = true);

} // namespace tako::detail
