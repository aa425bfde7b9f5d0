#pragma once
/// \file
/// `tako::join_handle<T>` and `tako::abort_handle`: owning and non-owning handles to a
/// spawned task.

#include <coroutine>
#include <expected>
#include <stdexcept>
#include <utility>

#include "tako/detail/task_cell.hpp"
#include "tako/detail/wait_list.hpp"
#include "tako/join_error.hpp"
#include "tako/task_id.hpp"

namespace tako {

/// Cancels a spawned task without owning its result (`tokio::task::AbortHandle`).
/// Copyable; every copy refers to the same task. Thread-safe.
class abort_handle {
public:
    abort_handle() noexcept = default;
    explicit abort_handle(detail::task_header* t) noexcept : task_(t) {
        if (task_ != nullptr) {
            task_->ref_inc();
        }
    }
    abort_handle(const abort_handle& o) noexcept : abort_handle(o.task_) {}
    abort_handle(abort_handle&& o) noexcept : task_(std::exchange(o.task_, nullptr)) {}
    abort_handle& operator=(abort_handle o) noexcept {
        std::swap(task_, o.task_);
        return *this;
    }
    ~abort_handle() {
        if (task_ != nullptr) {
            task_->ref_dec();
        }
    }

    /// Requests cancellation: the task's frames are destroyed at its next suspension point
    /// (or before it starts). No effect on a finished task or a started blocking task.
    void abort() const noexcept {
        if (task_ != nullptr) {
            detail::abort_task(task_);
        }
    }
    /// True once the task has finished, been cancelled, or failed.
    [[nodiscard]] bool is_finished() const noexcept {
        return task_ == nullptr || detail::is_complete(task_);
    }
    [[nodiscard]] task_id id() const noexcept { return task_id{task_ ? task_->id : 0}; }

private:
    detail::task_header* task_ = nullptr;
};

/// Owns the right to a spawned task's result (`tokio::task::JoinHandle`).
///
/// `co_await handle` gives `std::expected<T, join_error>`: the value, or why there is none
/// (cancelled, or the exception that escaped). Awaiting consumes the result; awaiting an
/// empty handle throws `std::logic_error`. Destroying the handle detaches the task: it keeps
/// running. Awaiting is cancel-safe: if the awaiting task is cancelled the result stays
/// in the handle.
template <class T>
class [[nodiscard]] join_handle {
    static_assert(!std::is_reference_v<T>, "spawned tasks return values, not references");

public:
    using result_type = std::expected<T, join_error>;

    join_handle() noexcept = default;
    explicit join_handle(detail::task_header* t) noexcept : task_(t) {}
    join_handle(join_handle&& o) noexcept : task_(std::exchange(o.task_, nullptr)) {}
    join_handle& operator=(join_handle&& o) noexcept {
        if (this != &o) {
            reset();
            task_ = std::exchange(o.task_, nullptr);
        }
        return *this;
    }
    ~join_handle() { reset(); }

    /// See `abort_handle::abort`.
    void abort() const noexcept {
        if (task_ != nullptr) {
            detail::abort_task(task_);
        }
    }
    /// True once the task has finished (or the handle is empty).
    [[nodiscard]] bool is_finished() const noexcept {
        return task_ == nullptr || detail::is_complete(task_);
    }
    [[nodiscard]] bool valid() const noexcept { return task_ != nullptr; }
    [[nodiscard]] task_id id() const noexcept { return task_id{task_ ? task_->id : 0}; }
    [[nodiscard]] tako::abort_handle get_abort_handle() const noexcept {
        return tako::abort_handle(task_);
    }
    /// The task's header (internal: for the runtime's own drivers).
    [[nodiscard]] detail::task_header* header() const noexcept { return task_; }
    /// Detaches the task (same as destroying the handle).
    void detach() noexcept { reset(); }

    /// Takes the result of a finished task. Precondition: `is_finished()` and `valid()`.
    result_type take_result() {
        detail::task_header* t = std::exchange(task_, nullptr);
        struct release {
            detail::task_header* t;
            ~release() { detail::drop_join_handle(t); }
        } guard{t};
        const task_id id{t->id};
        if (t->root_promise == nullptr) {
            return std::unexpected(join_error::cancelled(id));
        }
        auto* promise = static_cast<detail::task_promise<T>*>(t->root_promise);
        if (promise->exception) {
            return std::unexpected(
                join_error::failed(id, std::exchange(promise->exception, nullptr)));
        }
        if constexpr (std::is_void_v<T>) {
            return {};
        } else {
            return result_type(std::in_place, std::move(*promise->value));
        }
    }

    class awaiter {
    public:
        explicit awaiter(join_handle& h) noexcept : handle_(h) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        /// Unlinks from the task's join slot if the awaiting task is cancelled meanwhile.
        ~awaiter() {
            if (linked_) {
                detail::unregister_join_waiter(handle_.task_);
            }
        }
        bool await_ready() const {
            if (handle_.task_ == nullptr) {
                throw std::logic_error("tako::join_handle: awaiting an empty handle "
                                       "(moved-from, detached or already awaited)");
            }
            return false;
        }
        // Resumed by the scheduler once the finishing task has fired our waker (and so
        // opened gate_); a stale wake leaves us suspended.
        bool await_suspend(std::coroutine_handle<> h) {
            if (detail::is_complete(handle_.task_)) {
                return detail::complete_or_yield(h);
            }
            waker_ = detail::record_suspension(h, gate_);
            switch (detail::register_join_waiter(handle_.task_, waker_)) {
            case detail::join_wait::linked:
                linked_ = true;
                return true;
            case detail::join_wait::complete:
                return false;
            case detail::join_wait::busy:
                break;
            }
            throw std::logic_error("tako::join_handle: already awaited by another task; a "
                                   "join_handle has one awaiter at a time");
        }
        result_type await_resume() {
            linked_ = false; // completion already emptied the join slot
            return handle_.take_result();
        }

    private:
        join_handle& handle_;
        detail::wake_gate gate_;
        detail::waker waker_; ///< the task's join slot points here while linked_
        bool linked_ = false;
    };

    awaiter operator co_await() & noexcept { return awaiter(*this); }
    awaiter operator co_await() && noexcept { return awaiter(*this); }

private:
    void reset() noexcept {
        if (task_ != nullptr) {
            detail::drop_join_handle(std::exchange(task_, nullptr));
        }
    }

    detail::task_header* task_ = nullptr;
};

} // namespace tako
