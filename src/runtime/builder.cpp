// runtime::builder: the settings of a runtime, checked as they are set.

#include <stdexcept>
#include <string>
#include <utility>

#include "runtime/scheduler.hpp"
#include "tako/runtime.hpp"

namespace tako {

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
    if (n == 0) {
        throw std::invalid_argument("tako::runtime::builder::worker_threads: must be > 0");
    }
    config_.worker_threads = n;
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
    if (ticks == 0) {
        throw std::invalid_argument("tako::runtime::builder::event_interval: must be > 0");
    }
    config_.event_interval = ticks;
    return *this;
}
runtime::builder& runtime::builder::global_queue_interval(std::uint32_t ticks) {
    if (ticks == 0) {
        throw std::invalid_argument("tako::runtime::builder::global_queue_interval: must be > 0");
    }
    config_.global_queue_interval = ticks;
    return *this;
}
runtime::builder& runtime::builder::max_blocking_threads(std::size_t n) {
    if (n == 0) {
        throw std::invalid_argument("tako::runtime::builder::max_blocking_threads: must be > 0");
    }
    config_.max_blocking_threads = n;
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
