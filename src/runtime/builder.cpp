// runtime::builder: the settings of a runtime, checked as they are set.

#include <stdexcept>
#include <string>
#include <utility>

#include "runtime/scheduler.hpp"
#include "tako/runtime.hpp"

namespace tako {

namespace {
/// `n`, or std::invalid_argument naming the setting if it is zero.
template <class N>
N positive(N n, const char* setting) {
    if (n == 0) {
        throw std::invalid_argument(std::string("tako::runtime::builder::") + setting +
                                    ": must be > 0");
    }
    return n;
}
} // namespace

runtime::builder runtime::builder::multi_thread() {
    builder b;
    b.config_.flavor = runtime_flavor::multi_thread;
    return b;
}

runtime::builder runtime::builder::current_thread() {
    builder b;
    b.config_.flavor = runtime_flavor::current_thread;
    return b;
}

runtime::builder& runtime::builder::worker_threads(std::size_t n) {
    config_.worker_threads = positive(n, "worker_threads");
    return *this;
}
runtime::builder& runtime::builder::thread_name(std::string name) {
    config_.thread_name = std::move(name);
    return *this;
}
runtime::builder& runtime::builder::thread_stack_size(std::size_t bytes) {
    config_.thread_stack_size = bytes;
    return *this;
}
runtime::builder& runtime::builder::on_thread_start(std::function<void()> f) {
    config_.on_thread_start = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::on_thread_stop(std::function<void()> f) {
    config_.on_thread_stop = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::on_thread_park(std::function<void()> f) {
    config_.on_thread_park = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::on_thread_unpark(std::function<void()> f) {
    config_.on_thread_unpark = std::move(f);
    return *this;
}
runtime::builder& runtime::builder::event_interval(std::uint32_t ticks) {
    config_.event_interval = positive(ticks, "event_interval");
    return *this;
}
runtime::builder& runtime::builder::global_queue_interval(std::uint32_t ticks) {
    config_.global_queue_interval = positive(ticks, "global_queue_interval");
    return *this;
}
runtime::builder& runtime::builder::max_blocking_threads(std::size_t n) {
    config_.max_blocking_threads = positive(n, "max_blocking_threads");
    return *this;
}
runtime::builder& runtime::builder::thread_keep_alive(std::chrono::nanoseconds d) {
    config_.thread_keep_alive = d;
    return *this;
}
runtime::builder& runtime::builder::on_unhandled_exception(unhandled_exception_hook hook) {
    config_.on_unhandled_exception = std::move(hook);
    return *this;
}
runtime::builder& runtime::builder::shuffle_seed(std::uint64_t seed) {
    config_.shuffle_seed = seed;
    return *this;
}

runtime::builder& runtime::builder::start_paused(bool paused) {
    config_.start_paused = paused;
    return *this;
}

runtime runtime::builder::build() {
    if (config_.start_paused && config_.flavor != runtime_flavor::current_thread) {
        throw std::invalid_argument("tako::runtime::builder::start_paused: the paused clock "
                                    "needs a current_thread runtime");
    }
    auto core = std::make_shared<detail::runtime_core>(config_);
    core->start();
    return runtime(std::move(core));
}

} // namespace tako
