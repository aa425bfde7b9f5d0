// tako::sync::semaphore, tako::sync::mutex and tako::sync::rw_lock.

#include <tako/sync/mutex.hpp>
#include <tako/sync/rw_lock.hpp>
#include <tako/sync/semaphore.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using tako::sync::acquire_error;
using tako::sync::semaphore;
using tako::sync::semaphore_permit;
using tako::sync::try_acquire_error;
using tako_test::deadline;

/// Lets every queued task run (current_thread) a few times over.
tako::task<> settle(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) {
        co_await tako::yield_now();
    }
}

/// Waits (yielding to the runtime) until `pred()` holds or 5 s pass; returns `pred()`.
template <class Pred>
tako::task<bool> eventually(Pred pred) {
    deadline d;
    while (!pred()) {
        if (d.expired()) {
            co_return pred();
        }
        co_await tako::yield_now();
        std::this_thread::yield();
    }
    co_return true;
}

/// Joins `h` after letting the queued tasks run (current_thread). A task that still waits
/// then would wait forever (a permit was lost): that is reported, and the task aborted,
/// instead of hanging the test.
template <class T>
tako::task<typename tako::join_handle<T>::result_type> join_or_fail(tako::join_handle<T>& h) {
    co_await settle();
    if (!h.is_finished()) {
        ADD_FAILURE() << "the task still waits: a permit was lost";
        h.abort();
    }
    co_return co_await h;
}

/// Registers one coroutine body as two tests: `<name>_ct` on a current_thread runtime and
/// `<name>_mt` on a 2-worker multi_thread runtime.
#define BOTH_FLAVORS(suite, name)                                                                  \
    static tako::task<> suite##_##name##_both();                                                   \
    TAKO_TEST(suite, name##_ct) {                                                                  \
        co_await suite##_##name##_both();                                                          \
    }                                                                                              \
    TAKO_TEST_MT(suite, name##_mt) {                                                               \
        co_await suite##_##name##_both();                                                          \
    }                                                                                              \
    static tako::task<> suite##_##name##_both()

/// Acquires `n` permits, records `id` in `order`, then releases them (to the next waiter).
tako::task<> acquire_and_record(semaphore* sem, std::size_t n, int id, std::vector<int>* order) {
    auto p = co_await sem->acquire_many(n);
    if (p) {
        order->push_back(id);
    }
}

/// Acquires one permit and keeps it (forgets it) so the test can count grants.
tako::task<int> acquire_and_keep(semaphore* sem, int id, std::vector<int>* order) {
    auto p = co_await sem->acquire();
    if (!p) {
        co_return -1;
    }
    order->push_back(id);
    p->forget();
    co_return id;
}

} // namespace

// ------------------------------------------------------------------ semaphore: no waiting

TAKO_TEST(semaphore, try_acquire_counts_permits) {
    semaphore sem(3);
    EXPECT_EQ(sem.available_permits(), 3u);
    EXPECT_FALSE(sem.is_closed());
    {
        auto a = sem.try_acquire();
        TAKO_CO_ASSERT(a.has_value());
        EXPECT_EQ(a->num_permits(), 1u);
        auto b = sem.try_acquire_many(2);
        TAKO_CO_ASSERT(b.has_value());
        EXPECT_EQ(b->num_permits(), 2u);
        EXPECT_EQ(sem.available_permits(), 0u);
        auto c = sem.try_acquire();
        TAKO_CO_ASSERT(!c.has_value());
        EXPECT_EQ(c.error(), try_acquire_error::no_permits);
        auto zero = sem.try_acquire_many(0); // zero permits always succeed while open
        EXPECT_TRUE(zero.has_value());
    }
    EXPECT_EQ(sem.available_permits(), 3u); // destroyed permits came back
    auto too_many = sem.try_acquire_many(4);
    TAKO_CO_ASSERT(!too_many.has_value());
    EXPECT_EQ(too_many.error(), try_acquire_error::no_permits);
    EXPECT_FALSE(sem.try_acquire_many(semaphore::max_permits + 1).has_value());
    co_return;
}

TAKO_TEST(semaphore, permit_forget_merge_split_move) {
    semaphore sem(5);
    auto a = sem.try_acquire_many(2);
    auto b = sem.try_acquire_many(2);
    TAKO_CO_ASSERT(a.has_value() && b.has_value());
    a->merge(std::move(*b));
    EXPECT_EQ(a->num_permits(), 4u);
    EXPECT_EQ(b->num_permits(), 0u);
    EXPECT_EQ(sem.available_permits(), 1u);
    auto part = a->split(3);
    TAKO_CO_ASSERT(part.has_value());
    EXPECT_EQ(part->num_permits(), 3u);
    EXPECT_EQ(a->num_permits(), 1u);
    EXPECT_FALSE(a->split(2).has_value()); // holds only 1: nothing changes
    EXPECT_EQ(a->num_permits(), 1u);
    { auto dropped = std::move(*part); } // 3 back
    EXPECT_EQ(sem.available_permits(), 4u);
    a->forget(); // 1 gone for good
    { auto dropped = std::move(*a); }
    EXPECT_EQ(sem.available_permits(), 4u);

    semaphore_permit empty;
    EXPECT_EQ(empty.num_permits(), 0u);
    auto c = sem.try_acquire();
    TAKO_CO_ASSERT(c.has_value());
    empty = std::move(*c); // move-assign into an empty permit
    EXPECT_EQ(empty.num_permits(), 1u);
    EXPECT_EQ(sem.available_permits(), 3u);
    auto d = sem.try_acquire();
    TAKO_CO_ASSERT(d.has_value());
    empty = std::move(*d); // releases the one held, takes d's
    EXPECT_EQ(sem.available_permits(), 3u);

    semaphore other(1);
    auto e = other.try_acquire();
    TAKO_CO_ASSERT(e.has_value());
    EXPECT_THROW(empty.merge(std::move(*e)), std::invalid_argument);
    EXPECT_EQ(e->num_permits(), 1u); // a refused merge leaves both as they were
    co_return;
}

TAKO_TEST(semaphore, add_and_forget_permits) {
    semaphore sem(2);
    sem.add_permits(3);
    EXPECT_EQ(sem.available_permits(), 5u);
    EXPECT_EQ(sem.forget_permits(2), 2u);
    EXPECT_EQ(sem.available_permits(), 3u);
    EXPECT_EQ(sem.forget_permits(10), 3u); // only what is free
    EXPECT_EQ(sem.available_permits(), 0u);
    EXPECT_EQ(sem.forget_permits(1), 0u);
    sem.add_permits(0);
    EXPECT_EQ(sem.available_permits(), 0u);
    sem.add_permits(semaphore::max_permits);
    EXPECT_EQ(sem.available_permits(), semaphore::max_permits);
    EXPECT_THROW(sem.add_permits(1), std::overflow_error);
    EXPECT_EQ(sem.available_permits(), semaphore::max_permits);
    EXPECT_THROW(semaphore(semaphore::max_permits + 1), std::invalid_argument);
    EXPECT_THROW((void)sem.acquire_many(semaphore::max_permits + 1), std::invalid_argument);
    co_return;
}

TAKO_TEST(semaphore, acquire_ready_does_not_yield) {
    semaphore sem(2);
    bool other_ran = false;
    auto other = tako::spawn([&other_ran]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    auto p = co_await sem.acquire();
    TAKO_CO_ASSERT(p.has_value());
    auto q = co_await sem.acquire_many(0);
    TAKO_CO_ASSERT(q.has_value());
    EXPECT_EQ(q->num_permits(), 0u);
    EXPECT_FALSE(other_ran); // completed without suspending
    EXPECT_EQ(sem.available_permits(), 1u);
    (void)co_await other;
}

TAKO_TEST(semaphore, ready_loop_yields_to_other_tasks) {
    semaphore sem(1);
    bool other_ran = false;
    auto other = tako::spawn([&other_ran]() -> tako::task<> {
        other_ran = true;
        co_return;
    });
    int iterations = 0;
    while (!other_ran && iterations < 100'000) {
        ++iterations;
        auto p = co_await sem.acquire(); // always ready; the budget makes it yield
        EXPECT_TRUE(p.has_value());
    }
    EXPECT_TRUE(other_ran);
    EXPECT_LE(iterations, 200);
    EXPECT_EQ(sem.available_permits(), 1u);
    (void)co_await other;
}

// ------------------------------------------------------------------ semaphore: fairness

TAKO_TEST(semaphore, waiters_acquire_in_fifo_order) {
    semaphore sem(0);
    std::vector<int> order;
    std::vector<tako::join_handle<int>> hs;
    for (int i = 0; i < 5; ++i) {
        hs.push_back(tako::spawn(acquire_and_keep(&sem, i, &order)));
        co_await settle(); // park in spawn order
    }
    EXPECT_TRUE(order.empty());
    for (std::size_t i = 1; i <= 5; ++i) {
        sem.add_permits(1); // exactly one waiter gets it: the oldest
        co_await settle();
        EXPECT_EQ(order.size(), i);
    }
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ((co_await hs[static_cast<std::size_t>(i)]).value_or(-2), i);
    }
    EXPECT_EQ(sem.available_permits(), 0u);
}

// The same, whatever order the scheduler picks runnable tasks in.
TAKO_TEST_SEED(semaphore, waiters_acquire_in_fifo_order_shuffled, 12345) {
    semaphore sem(0);
    std::vector<int> order;
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 5; ++i) {
        hs.push_back(tako::spawn(acquire_and_record(&sem, 1, i, &order)));
        co_await settle(20);
    }
    sem.add_permits(1); // passes down the queue: each waiter records, then releases
    for (auto& h : hs) {
        (void)co_await h;
    }
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(sem.available_permits(), 1u);
}

// Five waiters parked in one task (join branches park in argument order), released from
// another worker: the grant order is FIFO.
TAKO_TEST_MT(semaphore, waiters_acquire_in_fifo_order_across_workers) {
    semaphore sem(0);
    std::vector<int> order;
    auto releaser = tako::spawn(
        [](semaphore* s) -> tako::task<> {
            co_await tako::time::sleep(5ms);
            s->add_permits(1);
        },
        &sem);
    (void)co_await tako::join(
        acquire_and_record(&sem, 1, 0, &order), acquire_and_record(&sem, 1, 1, &order),
        acquire_and_record(&sem, 1, 2, &order), acquire_and_record(&sem, 1, 3, &order),
        acquire_and_record(&sem, 1, 4, &order));
    (void)co_await releaser;
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(sem.available_permits(), 1u);
}

TAKO_TEST(semaphore, acquire_many_at_head_blocks_later_small_acquires) {
    semaphore sem(2);
    auto held = sem.try_acquire_many(2);
    TAKO_CO_ASSERT(held.has_value());
    std::vector<int> order;
    auto big = tako::spawn(acquire_and_record(&sem, 3, 3, &order));
    co_await settle();
    auto small = tako::spawn(acquire_and_record(&sem, 1, 1, &order));
    co_await settle();

    { auto release = std::move(*held); } // 2 free: assigned to `big`, which needs 3
    co_await settle();
    EXPECT_TRUE(order.empty()) << "the small acquire overtook the big one";
    EXPECT_EQ(sem.available_permits(), 0u);
    auto t = sem.try_acquire();
    TAKO_CO_ASSERT(!t.has_value());
    EXPECT_EQ(t.error(), try_acquire_error::no_permits); // the queue comes first

    sem.add_permits(1); // big completes (then releases its 3: small gets 1)
    (void)co_await big;
    (void)co_await small;
    EXPECT_EQ(order, (std::vector<int>{3, 1}));
    EXPECT_EQ(sem.available_permits(), 3u);
}

TAKO_TEST(semaphore, partial_assignment_is_not_counted_as_available) {
    semaphore sem(1);
    auto big = tako::spawn(
        [](semaphore* s) -> tako::task<std::size_t> {
            auto p = co_await s->acquire_many(4);
            co_return p ? p->num_permits() : 0;
        },
        &sem);
    co_await settle();
    EXPECT_EQ(sem.available_permits(), 0u); // the one free permit went to the waiter
    sem.add_permits(2);
    co_await settle();
    EXPECT_FALSE(big.is_finished());
    EXPECT_EQ(sem.available_permits(), 0u);
    sem.add_permits(2); // 4 assigned, 1 left over
    EXPECT_EQ((co_await big).value_or(0), 4u);
    EXPECT_EQ(sem.available_permits(), 5u);
}

// ------------------------------------------------------------------ semaphore: cancellation

TAKO_TEST(semaphore, aborted_waiter_leaves_queue) {
    semaphore sem(0);
    std::vector<int> order;
    auto a = tako::spawn(acquire_and_keep(&sem, 0, &order));
    co_await settle();
    auto b = tako::spawn(acquire_and_keep(&sem, 1, &order));
    co_await settle();
    a.abort(); // still waiting: it just leaves the queue
    auto ra = co_await a;
    EXPECT_TRUE(!ra.has_value() && ra.error().is_cancelled());
    sem.add_permits(1);
    EXPECT_EQ((co_await join_or_fail(b)).value_or(-2), 1);
    EXPECT_EQ(order, (std::vector<int>{1}));
    EXPECT_EQ(sem.available_permits(), 0u);
}

TAKO_TEST(semaphore, aborted_partially_assigned_waiter_passes_permits_on) {
    semaphore sem(0);
    std::vector<int> order;
    auto big = tako::spawn(acquire_and_record(&sem, 3, 3, &order));
    co_await settle();
    auto small = tako::spawn(acquire_and_record(&sem, 1, 1, &order));
    co_await settle();
    sem.add_permits(2); // both assigned to `big`
    co_await settle();
    EXPECT_TRUE(order.empty());
    EXPECT_EQ(sem.available_permits(), 0u);
    big.abort(); // its 2 go on: 1 to `small`, 1 becomes free
    (void)co_await big;
    (void)co_await join_or_fail(small);
    EXPECT_EQ(order, (std::vector<int>{1}));
    EXPECT_EQ(sem.available_permits(), 2u); // nothing lost: small released its one too
}

TAKO_TEST(semaphore, aborted_after_grant_before_resume_returns_permits) {
    semaphore sem(0);
    std::vector<int> order;
    auto a = tako::spawn(acquire_and_keep(&sem, 0, &order));
    co_await settle();
    auto b = tako::spawn(acquire_and_keep(&sem, 1, &order));
    co_await settle();
    sem.add_permits(1); // granted to `a`, which is queued but has not run...
    a.abort();          // ... and is cancelled before it resumes
    auto ra = co_await a;
    EXPECT_TRUE(!ra.has_value() && ra.error().is_cancelled());
    EXPECT_EQ((co_await join_or_fail(b)).value_or(-2), 1); // the permit passed to `b`
    EXPECT_EQ(order, (std::vector<int>{1}));

    // As the only waiter, the permit becomes free again.
    auto c = tako::spawn(acquire_and_keep(&sem, 2, &order));
    co_await settle();
    sem.add_permits(2);
    c.abort();
    (void)co_await c;
    EXPECT_EQ(sem.available_permits(), 2u);
}

TAKO_TEST_PAUSED(semaphore, acquire_losing_select_against_sleep_keeps_nothing) {
    semaphore sem(0);
    auto r = co_await tako::select(sem.acquire(), tako::time::sleep(10ms));
    EXPECT_EQ(r.index(), 1u);
    sem.add_permits(1);
    EXPECT_EQ(sem.available_permits(), 1u); // no stale waiter took it
    auto again = co_await tako::select(sem.acquire(), tako::time::sleep(10ms));
    TAKO_CO_ASSERT(again.index() == 0u);
    EXPECT_TRUE(std::get<0>(again).has_value());
    EXPECT_EQ(sem.available_permits(), 0u); // `again` holds it
}

// Granted while its task was about to resume another branch: the acquire loses the select
// after its permits were assigned, and gives them back.
TAKO_TEST(semaphore, acquire_granted_but_losing_select_returns_permits) {
    semaphore sem(0);
    tako::sync::notify n;
    auto t = tako::spawn(
        [](semaphore* s, tako::sync::notify* nt) -> tako::task<std::size_t> {
            auto r = co_await tako::select_biased(nt->notified(), s->acquire_many(2));
            co_return r.index();
        },
        &sem, &n);
    co_await settle();
    n.notify_one();
    sem.add_permits(2); // both branches fired before the task runs; biased: notify wins
    EXPECT_EQ((co_await t).value_or(9), 0u);
    EXPECT_EQ(sem.available_permits(), 2u);
}

TEST(semaphore, suspended_awaiters_destroyed_by_runtime_shutdown) {
    auto sem = std::make_shared<semaphore>(0);
    {
        tako::runtime rt = tako_test::ct().build();
        for (int i = 0; i < 4; ++i) {
            rt.spawn([sem]() -> tako::task<> { auto p = co_await sem->acquire_many(2); }).detach();
        }
        rt.block_on([]() -> tako::task<> { co_await settle(); });
        sem->add_permits(1); // a partial assignment to the head waiter
        EXPECT_EQ(sem->available_permits(), 0u);
    } // shutdown destroys the four suspended awaiters
    EXPECT_EQ(sem->available_permits(), 1u);
    sem->add_permits(1);
    EXPECT_EQ(sem->available_permits(), 2u);
}

TEST(semaphore, suspended_awaiters_destroyed_by_multi_thread_shutdown) {
    auto sem = std::make_shared<semaphore>(0);
    {
        tako::runtime rt = tako_test::mt().build();
        std::vector<tako::join_handle<void>> hs;
        for (int i = 0; i < 16; ++i) {
            hs.push_back(rt.spawn([sem]() -> tako::task<> {
                for (;;) {
                    auto p = co_await sem->acquire_many(3);
                    co_await tako::yield_now();
                }
            }));
        }
        sem->add_permits(4);
        std::this_thread::sleep_for(10ms);
    } // shutdown cancels waiters, holders and tasks between the two
    EXPECT_EQ(sem->available_permits(), 4u);
}

// ------------------------------------------------------------------ semaphore: close

TAKO_TEST(semaphore, close_fails_waiters_and_later_acquires) {
    semaphore sem(1);
    auto held = sem.try_acquire();
    TAKO_CO_ASSERT(held.has_value());
    auto big = tako::spawn(
        [](semaphore* s) -> tako::task<bool> {
            auto p = co_await s->acquire_many(2);
            co_return !p.has_value() && p.error() == acquire_error::closed;
        },
        &sem);
    co_await settle();
    sem.add_permits(1); // partially assigned to `big`
    auto small = tako::spawn(
        [](semaphore* s) -> tako::task<bool> {
            auto p = co_await s->acquire();
            co_return !p.has_value() && p.error() == acquire_error::closed;
        },
        &sem);
    co_await settle();
    EXPECT_EQ(sem.available_permits(), 0u);

    sem.close();
    EXPECT_TRUE(sem.is_closed());
    EXPECT_TRUE((co_await big).value_or(false));
    EXPECT_TRUE((co_await small).value_or(false));
    EXPECT_EQ(sem.available_permits(), 1u); // big's partial assignment is free again

    auto t = sem.try_acquire();
    TAKO_CO_ASSERT(!t.has_value());
    EXPECT_EQ(t.error(), try_acquire_error::closed);
    auto a = co_await sem.acquire();
    TAKO_CO_ASSERT(!a.has_value());
    EXPECT_EQ(a.error(), acquire_error::closed);
    { auto release = std::move(*held); } // held permits still come back
    EXPECT_EQ(sem.available_permits(), 2u);
    sem.add_permits(1);
    EXPECT_EQ(sem.available_permits(), 3u);
}

TAKO_TEST(semaphore, close_wakes_many_waiters) {
    semaphore sem(0);
    int failed = 0;
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 100; ++i) { // more than one wake batch
        hs.push_back(tako::spawn(
            [](semaphore* s, int* f) -> tako::task<> {
                auto p = co_await s->acquire();
                if (!p) {
                    ++*f;
                }
            },
            &sem, &failed));
    }
    co_await settle();
    sem.close();
    for (auto& h : hs) {
        (void)co_await h;
    }
    EXPECT_EQ(failed, 100);
}

TAKO_TEST(semaphore, add_permits_wakes_many_waiters) {
    semaphore sem(0);
    int got = 0;
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 100; ++i) {
        hs.push_back(tako::spawn(
            [](semaphore* s, int* g) -> tako::task<> {
                auto p = co_await s->acquire();
                if (p) {
                    ++*g;
                    p->forget();
                }
            },
            &sem, &got));
    }
    co_await settle();
    sem.add_permits(103);
    for (auto& h : hs) {
        (void)co_await h;
    }
    EXPECT_EQ(got, 100);
    EXPECT_EQ(sem.available_permits(), 3u);
}

// ------------------------------------------------------------------ semaphore: owned permits

BOTH_FLAVORS(semaphore, owned_permits_move_into_spawned_tasks) {
    auto sem = std::make_shared<semaphore>(2);
    std::weak_ptr<semaphore> weak = sem;
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 6; ++i) {
        auto p = co_await sem->acquire_owned();
        TAKO_CO_ASSERT(p.has_value());
        EXPECT_EQ(p->get_semaphore(), sem);
        hs.push_back(tako::spawn(
            [](tako::sync::owned_semaphore_permit param, std::atomic<int>* in,
               std::atomic<int>* mx) -> tako::task<> {
                // A local, released when the body ends. (A parameter lives in the root
                // frame, which the runtime frees only once the join_handle lets go.)
                auto held = std::move(param);
                const int now = in->fetch_add(1) + 1;
                int seen = mx->load();
                while (now > seen && !mx->compare_exchange_weak(seen, now)) {
                }
                co_await tako::time::sleep(1ms);
                in->fetch_sub(1);
                EXPECT_EQ(held.num_permits(), 1u);
            },
            std::move(*p), &inside, &most));
    }
    auto last = sem->try_acquire_many_owned(0);
    EXPECT_TRUE(last.has_value());
    sem.reset(); // the permits keep the semaphore alive
    EXPECT_FALSE(weak.expired());
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
    EXPECT_LE(most.load(), 2);
    { auto drop = std::move(*last); }
    EXPECT_TRUE(weak.expired()); // the last permit was the last owner
}

TAKO_TEST(semaphore, owned_operations_need_shared_ownership) {
    semaphore local(1);
    EXPECT_THROW((void)local.acquire_owned(), std::bad_weak_ptr);
    EXPECT_THROW((void)local.try_acquire_owned(), std::bad_weak_ptr);
    EXPECT_EQ(local.available_permits(), 1u);

    auto sem = std::make_shared<semaphore>(3);
    auto a = sem->try_acquire_owned();
    auto b = sem->try_acquire_many_owned(2);
    TAKO_CO_ASSERT(a.has_value() && b.has_value());
    auto c = sem->try_acquire_owned();
    TAKO_CO_ASSERT(!c.has_value());
    EXPECT_EQ(c.error(), try_acquire_error::no_permits);
    a->merge(std::move(*b));
    EXPECT_EQ(a->num_permits(), 3u);
    auto part = a->split(1);
    TAKO_CO_ASSERT(part.has_value());
    { auto drop = std::move(*part); }
    EXPECT_EQ(sem->available_permits(), 1u);
    auto d = co_await sem->acquire_many_owned(1);
    TAKO_CO_ASSERT(d.has_value());
    EXPECT_EQ(sem->available_permits(), 0u);
    auto e = tako::spawn(
        [](std::shared_ptr<semaphore> s) -> tako::task<bool> {
            auto p = co_await s->acquire_owned();
            co_return !p.has_value();
        },
        sem);
    co_await settle();
    sem->close();
    EXPECT_TRUE((co_await e).value_or(false));
}

// ------------------------------------------------------------------ semaphore: blocking

TAKO_TEST_MT(semaphore, blocking_acquire_from_plain_thread_waits_in_queue) {
    auto sem = std::make_shared<semaphore>(0);
    std::atomic<int> got{0};
    std::thread t([sem, &got] {
        auto p = sem->blocking_acquire_many(2);
        got.store(p.has_value() ? static_cast<int>(p->num_permits()) : -1);
    });
    co_await tako::time::sleep(20ms);
    EXPECT_EQ(got.load(), 0);
    sem->add_permits(1); // partial
    co_await tako::time::sleep(5ms);
    EXPECT_EQ(got.load(), 0);
    sem->add_permits(1);
    EXPECT_TRUE(co_await eventually([&] { return got.load() != 0; }));
    t.join();
    EXPECT_EQ(got.load(), 2);
    EXPECT_EQ(sem->available_permits(), 2u);

    // Closing wakes a blocked thread with an error.
    auto none = std::make_shared<semaphore>(0);
    std::atomic<int> result{0};
    std::thread u([none, &result] {
        auto p = none->blocking_acquire();
        result.store(!p.has_value() && p.error() == acquire_error::closed ? 1 : -1);
    });
    co_await tako::time::sleep(10ms);
    none->close();
    EXPECT_TRUE(co_await eventually([&] { return result.load() != 0; }));
    u.join();
    EXPECT_EQ(result.load(), 1);
}

BOTH_FLAVORS(semaphore, blocking_acquire_on_runtime_thread_throws) {
    semaphore sem(1);
    EXPECT_THROW((void)sem.blocking_acquire(), std::logic_error);
    EXPECT_EQ(sem.available_permits(), 1u);
    // A blocking-pool thread may block.
    auto h =
        tako::spawn_blocking([](semaphore* s) { return s->blocking_acquire().has_value(); }, &sem);
    EXPECT_TRUE((co_await h).value_or(false));
    EXPECT_EQ(sem.available_permits(), 1u);
}

// ------------------------------------------------------------------ semaphore: stress

// Tasks on two workers acquire 1..3 permits, or give up (select against a yield, or a
// sleep), or are aborted: at most `total` permits are ever out, and all come back.
TAKO_TEST_MT(semaphore, stress_acquire_cancel_conserves_permits) {
    constexpr std::size_t total = 4;
    auto sem = std::make_shared<semaphore>(total);
    auto out = std::make_shared<std::atomic<std::size_t>>(0);
    auto bad = std::make_shared<std::atomic<bool>>(false);
    std::vector<tako::join_handle<int>> hs;
    for (int k = 0; k < 8; ++k) {
        hs.push_back(tako::spawn(
            [](std::shared_ptr<semaphore> s, std::shared_ptr<std::atomic<std::size_t>> o,
               std::shared_ptr<std::atomic<bool>> b, int id) -> tako::task<int> {
                int got = 0;
                for (int i = 0; i < 400; ++i) {
                    const std::size_t n = static_cast<std::size_t>((i + id) % 3) + 1;
                    auto hold = [&](std::size_t k2) {
                        if (o->fetch_add(k2) + k2 > total) {
                            b->store(true);
                        }
                    };
                    if (i % 4 == 0) {
                        auto r = co_await tako::select(s->acquire_many(n), tako::yield_now());
                        if (r.index() == 0 && std::get<0>(r).has_value()) {
                            hold(n);
                            ++got;
                            o->fetch_sub(n);
                        }
                    } else {
                        auto p = co_await s->acquire_many(n);
                        if (p) {
                            hold(p->num_permits());
                            ++got;
                            co_await tako::yield_now();
                            o->fetch_sub(p->num_permits());
                        }
                    }
                }
                co_return got;
            },
            sem, out, bad, k));
    }
    // A few victims that are aborted while they wait or hold.
    for (int round = 0; round < 20; ++round) {
        auto victim = tako::spawn(
            [](std::shared_ptr<semaphore> s) -> tako::task<> {
                for (;;) {
                    auto p = co_await s->acquire_many(2);
                    co_await tako::yield_now();
                }
            },
            sem);
        co_await tako::yield_now();
        victim.abort();
        (void)co_await victim;
    }
    int total_got = 0;
    for (auto& h : hs) {
        total_got += (co_await h).value_or(0);
    }
    EXPECT_FALSE(bad->load()) << "more than " << total << " permits were out at once";
    EXPECT_GT(total_got, 0);
    EXPECT_EQ(sem->available_permits(), total);
}

// ------------------------------------------------------------------ mutex

TAKO_TEST_MT(mutex, mutual_exclusion_across_workers) {
    tako::sync::mutex<long> m(0);
    std::vector<tako::join_handle<void>> hs;
    for (int t = 0; t < 4; ++t) {
        hs.push_back(tako::spawn(
            [](tako::sync::mutex<long>* mx) -> tako::task<> {
                for (int i = 0; i < 10'000; ++i) {
                    auto g = co_await mx->lock();
                    const long v = *g; // a plain read-modify-write: racy without the lock
                    if (i % 64 == 0) {
                        co_await tako::yield_now(); // hold it across a suspension
                    }
                    *g = v + 1;
                }
            },
            &m));
    }
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
    auto g = m.try_lock();
    TAKO_CO_ASSERT(g.has_value());
    EXPECT_EQ(**g, 40'000);
}

// The budget-first acquire under a multi_thread runtime, raced against losing selects
// (a lock awaiter destroyed after a grant may have fired its wake: a stale wake for the
// task's next wait) and against aborts that land during the budget yield: the lock is
// never held twice, every increment made is counted, and nothing stays locked.
TAKO_TEST_MT(mutex, budget_yields_race_losing_selects_and_aborts) {
    tako::sync::mutex<long> m(0);
    std::atomic<long> made{0};
    std::vector<tako::join_handle<void>> hs;
    for (int t = 0; t < 6; ++t) {
        hs.push_back(tako::spawn(
            [](tako::sync::mutex<long>* mx, std::atomic<long>* made, int t) -> tako::task<> {
                for (int i = 0; i < 5'000; ++i) {
                    if ((i + t) % 7 == 0) {
                        // May lose to the yield: the lock awaiter is destroyed, granted or not.
                        auto r = co_await tako::select(mx->lock(), tako::yield_now());
                        if (r.index() == 0) {
                            auto& g = std::get<0>(r);
                            *g += 1;
                            made->fetch_add(1);
                        }
                        continue;
                    }
                    auto g = co_await mx->lock();
                    const long v = *g; // racy without the lock
                    *g = v + 1;
                    made->fetch_add(1);
                }
            },
            &m, &made, t));
    }
    for (int k = 0; k < 3; ++k) { // abort half of them part way, wherever they are
        co_await tako::yield_now();
        hs[static_cast<std::size_t>(2 * k)].abort();
    }
    for (auto& h : hs) {
        (void)co_await h;
    }
    auto g = m.try_lock();
    TAKO_CO_ASSERT(g.has_value());
    EXPECT_EQ(**g, made.load());
}

TAKO_TEST(mutex, try_lock_and_guard_moves) {
    tako::sync::mutex<std::string> m("a");
    {
        auto g = m.try_lock();
        TAKO_CO_ASSERT(g.has_value());
        EXPECT_EQ(**g, "a");
        (*g)->append("b");
        EXPECT_FALSE(m.try_lock().has_value());
        auto moved = std::move(*g);
        EXPECT_FALSE(m.try_lock().has_value());
        EXPECT_EQ(moved->size(), 2u);
    }
    auto g = co_await m.lock();
    EXPECT_EQ(*g, "ab");
    auto other = m.try_lock();
    EXPECT_FALSE(other.has_value());
    { auto unlock = std::move(g); }
    EXPECT_TRUE(m.try_lock().has_value());
    EXPECT_EQ(m.get_mut(), "ab");
    EXPECT_EQ(std::move(m).into_inner(), "ab");
}

TAKO_TEST(mutex, waiters_get_the_lock_in_order) {
    tako::sync::mutex<std::vector<int>> m;
    auto first = co_await m.lock();
    std::vector<tako::join_handle<void>> hs;
    for (int i = 0; i < 5; ++i) {
        hs.push_back(tako::spawn(
            [](tako::sync::mutex<std::vector<int>>* mx, int id) -> tako::task<> {
                auto g = co_await mx->lock();
                g->push_back(id);
            },
            &m, i));
        co_await settle();
    }
    { auto unlock = std::move(first); }
    for (auto& h : hs) {
        (void)co_await h;
    }
    EXPECT_EQ(m.get_mut(), (std::vector<int>{0, 1, 2, 3, 4}));
}

TAKO_TEST_PAUSED(mutex, lock_losing_select_leaves_it_unlocked) {
    tako::sync::mutex<int> m(1);
    auto g = co_await m.lock();
    auto r = co_await tako::select(m.lock(), tako::time::sleep(5ms));
    EXPECT_EQ(r.index(), 1u);
    { auto unlock = std::move(g); }
    auto again = m.try_lock(); // no leftover waiter took it
    TAKO_CO_ASSERT(again.has_value());
    EXPECT_EQ(**again, 1);
}

TAKO_TEST(mutex, aborted_after_handover_unlocks) {
    tako::sync::mutex<int> m(0);
    auto g = co_await m.lock();
    auto waiter = tako::spawn(
        [](tako::sync::mutex<int>* mx) -> tako::task<> {
            auto guard = co_await mx->lock();
            *guard = 99;
        },
        &m);
    co_await settle();
    { auto unlock = std::move(g); } // handed over to `waiter`...
    waiter.abort();                 // ...which is cancelled before it resumes
    (void)co_await waiter;
    auto again = m.try_lock();
    TAKO_CO_ASSERT(again.has_value());
    EXPECT_EQ(**again, 0);
}

// A task whose cooperative budget runs out at a lock yields *before* taking it: on one
// thread, tasks that never suspend while holding the lock never find it held (no convoy).
TAKO_TEST(mutex, spent_budget_yields_before_acquiring) {
    tako::sync::mutex<int> m(0);
    std::atomic<int> found_held{0};
    auto worker = [](tako::sync::mutex<int>* mx, std::atomic<int>* held) -> tako::task<> {
        for (int i = 0; i < 2000; ++i) { // many budgets' worth of locks
            if (!mx->try_lock()) {
                held->fetch_add(1);
            }
            auto g = co_await mx->lock();
            *g += 1;
        }
    };
    auto a = tako::spawn(worker, &m, &found_held);
    auto b = tako::spawn(worker, &m, &found_held);
    auto c = tako::spawn(worker, &m, &found_held);
    TAKO_CO_ASSERT(co_await a);
    TAKO_CO_ASSERT(co_await b);
    TAKO_CO_ASSERT(co_await c);
    EXPECT_EQ(found_held.load(), 0);
    EXPECT_EQ(**m.try_lock(), 6000);
}

// The same with a semaphore of 1 and an abort while the task waits for its turn after the
// budget yield: the scheduled acquire step is freed, and nothing is taken.
TAKO_TEST(semaphore_budget, abort_during_the_budget_yield_takes_nothing) {
    semaphore sem(1);
    auto spender = tako::spawn([](semaphore* s) -> tako::task<int> {
        int acquired = 0;
        for (;;) { // spends the budget on acquires that never wait
            auto p = co_await s->acquire();
            if (!p) {
                co_return acquired;
            }
            ++acquired;
        }
    }, &sem);
    for (int i = 0; i < 50; ++i) {
        co_await tako::yield_now(); // the spender runs a budget at a time between these
    }
    spender.abort();
    auto r = co_await spender;
    EXPECT_FALSE(r.has_value());
    EXPECT_EQ(sem.available_permits(), 1u); // nothing held by the cancelled task
}

BOTH_FLAVORS(mutex, owned_guard_moves_into_spawned_task) {
    auto m = std::make_shared<tako::sync::mutex<int>>(std::in_place, 5);
    std::weak_ptr<tako::sync::mutex<int>> weak = m;
    tako::sync::notify go;
    auto g = co_await m->lock_owned();
    EXPECT_EQ(g.get_mutex(), m);
    auto h = tako::spawn(
        [](tako::sync::owned_mutex_guard<int> param, tako::sync::notify* start) -> tako::task<int> {
            auto guard = std::move(param); // unlocks when the body ends
            co_await start->notified();
            *guard += 1;
            co_return *guard;
        },
        std::move(g), &go);
    EXPECT_FALSE(m->try_lock_owned().has_value()); // the task holds it
    m.reset();
    go.notify_one();
    EXPECT_EQ((co_await h).value_or(0), 6);
    EXPECT_TRUE(weak.expired()); // the guard was the last owner
}

TAKO_TEST_MT(mutex, blocking_lock_from_plain_thread) {
    auto m = std::make_shared<tako::sync::mutex<int>>(0);
    auto g = co_await m->lock();
    std::atomic<bool> done{false};
    std::thread t([m, &done] {
        auto guard = m->blocking_lock(); // waits for the task's guard
        *guard += 1;
        done.store(true);
    });
    co_await tako::time::sleep(20ms);
    EXPECT_FALSE(done.load());
    *g += 10;
    { auto unlock = std::move(g); }
    EXPECT_TRUE(co_await eventually([&] { return done.load(); }));
    t.join();
    auto after = co_await m->lock();
    EXPECT_EQ(*after, 11);
}

BOTH_FLAVORS(mutex, blocking_lock_on_runtime_thread_throws) {
    tako::sync::mutex<int> m(0);
    EXPECT_THROW((void)m.blocking_lock(), std::logic_error);
    EXPECT_TRUE(m.try_lock().has_value()); // still unlocked, nobody queued
    co_return;
}

// Tasks and plain threads contending on one mutex.
TAKO_TEST_MT(mutex, tasks_and_threads_share_a_mutex) {
    auto m = std::make_shared<tako::sync::mutex<long>>(0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
        threads.emplace_back([m] {
            for (int i = 0; i < 2000; ++i) {
                auto g = m->blocking_lock();
                *g += 1;
            }
        });
    }
    std::vector<tako::join_handle<void>> hs;
    for (int t = 0; t < 2; ++t) {
        hs.push_back(tako::spawn(
            [](std::shared_ptr<tako::sync::mutex<long>> mx) -> tako::task<> {
                for (int i = 0; i < 2000; ++i) {
                    auto g = co_await mx->lock();
                    *g += 1;
                }
            },
            m));
    }
    for (auto& h : hs) {
        (void)co_await h;
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(*co_await m->lock(), 8000);
}

// ------------------------------------------------------------------ rw_lock

TAKO_TEST(rw_lock, readers_share_writer_excludes) {
    tako::sync::rw_lock<int> l(7);
    {
        auto r1 = co_await l.read();
        auto r2 = co_await l.read();
        auto r3 = l.try_read();
        TAKO_CO_ASSERT(r3.has_value());
        EXPECT_EQ(*r1 + *r2 + **r3, 21);
        EXPECT_FALSE(l.try_write().has_value());
    }
    {
        auto w = co_await l.write();
        *w = 8;
        EXPECT_FALSE(l.try_read().has_value());
        EXPECT_FALSE(l.try_write().has_value());
    }
    auto w = l.try_write();
    TAKO_CO_ASSERT(w.has_value());
    EXPECT_EQ(**w, 8);
}

TAKO_TEST(rw_lock, waiting_writer_blocks_new_readers) {
    tako::sync::rw_lock<std::vector<std::string>> l;
    auto r1 = co_await l.read();
    auto writer = tako::spawn(
        [](tako::sync::rw_lock<std::vector<std::string>>* lk) -> tako::task<> {
            auto w = co_await lk->write();
            w->push_back("writer");
        },
        &l);
    co_await settle();
    EXPECT_FALSE(writer.is_finished()); // waits for r1
    EXPECT_FALSE(l.try_read().has_value()) << "a new reader overtook the waiting writer";
    auto reader = tako::spawn(
        [](tako::sync::rw_lock<std::vector<std::string>>* lk) -> tako::task<std::size_t> {
            auto r = co_await lk->read();
            co_return r->size();
        },
        &l);
    co_await settle();
    EXPECT_FALSE(reader.is_finished()); // queued behind the writer
    { auto release = std::move(r1); }
    (void)co_await writer;
    EXPECT_EQ((co_await reader).value_or(0), 1u); // it read after the write
}

TAKO_TEST(rw_lock, max_readers_limits_shares) {
    tako::sync::rw_lock<int> l(0, 2);
    EXPECT_EQ(l.max_readers(), 2u);
    auto r1 = co_await l.read();
    auto r2 = co_await l.read();
    EXPECT_FALSE(l.try_read().has_value());
    auto third = tako::spawn(
        [](tako::sync::rw_lock<int>* lk) -> tako::task<> { auto r = co_await lk->read(); }, &l);
    co_await settle();
    EXPECT_FALSE(third.is_finished());
    { auto release = std::move(r1); }
    EXPECT_TRUE((co_await third).has_value());
    EXPECT_THROW(tako::sync::rw_lock<int>(0, 0), std::invalid_argument);
}

TAKO_TEST(rw_lock, downgrade_keeps_writers_out) {
    tako::sync::rw_lock<int> l(1);
    auto w = co_await l.write();
    *w = 2;
    auto writer = tako::spawn(
        [](tako::sync::rw_lock<int>* lk) -> tako::task<> {
            auto w2 = co_await lk->write();
            *w2 = 3;
        },
        &l);
    co_await settle();
    auto r = std::move(w).downgrade();
    co_await settle();
    EXPECT_FALSE(writer.is_finished()); // our read share keeps it out
    EXPECT_EQ(*r, 2);
    { auto release = std::move(r); }
    (void)co_await writer;
    auto check = l.try_read();
    TAKO_CO_ASSERT(check.has_value());
    EXPECT_EQ(**check, 3);
}

TAKO_TEST(rw_lock, aborted_waiting_writer_lets_readers_in) {
    tako::sync::rw_lock<int> l(0);
    auto r1 = co_await l.read();
    auto writer = tako::spawn(
        [](tako::sync::rw_lock<int>* lk) -> tako::task<> {
            auto w = co_await lk->write();
            *w = 1;
        },
        &l);
    co_await settle();
    auto reader = tako::spawn(
        [](tako::sync::rw_lock<int>* lk) -> tako::task<int> {
            auto r = co_await lk->read();
            co_return *r;
        },
        &l);
    co_await settle();
    EXPECT_FALSE(reader.is_finished());
    writer.abort(); // gives back the shares assigned to it: the reader gets one
    (void)co_await writer;
    EXPECT_EQ((co_await reader).value_or(-1), 0);
    { auto release = std::move(r1); }
    EXPECT_TRUE(l.try_write().has_value()); // every share is back
}

// Readers and writers on two workers: a writer never sees a reader inside, readers see
// each other, and the count of writes is exact.
TAKO_TEST_MT(rw_lock, readers_and_writers_across_workers) {
    struct state {
        long writes = 0;
        mutable std::atomic<int> readers_inside{0}; // readers update it under a read guard
        mutable std::atomic<int> max_readers_inside{0};
        std::atomic<bool> bad{false};
    };
    tako::sync::rw_lock<state> l;
    std::vector<tako::join_handle<void>> hs;
    for (int t = 0; t < 6; ++t) {
        hs.push_back(tako::spawn(
            [](tako::sync::rw_lock<state>* lk) -> tako::task<> {
                for (int i = 0; i < 1000; ++i) {
                    auto r = co_await lk->read();
                    const int in = r->readers_inside.fetch_add(1) + 1;
                    int mx = r->max_readers_inside.load();
                    while (in > mx && !r->max_readers_inside.compare_exchange_weak(mx, in)) {
                    }
                    if (i % 16 == 0) {
                        co_await tako::yield_now();
                    }
                    r->readers_inside.fetch_sub(1);
                }
            },
            &l));
    }
    for (int t = 0; t < 2; ++t) {
        hs.push_back(tako::spawn(
            [](tako::sync::rw_lock<state>* lk) -> tako::task<> {
                for (int i = 0; i < 500; ++i) {
                    auto w = co_await lk->write();
                    if (w->readers_inside.load() != 0) {
                        w->bad.store(true);
                    }
                    const long v = w->writes;
                    if (i % 32 == 0) {
                        co_await tako::yield_now();
                    }
                    w->writes = v + 1;
                }
            },
            &l));
    }
    for (auto& h : hs) {
        EXPECT_TRUE((co_await h).has_value());
    }
    auto r = co_await l.read();
    EXPECT_FALSE(r->bad.load()) << "a writer ran while a reader was inside";
    EXPECT_EQ(r->writes, 1000);
    EXPECT_GE(r->max_readers_inside.load(), 1);
}

TAKO_TEST_MT(rw_lock, blocking_read_and_write_from_plain_threads) {
    auto l = std::make_shared<tako::sync::rw_lock<int>>(0);
    auto w = co_await l->write();
    std::atomic<int> phase{0};
    std::thread reader([l, &phase] {
        auto r = l->blocking_read();
        phase.store(*r);
    });
    co_await tako::time::sleep(10ms);
    EXPECT_EQ(phase.load(), 0);
    *w = 5;
    { auto unlock = std::move(w); }
    EXPECT_TRUE(co_await eventually([&] { return phase.load() != 0; }));
    reader.join();
    EXPECT_EQ(phase.load(), 5);
    std::thread writer([l] {
        auto g = l->blocking_write();
        *g = 6;
    });
    writer.join();
    EXPECT_EQ(*co_await l->read(), 6);
    EXPECT_THROW((void)l->blocking_read(), std::logic_error);
    EXPECT_THROW((void)l->blocking_write(), std::logic_error);
}
