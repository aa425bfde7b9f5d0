// Tests of tako::signal through the public API: signals raised with kill(getpid(), ...)
// and received by listeners in one task, in many tasks across workers, and in two runtimes.

#include <tako/signal.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tako::signal::signal_kind;
using tako::signal::unix_signal;

namespace {

void raise_signal(int sig) {
    ASSERT_EQ(::kill(::getpid(), sig), 0);
}

/// recv() bounded by `limit`: true if it completed successfully in time.
tako::task<bool> recv_within(tako::signal::signal_listener& l, std::chrono::milliseconds limit) {
    auto r = co_await tako::time::timeout(limit, l.recv());
    co_return r.has_value() && r->has_value();
}

/// Runs `body` on a 4-worker runtime whose threads all block `sig` (they inherit the mask
/// of the thread that builds it), while a plain thread that does not block it sleeps in
/// poll(2): the kernel can deliver `sig` only there. Delivery must not depend on the
/// runtime threads' masks. (It also keeps ThreadSanitizer, which runs a handler only when
/// its thread enters an intercepted call, from holding the signal on a worker asleep in a
/// raw futex wait.)
void run_with_signal_blocked_in_runtime(int sig, tako::task<void> (*body)()) {
    std::atomic<bool> stop{false};
    std::thread catcher([&stop] {
        while (!stop.load()) {
            ::poll(nullptr, 0, 20);
        }
    });
    ::sigset_t only;
    ::sigemptyset(&only);
    ::sigaddset(&only, sig);
    ::sigset_t old;
    ::pthread_sigmask(SIG_BLOCK, &only, &old);
    {
        auto rt = tako_test::mt(4).enable_all().build();
        rt.block_on(body());
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    stop.store(true);
    catcher.join();
}

} // namespace

TAKO_TEST(signal, listener_receives_a_signal) {
    auto usr1 = unix_signal(signal_kind::user_defined1());
    TAKO_CO_ASSERT(usr1);
    EXPECT_EQ(usr1->kind(), signal_kind::user_defined1());
    raise_signal(SIGUSR1);
    EXPECT_TRUE(co_await recv_within(*usr1, 5s));
    raise_signal(SIGUSR1);
    EXPECT_TRUE(co_await recv_within(*usr1, 5s)); // and the next one
}

TAKO_TEST(signal, deliveries_before_recv_coalesce) {
    auto usr2 = unix_signal(signal_kind::user_defined2());
    TAKO_CO_ASSERT(usr2);
    // current_thread: the driver does not run between these, so both are one broadcast.
    raise_signal(SIGUSR2);
    raise_signal(SIGUSR2);
    EXPECT_TRUE(co_await recv_within(*usr2, 5s));
    EXPECT_FALSE(co_await recv_within(*usr2, 50ms));
}

TAKO_TEST(signal, listener_sees_only_signals_after_it_was_created) {
    auto early = unix_signal(signal_kind::hangup());
    TAKO_CO_ASSERT(early);
    raise_signal(SIGHUP);
    TAKO_CO_ASSERT(co_await recv_within(*early, 5s)); // delivered and broadcast
    auto late = unix_signal(signal_kind::hangup());
    TAKO_CO_ASSERT(late);
    EXPECT_FALSE(co_await recv_within(*late, 50ms)); // the earlier one is not replayed
    raise_signal(SIGHUP);
    EXPECT_TRUE(co_await recv_within(*late, 5s));
    EXPECT_TRUE(co_await recv_within(*early, 5s));
}

tako::task<void> many_listeners_on_many_workers() {
    constexpr int listeners = 16;
    std::vector<tako::join_handle<bool>> hs;
    for (int i = 0; i < listeners; ++i) {
        auto l = unix_signal(signal_kind::user_defined1());
        EXPECT_TRUE(l); // made before the signal: each must see it
        if (!l) {
            co_return;
        }
        hs.push_back(tako::spawn(
            [](tako::signal::signal_listener l) -> tako::task<bool> {
                co_return co_await recv_within(l, 10s);
            },
            std::move(*l)));
    }
    co_await tako::time::sleep(10ms); // let them suspend on several workers
    raise_signal(SIGUSR1);
    int got = 0;
    for (auto& h : hs) {
        auto r = co_await h;
        got += r && *r ? 1 : 0;
    }
    EXPECT_EQ(got, listeners);
}

TEST(signal, every_listener_across_workers_gets_it) {
    run_with_signal_blocked_in_runtime(SIGUSR1, many_listeners_on_many_workers);
}

TEST(signal, listeners_in_two_runtimes_both_get_it) {
    std::atomic<int> ready{0};
    std::atomic<int> got{0};
    auto run = [&] {
        auto rt = tako_test::ct().enable_all().build();
        rt.block_on([&]() -> tako::task<void> {
            auto l = unix_signal(signal_kind::quit());
            EXPECT_TRUE(l);
            if (!l) {
                co_return;
            }
            ready.fetch_add(1);
            if (co_await recv_within(*l, 10s)) {
                got.fetch_add(1);
            }
        });
    };
    std::thread a(run);
    std::thread b(run);
    ASSERT_TRUE(tako_test::wait_until([&] { return ready.load() == 2; }));
    raise_signal(SIGQUIT);
    a.join();
    b.join();
    EXPECT_EQ(got.load(), 2);
}

TAKO_TEST(signal, recv_cancelled_by_timeout_then_works) {
    auto l = unix_signal(signal_kind::window_change());
    TAKO_CO_ASSERT(l);
    EXPECT_FALSE(co_await recv_within(*l, 20ms)); // cancelled while suspended
    raise_signal(SIGWINCH);
    EXPECT_TRUE(co_await recv_within(*l, 5s));
}

tako::task<void> abort_a_recv_then_listen_again() {
    auto l = unix_signal(signal_kind::alarm());
    EXPECT_TRUE(l);
    if (!l) {
        co_return;
    }
    auto h = tako::spawn(
        [](tako::signal::signal_listener l) -> tako::task<bool> {
            co_return (co_await l.recv()).has_value();
        },
        std::move(*l));
    co_await tako::time::sleep(10ms);
    h.abort();
    auto r = co_await h;
    EXPECT_FALSE(r);
    EXPECT_TRUE(!r && r.error().is_cancelled());
    auto later = unix_signal(signal_kind::alarm());
    EXPECT_TRUE(later);
    if (!later) {
        co_return;
    }
    raise_signal(SIGALRM); // the handler is still installed: this does not end the process
    EXPECT_TRUE(co_await recv_within(*later, 5s));
}

TEST(signal, recv_aborted_while_suspended_then_a_later_listener_works) {
    run_with_signal_blocked_in_runtime(SIGALRM, abort_a_recv_then_listen_again);
}

TAKO_TEST(signal, ctrl_c_completes_at_sigint) {
    // Keep a listener so that SIGINT is handled before ctrl_c's own task has started.
    auto guard = unix_signal(signal_kind::interrupt());
    TAKO_CO_ASSERT(guard);
    auto h = tako::spawn(tako::signal::ctrl_c());
    tako_test::deadline d;
    while (!h.is_finished() && !d.expired()) {
        raise_signal(SIGINT); // ctrl_c may not have made its listener yet: say it again
        co_await tako::time::sleep(5ms);
    }
    auto r = co_await h;
    TAKO_CO_ASSERT(r);
    EXPECT_TRUE(r->has_value());
}

TAKO_TEST(signal, moved_from_listener_is_closed) {
    auto l = unix_signal(signal_kind::user_defined2());
    TAKO_CO_ASSERT(l);
    auto moved = std::move(*l);
    auto r = co_await l->recv();
    TAKO_CO_ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), tako::io::errc::closed);
    EXPECT_EQ(moved.kind(), signal_kind::user_defined2());
}

TAKO_TEST(signal, signals_that_cannot_be_listened_to) {
    for (int sig : {0, -1, 65, 1000, SIGKILL, SIGSTOP, SIGSEGV, SIGILL, SIGFPE}) {
        auto l = unix_signal(signal_kind::from_raw(sig));
        TAKO_CO_ASSERT_FALSE(l);
        EXPECT_EQ(l.error(), std::errc::invalid_argument) << sig;
    }
    co_return;
}

TEST(signal, needs_a_runtime_with_io) {
    auto outside = unix_signal(signal_kind::user_defined1());
    ASSERT_FALSE(outside);
    EXPECT_EQ(outside.error(), tako::io::errc::no_runtime);
    auto rt = tako::runtime::builder::current_thread().enable_time().build();
    rt.block_on([]() -> tako::task<void> {
        auto l = unix_signal(signal_kind::user_defined1());
        EXPECT_FALSE(l);
        if (!l) {
            EXPECT_EQ(l.error(), tako::io::errc::io_disabled);
        }
        co_return;
    });
}
