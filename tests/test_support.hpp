#pragma once
// Helpers shared by the runtime tests: lifetime probes, bounded waits, a watchdog that
// turns a hang into a test failure, runtime builders and checks on finished join handles.

#include <tako/tako.hpp>

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tako_test {

using namespace std::chrono_literals;

/// The bytes of `s` (for a write).
inline std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

/// `b` as text (what a read got).
inline std::string text_of(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Reads `s` (a socket stream) until end of stream, failing the test on a read error.
template <class Stream>
tako::task<std::string> read_all(Stream& s) {
    std::string out;
    std::array<std::byte, 4096> buf;
    for (;;) {
        auto n = co_await s.read(buf);
        EXPECT_TRUE(n.has_value()) << n.error().message();
        if (!n || *n == 0) {
            co_return out;
        }
        out += text_of(std::span(buf).first(*n));
    }
}

/// A connected TCP pair on 127.0.0.1: (the connecting side, the accepted side).
inline tako::task<std::pair<tako::net::tcp_stream, tako::net::tcp_stream>> tcp_pair() {
    auto l = co_await tako::net::tcp_listener::bind("127.0.0.1:0");
    EXPECT_TRUE(l.has_value());
    auto addr = *l->local_addr();
    auto [client, accepted] =
        co_await tako::join(tako::net::tcp_stream::connect(addr), l->accept());
    EXPECT_TRUE(client.has_value());
    EXPECT_TRUE(accepted.has_value());
    co_return std::pair<tako::net::tcp_stream, tako::net::tcp_stream>(std::move(*client),
                                                                      std::move(accepted->first));
}

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

/// A fresh directory under $TMPDIR (or /tmp), named after `what`, removed with everything
/// in it.
struct temp_dir {
    std::string path;
    explicit temp_dir(std::string_view what = "tmp") {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                              "/tako-" + std::string(what) + "-XXXXXX";
        path = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
        EXPECT_FALSE(path.empty());
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    [[nodiscard]] std::string operator/(std::string_view name) const {
        return path + "/" + std::string(name);
    }
};

/// True if `r` (an expected) failed with an error equal to `e` (compared as a condition,
/// so errno codes of the system category match `std::errc` values).
template <class R, class E>
bool fails_with(const R& r, E e) {
    return !r.has_value() && r.error() == e;
}

/// A point in time after which a bounded wait gives up.
class deadline {
public:
    explicit deadline(std::chrono::milliseconds d = 5000ms)
        : end_(std::chrono::steady_clock::now() + d) {}
    [[nodiscard]] bool expired() const noexcept { return std::chrono::steady_clock::now() >= end_; }

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

/// A coroutine that throws `std::runtime_error(what)` when it runs.
inline tako::task<int> throw_runtime_error(std::string what) {
    throw std::runtime_error(what);
    co_return 0;
}

/// Yields until every handle in `hs` reports finished (or 5 s pass).
template <class H>
tako::task<bool> yield_until_finished(std::vector<H>* hs) {
    deadline d;
    for (;;) {
        const bool all =
            std::all_of(hs->begin(), hs->end(), [](const H& h) { return h.is_finished(); });
        if (all) {
            co_return true;
        }
        if (d.expired()) {
            co_return false;
        }
        co_await tako::yield_now();
    }
}

/// A current_thread runtime builder.
inline tako::runtime::builder ct() {
    return tako::runtime::builder::current_thread();
}

/// A multi_thread runtime builder with `n` workers.
inline tako::runtime::builder mt(std::size_t n = 2) {
    return tako::runtime::builder::multi_thread().worker_threads(n);
}

/// Both flavors, for tests that must hold on each. A test file instantiates it with
/// `INSTANTIATE_TEST_SUITE_P(runtime, runtime_flavors, all_flavors, flavor_name)`.
class runtime_flavors : public testing::TestWithParam<tako::runtime_flavor> {
protected:
    tako::runtime::builder builder() const {
        return GetParam() == tako::runtime_flavor::current_thread ? ct() : mt();
    }
};

inline const auto all_flavors =
    testing::Values(tako::runtime_flavor::current_thread, tako::runtime_flavor::multi_thread);

inline std::string flavor_name(const testing::TestParamInfo<tako::runtime_flavor>& info) {
    return info.param == tako::runtime_flavor::current_thread ? "current_thread" : "multi_thread";
}

/// Spawns `n` tasks that each yield once and return 1, joins them all and returns the sum
/// of their results: `n` when every one ran to completion.
inline tako::task<int> sum_of_yielding_tasks(int n) {
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < n; ++i) {
        hs.push_back(tako::spawn([]() -> tako::task<int> {
            co_await tako::yield_now();
            co_return 1;
        }));
    }
    int s = 0;
    for (auto& h : hs) {
        s += (co_await h).value_or(0);
    }
    co_return s;
}

/// Succeeds if every handle in `hs` has finished and its task was cancelled. Takes the
/// results; stops at the first handle that fails the check.
template <class Handles>
testing::AssertionResult all_cancelled(Handles& hs) {
    std::size_t i = 0;
    for (auto& h : hs) {
        if (!h.is_finished()) {
            return testing::AssertionFailure() << "task " << i << " has not finished";
        }
        auto r = h.take_result();
        if (r.has_value()) {
            return testing::AssertionFailure() << "task " << i << " returned instead of "
                                               << "being cancelled";
        }
        if (!r.error().is_cancelled()) {
            return testing::AssertionFailure() << "task " << i << " failed without being "
                                               << "cancelled";
        }
        ++i;
    }
    return testing::AssertionSuccess();
}

/// Succeeds if every handle in `hs` has finished and its task either returned `want` or
/// was cancelled (a shutdown may catch a task before or after it returns). Takes the
/// results; stops at the first handle that fails the check.
template <class Handles, class T>
testing::AssertionResult all_returned_or_cancelled(Handles& hs, const T& want) {
    std::size_t i = 0;
    for (auto& h : hs) {
        if (!h.is_finished()) {
            return testing::AssertionFailure() << "task " << i << " has not finished";
        }
        auto r = h.take_result();
        if (r.has_value() ? !(*r == want) : !r.error().is_cancelled()) {
            auto f = testing::AssertionFailure() << "task " << i << " ";
            if (r.has_value()) {
                f << "returned " << testing::PrintToString(*r) << " instead of "
                  << testing::PrintToString(want);
            } else {
                f << "failed without being cancelled";
            }
            return f;
        }
        ++i;
    }
    return testing::AssertionSuccess();
}

/// Records each write it receives.
struct recording_writer {
    std::vector<std::string> writes;
    int flushes = 0;

    tako::task<tako::io::result<std::size_t>> write(std::span<const std::byte> buf) {
        writes.push_back(text_of(buf));
        co_return buf.size();
    }
    tako::task<tako::io::result<void>> flush() {
        ++flushes;
        co_return tako::io::result<void>{};
    }
};

/// Writes `data` in two parts split at `split`, with a yield between, then ends the stream.
inline tako::task<void> write_split(tako::io::duplex_stream w, std::string data,
                                    std::size_t split) {
    const auto all = bytes_of(data);
    EXPECT_TRUE(co_await tako::io::write_all(w, all.first(split)));
    co_await tako::yield_now();
    EXPECT_TRUE(co_await tako::io::write_all(w, all.subspan(split)));
    (void)w.shutdown(); // the frame (and `w`) lives until the task is joined
}

} // namespace tako_test
