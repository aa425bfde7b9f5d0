// runtime_handle (spawning, block_on and metrics from any thread), enter_guard, and the
// lookup of the calling thread's runtime.

#include <stdexcept>
#include <string>

#include "runtime/blocking_pool.hpp"
#include "runtime/scheduler.hpp"
#include "tako/runtime.hpp"

namespace tako {

namespace detail {

scheduler& current_scheduler(const char* what) {
    if (tls_thread.spawner == nullptr) {
        throw std::runtime_error(std::string(what) +
                                 ": there is no tako runtime on this thread; call it from a "
                                 "task, a runtime thread, or inside runtime::enter()");
    }
    return *tls_thread.spawner;
}

} // namespace detail

runtime_handle runtime_handle::current() {
    if (auto h = try_current()) {
        return std::move(*h);
    }
    throw std::runtime_error("tako::runtime_handle::current: there is no tako runtime on this "
                             "thread");
}

std::optional<runtime_handle> runtime_handle::try_current() noexcept {
    if (detail::tls_thread.runtime == nullptr) {
        return std::nullopt;
    }
    return runtime_handle(detail::tls_thread.runtime->shared_from_this());
}

void runtime_handle::submit(detail::task_header* t) const noexcept {
    detail::submit_new_task(*core_->main, t);
}

void runtime_handle::submit_blocking(detail::task_header* t) const noexcept {
    detail::submit_blocking(*core_, t);
}

runtime_flavor runtime_handle::flavor() const noexcept {
    return core_->config.flavor;
}

runtime_metrics runtime_handle::metrics() const {
    runtime_metrics m;
    m.num_workers = core_->main->num_workers();
    m.global_queue_depth = core_->main->global_queue_depth();
    m.num_alive_tasks = core_->registry.size();
    m.spawned_tasks_count = core_->registry.inserted();
    m.num_blocking_threads = core_->blocking->num_threads();
    m.num_idle_blocking_threads = core_->blocking->num_idle_threads();
    return m;
}

enter_guard::enter_guard(const runtime_handle& handle)
    : core_(handle.core().shared_from_this()), previous_(detail::tls_thread.runtime) {
    detail::tls_thread.runtime = &handle.core();
    detail::tls_thread.spawner = handle.core().main.get();
}

enter_guard::~enter_guard() {
    detail::tls_thread.runtime = previous_;
    detail::tls_thread.spawner = previous_ != nullptr ? previous_->main.get() : nullptr;
}

} // namespace tako
