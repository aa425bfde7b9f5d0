#pragma once
/// \file
/// `tako::task<T>`: the lazy coroutine type every tako API returns and accepts.
///
/// A task does nothing until it is awaited or spawned. Awaiting it starts it and resumes
/// the awaiter by symmetric transfer when it finishes; an exception that escapes the body
/// is rethrown from the `co_await`. Tasks are move-only and `[[nodiscard]]`.
///
/// ```cpp
/// tako::task<int> answer() { co_return 42; }
/// tako::task<> caller() { int v = co_await answer(); }
/// ```

#include <coroutine>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tako/detail/frame_allocator.hpp"
#include "tako/detail/task_header.hpp"

namespace tako {

template <class T = void>
class task;

namespace detail {

/// Set by destroy_frames while it destroys a frame: a destructor that throws then lands in
/// unhandled_exception (the body's implicit handler), which records it here.
struct frame_destruction {
    const promise_base* promise;
    bool threw;
};
extern constinit thread_local frame_destruction* tls_destroying;

/// Allocates a task frame behind a `task_prefix_size` prefix (docs/task-layout.md).
[[nodiscard]] inline void* allocate_task_frame(std::size_t size) {
    auto* frame = static_cast<char*>(frame_allocate(size + task_prefix_size));
    frame += task_prefix_size;
    const frame_trailer trailer{static_cast<std::uint32_t>(size), 0, 0, 0};
    std::memcpy(frame - sizeof(frame_trailer), &trailer, sizeof(trailer));
    return frame;
}

/// Frees a task frame unless a spawned task's header lives in its prefix: then the block
/// is the header's, and its last reference frees it.
inline void free_task_frame(void* frame, std::size_t size) noexcept {
    auto* f = static_cast<char*>(frame);
    if (f[-1] != 0) {
        return; // hosts_task
    }
    frame_deallocate(f - task_prefix_size, size + task_prefix_size);
}

/// What every task<T> promise has: the awaiter to resume, and an escaped exception.
struct promise_base {
    std::coroutine_handle<> continuation;
    std::exception_ptr exception;

    static void* operator new(std::size_t size) { return allocate_task_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept {
        free_task_frame(frame, size);
    }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            std::coroutine_handle<> next = self.promise().continuation;
            if (!next) {
                // The root of a spawned task: hand control back to the scheduler, which
                // sees `done()` and completes the task.
                return std::noop_coroutine();
            }
            return transfer_to(next);
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept {
        exception = std::current_exception();
        if (tls_destroying != nullptr && tls_destroying->promise == this) {
            tls_destroying->threw = true;
        }
    }

    void rethrow_if_failed() {
        if (exception) {
            std::rethrow_exception(std::exchange(exception, nullptr));
        }
    }
};

template <class T>
struct task_promise final : promise_base {
    std::optional<T> value;

    task<T> get_return_object() noexcept;
    template <class U = T>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value.emplace(std::forward<U>(v));
    }
    T take_result() {
        rethrow_if_failed();
        return std::move(*value);
    }
};

template <class T>
struct task_promise<T&> final : promise_base {
    T* value = nullptr;

    task<T&> get_return_object() noexcept;
    void return_value(T& v) noexcept { value = std::addressof(v); }
    T& take_result() {
        rethrow_if_failed();
        return *value;
    }
};

template <>
struct task_promise<void> final : promise_base {
    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take_result() { rethrow_if_failed(); }
};

[[noreturn]] void throw_empty_task();
struct promise_base;
/// Destroys the suspended frame `h` (whose promise is `p`) and the chain it owns. An
/// exception thrown by a destructor inside it goes to the unhandled-exception hook of the
/// task being cancelled (stderr outside a task) instead of terminating, and the frame is
/// still freed.
void destroy_frames(std::coroutine_handle<> h, promise_base& p) noexcept;

} // namespace detail

/// A lazy coroutine producing a `T` (a value, a reference, or nothing).
///
/// Destroying a task that has not finished destroys its frame and everything it awaits:
/// this is how tako cancels work (docs/execution-model.md, *Cancellation*).
template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    task(task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() { destroy(); }

    /// True if this task owns a coroutine frame.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }
    /// True once the body has finished (returned or thrown).
    [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }

    /// The frame, still owned by this task (used by the combinators).
    [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }

    /// Gives up ownership of the frame (used by `spawn` and the combinators).
    [[nodiscard]] std::coroutine_handle<promise_type> release() noexcept {
        return std::exchange(handle_, nullptr);
    }

    struct awaiter {
        std::coroutine_handle<promise_type> handle;

        bool await_ready() const {
            if (!handle || handle.done()) {
                detail::throw_empty_task();
            }
            return false;
        }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
            handle.promise().continuation = caller;
            return detail::transfer_to(handle);
        }
        T await_resume() { return handle.promise().take_result(); }
    };

    /// Starts the task and resumes the caller with its result (or its exception).
    /// Awaiting an empty or already finished task throws `std::logic_error`.
    awaiter operator co_await() & noexcept { return awaiter{handle_}; }
    awaiter operator co_await() && noexcept { return awaiter{handle_}; }

private:
    void destroy() noexcept {
        if (handle_) {
            auto h = std::exchange(handle_, nullptr);
            detail::destroy_frames(h, h.promise());
        }
    }

    std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};
} // namespace detail

/// Satisfied by `tako::task<T>` for any `T`.
template <class T>
concept task_type = detail::is_task<std::remove_cvref_t<T>>::value;

} // namespace tako
