// The glue between the time API and the runtime's time driver.

#include <stdexcept>
#include <string>

#include "runtime/scheduler.hpp"
#include "tako/time/clock.hpp"
#include "time/time_driver.hpp"

namespace tako::detail {

time_driver& current_time_driver(const char* what) {
    runtime_core* core = tls_thread.runtime;
    if (core == nullptr) {
        throw std::runtime_error(std::string(what) + ": there is no tako runtime on this thread");
    }
    return *core->time;
}

bool timer_arm(time_driver& d, timer_entry& e, std::chrono::steady_clock::time_point deadline,
               waker w) noexcept {
    return d.arm(e, deadline, w);
}

bool timer_disarm(timer_entry& e) noexcept {
    return time_driver::disarm_entry(e);
}

std::chrono::steady_clock::time_point clock_now() noexcept {
    runtime_core* core = tls_thread.runtime;
    return core != nullptr ? core->time->now() : std::chrono::steady_clock::now();
}

} // namespace tako::detail

namespace tako::time {

namespace {
detail::time_driver& paused_capable(const char* what) {
    detail::runtime_core* core = detail::tls_thread.runtime;
    if (core == nullptr || core->config.flavor != runtime_flavor::current_thread) {
        throw std::logic_error(std::string(what) + ": the clock can only be paused on a "
                                                   "current_thread runtime");
    }
    return *core->time;
}
} // namespace

void pause() {
    paused_capable("tako::time::pause").pause();
}

void resume() {
    detail::time_driver& d = paused_capable("tako::time::resume");
    if (!d.paused()) {
        throw std::logic_error("tako::time::resume: the clock is not paused");
    }
    d.resume();
}

task<void> advance(duration d) {
    detail::time_driver& driver = paused_capable("tako::time::advance");
    if (!driver.paused()) {
        throw std::logic_error("tako::time::advance: the clock is not paused");
    }
    driver.advance(d);
    co_await yield_now(); // let the tasks whose timers fired run
}

} // namespace tako::time
