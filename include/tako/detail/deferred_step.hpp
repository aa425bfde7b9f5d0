#pragma once
/// \file
/// `detail::deferred_step`: a tiny coroutine frame that an awaiter schedules in place of
/// the awaiting coroutine, to run one more step of its own when the task is next
/// resumed. It lets an awaiter that must yield (its task's budget is spent) try again
/// after the yield, which `await_resume` cannot do (it cannot suspend).
///
/// The frame starts suspended; the awaiter passes `handle()` to `yield_at`; when the task
/// runs again the frame's body runs a single `co_await` whose `await_suspend` does the
/// work and returns where the task goes next. The frame then stays suspended at that
/// `co_await` and its owner destroys it (a `deferred_step` destroys its frame when it is
/// destroyed or reassigned). Allocation failure gives an empty step; the caller falls back
/// to its ordinary path.

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <utility>

namespace tako::detail {

class deferred_step {
public:
    struct promise_type {
        deferred_step get_return_object() noexcept {
            return deferred_step(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        static deferred_step get_return_object_on_allocation_failure() noexcept { return {}; }
        static void* operator new(std::size_t n) noexcept { return ::operator new(n, std::nothrow); }
        static void operator delete(void* p) noexcept { ::operator delete(p); }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
    };

    deferred_step() noexcept = default;
    deferred_step(deferred_step&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    deferred_step& operator=(deferred_step&& o) noexcept {
        if (this != &o) {
            destroy();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~deferred_step() { destroy(); }

    [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(h_); }
    [[nodiscard]] std::coroutine_handle<> handle() const noexcept { return h_; }
    /// Destroys the frame (suspended, never running when this is called); idempotent.
    void destroy() noexcept {
        if (h_) {
            std::exchange(h_, nullptr).destroy();
        }
    }

private:
    explicit deferred_step(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

} // namespace tako::detail
