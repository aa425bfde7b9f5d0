#pragma once
// Helpers shared by the runtime tests: lifetime probes, bounded waits and a watchdog that
// turns a hang into a test failure.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

namespace tako_test {

using namespace std::chrono_literals;

/// Counts the live `probe`s that refer to it.
struct life {
    std::atomic<int> alive{0};
    std::atomic<int> constructed{0};
};

/// An object whose constructions and destructions are counted in a `life`.
class probe {
public:
    explicit probe(life& l, int value = 0) : life_(&l), value_(value) { born(); }
    probe(const probe& o) : life_(o.life_), value_(o.value_) { born(); }
    probe(probe&& o) noexcept : life_(o.life_), value_(o.value_) { born(); }
    probe& operator=(const probe&) = delete;
    probe& operator=(probe&&) = delete;
    ~probe() { life_->alive.fetch_sub(1, std::memory_order_acq_rel); }

    [[nodiscard]] int value() const noexcept { return value_; }

private:
    void born() noexcept {
        life_->alive.fetch_add(1, std::memory_order_acq_rel);
        life_->constructed.fetch_add(1, std::memory_order_relaxed);
    }
    life* life_;
    int value_;
};

/// A point in time after which a bounded wait gives up.
class deadline {
public:
    explicit deadline(std::chrono::milliseconds d = 5000ms)
        : end_(std::chrono::steady_clock::now() + d) {}
    [[nodiscard]] bool expired() const noexcept {
        return std::chrono::steady_clock::now() >= end_;
    }

private:
    std::chrono::steady_clock::time_point end_;
};

/// Blocks the calling (plain) thread until `pred()` or the timeout; returns `pred()`.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
    deadline d(timeout);
    while (!pred()) {
        if (d.expired()) {
            return pred();
        }
        std::this_thread::sleep_for(200us);
    }
    return true;
}

/// Runs `fn` on a detached thread and waits at most `timeout` for it. Returns false if it
/// did not finish in time (the thread is then leaked, still blocked: the caller reports a
/// hang instead of hanging the whole test binary). `fn` must only touch state it owns or
/// that is kept alive by shared ownership.
inline bool finishes_within(std::function<void()> fn, std::chrono::milliseconds timeout) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread([fn = std::move(fn), done] {
        fn();
        done->store(true, std::memory_order_release);
    }).detach();
    return wait_until([&] { return done->load(std::memory_order_acquire); }, timeout);
}

} // namespace tako_test
