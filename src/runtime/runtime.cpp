// tako::runtime: the owner of a runtime_core, which it shuts down when destroyed.

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "runtime/scheduler.hpp"
#include "tako/runtime.hpp"

namespace tako {

runtime::runtime() : runtime(builder::multi_thread().enable_all().build()) {}
runtime::runtime(runtime&&) noexcept = default;
runtime& runtime::operator=(runtime&& other) noexcept {
    if (this != &other) {
        shutdown_or_abort();
        core_ = std::move(other.core_);
    }
    return *this;
}
runtime::~runtime() {
    shutdown_or_abort();
}

void runtime::shutdown_or_abort() noexcept {
    if (core_ && on_own_thread()) {
        std::fputs("tako::runtime: destroyed from inside one of its own tasks (or its block_on "
                   "or blocking pool); shutdown waits for those threads, so it cannot run "
                   "there. Destroy the runtime from the thread that owns it.\n",
                   stderr);
        std::abort();
    }
    shutdown(std::nullopt);
}

bool runtime::on_own_thread() const noexcept {
    return detail::tls_thread.owned_by_runtime && detail::tls_thread.runtime == core_.get();
}

void runtime::shutdown(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    if (core_) {
        core_->shutdown(timeout);
        core_.reset();
    }
}

void runtime::shutdown_timeout(std::chrono::nanoseconds timeout) && {
    if (core_ && on_own_thread()) {
        throw std::logic_error("tako::runtime::shutdown: called from one of the runtime's own "
                               "threads (a task, block_on or the blocking pool), which shutdown "
                               "would wait for; call it from the thread that owns the runtime");
    }
    shutdown(timeout);
}
void runtime::shutdown_background() && {
    std::move(*this).shutdown_timeout(std::chrono::nanoseconds(0));
}

} // namespace tako
