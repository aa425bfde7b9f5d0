#pragma once
/// \file
/// `tako::sync::mpsc`: multi-producer, single-consumer channels (`tokio::sync::mpsc`).
///
/// ```cpp
/// #include <tako/sync/mpsc.hpp>
///
/// tako::task<void> produce(tako::sync::mpsc::sender<int> tx, int from) {
///     for (int i = from; i < from + 3; ++i) {
///         auto sent = co_await tx.send(i); // std::expected<void, send_error<int>>
///         if (!sent) {
///             co_return; // the receiver is gone: the value came back in the error
///         }
///     }
/// }
///
/// tako::task<int> consume() {
///     auto [tx, rx] = tako::sync::mpsc::channel<int>(16); // at most 16 values buffered
///     tako::spawn(produce, tx, 0).detach();               // a copy is one more sender
///     tako::spawn(produce, std::move(tx), 100).detach();
///     int sum = 0;
///     while (auto v = co_await rx.recv()) { // nullopt once every sender is gone and drained
///         sum += *v;
///     }
///     co_return sum;
/// }
/// ```
///
/// `channel<T>(capacity)` makes a bounded channel: `send` waits while `capacity` values are
/// buffered (back-pressure), and waiting senders get slots in the order they asked (FIFO).
/// `unbounded_channel<T>()` makes one whose `send` never waits. Each `sender` copy counts:
/// once the last sender (and every outstanding `permit`) is gone, the receiver drains what
/// is buffered and then receives `std::nullopt`. Dropping or `close()`-ing the receiver
/// makes every send fail and hand its value back.
///
/// Values from one sender arrive in the order it sent them. Values are stored in blocks of
/// 32 slots, recycled as the receiver empties them: sending does not allocate per message.
/// Thread-safe; never resumes a task inline (wakes are scheduled).
///
/// Cancel safety (what happens when the awaiting task is cancelled, or loses a `select`):
/// - `recv`, `recv_many`: cancel-safe. A value leaves the channel only when the receive
///   completes; a value a sender already handed to a cancelled receive stays first in line.
///   So `tako::select(rx.recv(), stop.notified())` in a loop never loses a value.
/// - `reserve`, `reserve_many`: cancel-safe apart from the place in the queue of waiting
///   senders: slots granted to a cancelled reserve pass to the next waiting sender.
/// - `closed`: cancel-safe.
/// - `send`, `send_timeout`: a cancelled send that had not yet sent its value drops it (the
///   value is destroyed with the awaitable) and loses its place in the queue. To never lose
///   a value, `reserve()` first (cancel-safe) and then `permit.send(value)`, which cannot
///   wait or fail.
///
/// Lifetimes: an awaitable returned by `send`, `reserve`, `closed`, `recv`… refers to the
/// channel without owning it; keep the handle that made it (or another handle of the same
/// channel) alive until the awaitable is gone, as a task does when it awaits its own handle.
/// Each `recv()` call returns a fresh awaitable, so losing a `select` destroys that
/// awaitable, never the receiver. A sender passed by value to a spawned coroutine lives in
/// its frame until the task is joined or its `join_handle` dropped, not until the body
/// returns (see spawn.hpp): move it into a local (`auto tx = std::move(tx_param);`) when
/// the stream must end as soon as the producer's body does.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "tako/detail/frame_allocator.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/task_header.hpp"
#include "tako/detail/wait_list.hpp"
#include "tako/task.hpp"
#include "tako/time/instant.hpp"
#include "tako/time/timeout.hpp"

namespace tako::sync::mpsc {

// ------------------------------------------------------------------------- errors

/// A send failed because the receiver is gone or closed; holds the value that was not sent
/// (`tokio::sync::mpsc::error::SendError`).
template <class T>
struct send_error {
    T value; ///< the value, handed back
};

/// Why `try_send` did not send.
enum class try_send_error_kind : unsigned char {
    full,   ///< every slot of the bounded channel is taken (or promised to waiting senders)
    closed, ///< the receiver is gone or closed
};

/// `try_send` did not send; holds the value (`TrySendError`).
template <class T>
struct try_send_error {
    try_send_error_kind kind; ///< why
    T value;                  ///< the value, handed back

    /// True if the channel was full.
    [[nodiscard]] bool is_full() const noexcept { return kind == try_send_error_kind::full; }
    /// True if the receiver is gone or closed.
    [[nodiscard]] bool is_closed() const noexcept { return kind == try_send_error_kind::closed; }
};

/// Why `send_timeout` did not send.
enum class send_timeout_error_kind : unsigned char {
    timeout, ///< no slot became free in time
    closed,  ///< the receiver is gone or closed
};

/// `send_timeout` did not send; holds the value (`SendTimeoutError`).
template <class T>
struct send_timeout_error {
    send_timeout_error_kind kind; ///< why
    T value;                      ///< the value, handed back

    /// True if the time ran out.
    [[nodiscard]] bool is_timeout() const noexcept {
        return kind == send_timeout_error_kind::timeout;
    }
    /// True if the receiver is gone or closed.
    [[nodiscard]] bool is_closed() const noexcept {
        return kind == send_timeout_error_kind::closed;
    }
};

/// `reserve` / `reserve_many` failed: the receiver is gone or closed (`SendError<()>`).
struct closed_error {
    friend constexpr bool operator==(closed_error, closed_error) noexcept = default;
};

/// Why `try_reserve` / `try_reserve_many` reserved nothing.
enum class try_reserve_error : unsigned char {
    full,   ///< not enough free slots now
    closed, ///< the receiver is gone or closed
};

/// Why `try_recv` received nothing (`TryRecvError`).
enum class try_recv_error : unsigned char {
    empty,        ///< nothing buffered now, but senders may still send
    disconnected, ///< nothing buffered and nothing will come: every sender (and permit) is
                  ///< gone, or the receiver was closed
};

// ------------------------------------------------------------------------- internals

namespace detail {

/// Values per block. Blocks are allocated on demand and recycled as the receiver empties
/// them (a few are kept spare), so a channel in steady state allocates nothing.
inline constexpr std::size_t block_slots = 32;
inline constexpr std::size_t max_spare_blocks = 4;

/// Throws `std::logic_error` naming `what` if the calling thread drives tako tasks (a
/// runtime worker or a `block_on` thread): a blocking call there could deadlock it.
void check_can_block(const char* what);

/// Storage for `block_slots` values; which slots hold one is known to the queue.
template <class T>
struct block {
    block* next = nullptr;
    alignas(T) std::byte storage[block_slots * sizeof(T)];

    void* raw(std::size_t i) noexcept { return storage + i * sizeof(T); }
    T& at(std::size_t i) noexcept { return *std::launder(reinterpret_cast<T*>(raw(i))); }

    static constexpr bool over_aligned = alignof(block) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    static block* create() {
        void* p = nullptr;
        if constexpr (over_aligned) {
            p = ::operator new (sizeof(block), std::align_val_t{alignof(block)});
        } else {
            p = tako::detail::frame_allocate(sizeof(block));
        }
        return ::new (p) block;
    }
    static void destroy(block* b) noexcept {
        b->~block();
        if constexpr (over_aligned) {
            ::operator delete (b, sizeof(block), std::align_val_t{alignof(block)});
        } else {
            tako::detail::frame_deallocate(b, sizeof(block));
        }
    }
};

/// A FIFO of values in a chain of blocks, plus a few spare blocks. Not synchronized: the
/// channel's lock guards it. Pushing never allocates: the caller first makes sure of a
/// slot (`has_room`, else `add_spare` a block allocated outside the lock).
template <class T>
class slot_queue {
public:
    slot_queue() noexcept = default;
    slot_queue(const slot_queue&) = delete;
    slot_queue& operator=(const slot_queue&) = delete;
    ~slot_queue() { clear(); }

    /// Values held. Exact under the lock; may be read without it as an estimate.
    [[nodiscard]] std::size_t size() const noexcept { return len_.load(std::memory_order_relaxed); }
    /// True if `push` has a slot without allocating.
    [[nodiscard]] bool has_room() const noexcept {
        return (tail_ != nullptr && tail_pos_ < block_slots) || spare_ != nullptr;
    }
    void add_spare(block<T>* b) noexcept {
        b->next = spare_;
        spare_ = b;
        ++spare_count_;
    }

    /// Precondition: `has_room()`. If T's move constructor throws, nothing changed.
    void push(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) {
        if (tail_ != nullptr && tail_pos_ < block_slots) {
            ::new (tail_->raw(tail_pos_)) T(std::move(v));
            ++tail_pos_;
        } else {
            block<T>* b = spare_;
            ::new (b->raw(0)) T(std::move(v));
            spare_ = b->next;
            --spare_count_;
            b->next = nullptr;
            if (tail_ != nullptr) {
                tail_->next = b;
            } else {
                head_ = b;
                head_pos_ = 0;
            }
            tail_ = b;
            tail_pos_ = 1;
        }
        set_size(size() + 1);
    }

    /// Precondition: `size() > 0`. The caller moves from it, then calls `drop_front`.
    [[nodiscard]] T& front() noexcept { return head_->at(head_pos_); }
    /// Destroys the front value and frees its slot.
    void drop_front() noexcept {
        head_->at(head_pos_).~T();
        ++head_pos_;
        const std::size_t n = size() - 1;
        set_size(n);
        if (n == 0) {
            head_pos_ = tail_pos_ = 0; // empty: reuse the same block from its start
        } else if (head_pos_ == block_slots) {
            block<T>* b = head_;
            head_ = b->next;
            head_pos_ = 0;
            recycle(b);
        }
    }

    /// Moves every value (and the blocks holding them) to `into`, which holds none.
    void take_values(slot_queue& into) noexcept {
        into.head_ = std::exchange(head_, nullptr);
        into.tail_ = std::exchange(tail_, nullptr);
        into.head_pos_ = std::exchange(head_pos_, 0);
        into.tail_pos_ = std::exchange(tail_pos_, 0);
        into.set_size(size());
        set_size(0);
    }

private:
    void set_size(std::size_t n) noexcept { len_.store(n, std::memory_order_relaxed); }
    void recycle(block<T>* b) noexcept {
        if (spare_count_ < max_spare_blocks) {
            add_spare(b);
        } else {
            block<T>::destroy(b);
        }
    }
    void clear() noexcept {
        while (size() != 0) {
            drop_front();
        }
        if (head_ != nullptr) {
            block<T>::destroy(head_); // empty: head_ == tail_
        }
        head_ = tail_ = nullptr;
        while (spare_ != nullptr) {
            block<T>::destroy(std::exchange(spare_, spare_->next));
        }
        spare_count_ = 0;
    }

    // Hot fields first (the channel keeps them on its lock's cache line).
    block<T>* head_ = nullptr;        ///< oldest value's block
    block<T>* tail_ = nullptr;        ///< newest value's block (next is null)
    std::atomic<std::size_t> len_{0}; ///< written under the lock only
    std::uint32_t head_pos_ = 0;
    std::uint32_t tail_pos_ = 0;
    block<T>* spare_ = nullptr;
    std::size_t spare_count_ = 0;
};

/// Where a waiter stands. Written under the channel's lock while the waiter may be linked;
/// read without it only by the waiting side, when no one else can touch the waiter (idle,
/// done, or after its wake).
enum class wait_state : unsigned char {
    idle,    ///< not linked, nothing decided
    waiting, ///< linked in one of the channel's lists
    ready,   ///< send/reserve: its slots are granted; receive: a value is claimed for it
    sent,    ///< send: its value was moved into the channel for it
    taken,   ///< receive: it took its value(s) itself (no wake involved)
    closed,  ///< nothing more to wait for (send: the receiver is gone; receive: drained)
    done,    ///< resumed and finished with the channel
};

/// A plain thread blocked in `blocking_send` / `blocking_recv`.
struct thread_signal {
    std::mutex m;
    std::condition_variable cv;
    bool posted = false;

    void wait() {
        std::unique_lock g(m);
        cv.wait(g, [this] { return posted; });
    }
    /// Under `m`, so the waiting thread cannot return (and destroy this) before it ends.
    void post() noexcept {
        std::lock_guard g(m);
        posted = true;
        cv.notify_one();
    }
};

/// One waiting sender, receiver or `closed()`: a task (its `wait_node` is armed) or a
/// plain thread (`thread` is set; the node is never armed).
struct waiter : tako::detail::wait_node {
    std::atomic<wait_state> state{wait_state::idle};
    thread_signal* thread = nullptr;
    void* value = nullptr;         ///< a send: its `std::optional<T>`, handed over when granted
    std::size_t needed = 0;        ///< send / reserve: slots it waits for
    std::size_t acquired = 0;      ///< of which granted so far (a strict FIFO head takes them)
    waiter* next_thread = nullptr; ///< a fired thread waiter, in a `wakes`

    [[nodiscard]] wait_state get() const noexcept { return state.load(std::memory_order_relaxed); }
    void set(wait_state s) noexcept { state.store(s, std::memory_order_relaxed); }
};

inline waiter& as_waiter(tako::detail::wait_node* n) noexcept {
    return static_cast<waiter&>(*n);
}

/// Waiters fired under the lock, woken after it. Tasks: the first in a plain `task_ref`
/// (the common case: one wake per operation, and nothing to set up when there is none),
/// the rest in a `wake_list` built on first need. Threads: through their signal, linked by
/// `next_thread`. Holds at most `wake_list::capacity` tasks; a loop that fires many checks
/// `has_room` and flushes (unlocked) when it is false.
class wakes {
public:
    wakes() noexcept = default;
    wakes(const wakes&) = delete;
    wakes& operator=(const wakes&) = delete;
    ~wakes() {
        flush();
        if (more_ != nullptr) {
            more_->~wake_list();
        }
    }

    /// Room for one more waiter and the receiver its value may wake.
    [[nodiscard]] bool has_room() const noexcept {
        return count_ + 2 <= tako::detail::wake_list::capacity;
    }
    /// `w` is unlinked and told its outcome; after this it belongs to its owner again.
    void add(waiter& w) noexcept {
        if (w.thread != nullptr) {
            w.next_thread = threads_; // the thread is blocked until posted: w stays alive
            threads_ = &w;
            return;
        }
        if (count_++ == 0) {
            first_ = w.fire();
        } else {
            if (more_ == nullptr) {
                more_ = ::new (static_cast<void*>(more_storage_)) tako::detail::wake_list();
            }
            more_->push(w.fire());
        }
    }
    /// Call it with no lock held.
    void flush() noexcept {
        if (count_ != 0) {
            count_ = 0;
            std::move(first_).wake();
            if (more_ != nullptr) {
                more_->wake_all();
            }
        }
        while (waiter* t = threads_) {
            threads_ = t->next_thread;
            t->thread->post(); // last: the thread may return and destroy `t`
        }
    }

private:
    std::size_t count_ = 0;
    tako::detail::task_ref first_;
    waiter* threads_ = nullptr;
    tako::detail::wake_list* more_ = nullptr; ///< in more_storage_ once needed
    // Raw storage, not std::optional: nothing to initialize on the common path.
    alignas(tako::detail::wake_list) unsigned char more_storage_[sizeof(tako::detail::wake_list)];
};

/// The channel shared by every handle. Counting: `senders` (strong senders) and `refs`
/// (every handle: senders, weak senders, the receiver, permits). Slots of a bounded
/// channel: `max_capacity == available + reserved + queue.size()` at all times
/// (`reserved`: granted to permits, to waiting senders partly or fully, or to a sender
/// about to push).
template <class T>
class chan {
public:
    using guard = std::unique_lock<tako::detail::spin_lock>;
    static constexpr bool nothrow_move = std::is_nothrow_move_constructible_v<T>;

    chan(std::size_t capacity, bool is_bounded)
        : bounded(is_bounded), available(capacity), max_capacity(capacity) {
        queue.add_spare(block<T>::create());
    }
    chan(const chan&) = delete;
    chan& operator=(const chan&) = delete;

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release_ref() noexcept {
        // acq_rel: the last owner sees every other owner's writes before freeing.
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    // ---- under the lock

    /// No value is buffered and none can come any more.
    [[nodiscard]] bool terminated() const noexcept {
        return queue.size() == 0 && reserved == 0 &&
               (rx_closed.load(std::memory_order_relaxed) ||
                senders.load(std::memory_order_acquire) == 0);
    }

    /// A value was added: fires the oldest waiting receive, claiming the value for it.
    void deliver_one_locked(wakes& w) noexcept {
        if (queue.size() > claimed) {
            if (tako::detail::wait_node* n = recv_waiters.pop_front()) {
                ++claimed;
                waiter& r = as_waiter(n);
                r.set(wait_state::ready);
                w.add(r);
            }
        }
    }

    /// Makes sure `queue` has a slot, allocating a block with the lock released. Callers
    /// check the channel's state after it.
    void ensure_room(guard& g) {
        while (!queue.has_room()) {
            g.unlock();
            block<T>* b = block<T>::create();
            g.lock();
            queue.add_spare(b);
        }
    }

    /// `s` (unlinked) got all its slots. A send's value goes into the channel right here if
    /// that cannot throw; otherwise the sender pushes it when it resumes.
    void grant_locked(waiter& s, wakes& w) noexcept {
        if constexpr (nothrow_move) {
            if (s.value != nullptr && queue.has_room()) {
                auto& v = *static_cast<std::optional<T>*>(s.value);
                queue.push(std::move(*v));
                v.reset();
                --reserved;
                s.set(wait_state::sent);
                deliver_one_locked(w);
                w.add(s);
                return;
            }
        }
        s.set(wait_state::ready);
        w.add(s);
    }

    /// Hands `k` free slots (counted in `reserved`) to waiting senders in FIFO order, the
    /// rest to `available`. Returns how many are left over when `w` is full.
    std::size_t release_locked(std::size_t k, wakes& w) noexcept {
        while (k != 0) {
            tako::detail::wait_node* n = send_waiters.front();
            if (n == nullptr) {
                reserved -= k;
                available += k;
                return 0;
            }
            if (!w.has_room()) {
                return k;
            }
            waiter& s = as_waiter(n);
            const std::size_t give = std::min(k, s.needed - s.acquired);
            s.acquired += give;
            k -= give;
            if (s.acquired == s.needed) {
                n->unlink();
                grant_locked(s, w);
            }
        }
        return 0;
    }

    /// `release_locked` until done, waking (unlocked) whenever `w` fills up.
    void release(guard& g, std::size_t k, wakes& w) noexcept {
        while ((k = release_locked(k, w)) != 0) {
            g.unlock();
            w.flush();
            g.lock();
        }
    }

    /// The receiver took `n` values out: their slots become free.
    void popped(guard& g, std::size_t n, wakes& w) noexcept {
        if (bounded && n != 0) {
            reserved += n;
            release(g, n, w);
        }
    }

    /// Fires every waiter of `list` with `s` (giving back slots they held), in batches:
    /// the list moves to a local one, from which a waiter destroyed meanwhile unlinks.
    void fire_all(guard& g, tako::detail::wait_list& list, wait_state s, wakes& w) noexcept {
        tako::detail::wait_list batch;
        batch.splice_back(list);
        for (;;) {
            if (!w.has_room()) {
                g.unlock();
                w.flush();
                g.lock();
            }
            tako::detail::wait_node* n = batch.pop_front();
            if (n == nullptr) {
                return;
            }
            waiter& x = as_waiter(n);
            if (x.acquired != 0) {
                reserved -= x.acquired;
                available += x.acquired;
                x.acquired = 0;
            }
            x.set(s);
            w.add(x);
        }
    }

    /// The last step of every operation that may end the stream: if nothing can be
    /// received any more, tells each waiting receive; then unlocks and wakes.
    void finish(guard& g, wakes& w) noexcept {
        if (!recv_waiters.empty() && terminated()) {
            fire_all(g, recv_waiters, wait_state::closed, w);
        }
        g.unlock();
        w.flush();
    }

    // ---- operations (each takes the lock)

    /// Sends `*value` now if it may, else links `node` (after `arm()`) as a waiting
    /// sender. Returns `sent`, `closed` or `waiting`. Throws (nothing sent) if a block
    /// cannot be allocated or T's move constructor throws.
    template <class Arm>
    wait_state start_send(std::optional<T>& value, waiter& node, Arm&& arm) {
        wakes w;
        guard g(lock);
        ensure_room(g);
        if (rx_closed.load(std::memory_order_relaxed)) {
            return wait_state::closed;
        }
        if (!bounded || available != 0) { // available != 0: nobody waits (FIFO)
            queue.push(std::move(*value));
            if (bounded) {
                --available;
            }
            deliver_one_locked(w);
            g.unlock();
            w.flush();
            return wait_state::sent;
        }
        arm();
        node.value = &value;
        node.needed = 1;
        node.acquired = 0;
        node.set(wait_state::waiting);
        send_waiters.push_back(node);
        return wait_state::waiting;
    }

    /// A sender granted a slot (state `ready`) pushes its value. False, with the value
    /// left in `value` and the slot freed, if the receiver is gone.
    bool complete_granted_send(std::optional<T>& value) {
        wakes w;
        guard g(lock);
        ensure_room(g);
        if (rx_dropped) {
            release(g, 1, w);
            finish(g, w);
            return false;
        }
        queue.push(std::move(*value));
        --reserved;
        deliver_one_locked(w);
        g.unlock();
        w.flush();
        return true;
    }

    /// `try_send`: sent, full or closed.
    std::optional<try_send_error_kind> try_push(T& value) {
        wakes w;
        guard g(lock);
        ensure_room(g);
        if (rx_closed.load(std::memory_order_relaxed)) {
            return try_send_error_kind::closed;
        }
        if (bounded && available == 0) {
            return try_send_error_kind::full;
        }
        queue.push(std::move(value));
        if (bounded) {
            --available;
        }
        deliver_one_locked(w);
        g.unlock();
        w.flush();
        return std::nullopt;
    }

    /// Sends through a slot the caller holds (a permit). If the receiver is gone the slot
    /// is freed and the value is left to the caller to drop.
    void send_reserved(T&& value) {
        wakes w;
        guard g(lock);
        ensure_room(g);
        if (rx_dropped) {
            release(g, 1, w);
            finish(g, w);
            return;
        }
        queue.push(std::move(value));
        --reserved;
        deliver_one_locked(w);
        g.unlock();
        w.flush();
    }

    /// Gives back `n` slots held by permits.
    void release_reserved(std::size_t n) noexcept {
        wakes w;
        guard g(lock);
        release(g, n, w);
        finish(g, w);
    }

    /// Takes `n` slots now (`ready`), or links `node` (after `arm()`) to wait for them
    /// (`waiting`, keeping what is free now: a FIFO head collects its slots as they come),
    /// or `closed`.
    template <class Arm>
    wait_state start_reserve(std::size_t n, waiter& node, Arm&& arm) noexcept {
        guard g(lock);
        node.needed = n;
        if (rx_closed.load(std::memory_order_relaxed)) {
            return wait_state::closed;
        }
        if (available >= n) {
            available -= n;
            reserved += n;
            return wait_state::ready;
        }
        arm();
        node.acquired = available;
        reserved += available;
        available = 0;
        node.set(wait_state::waiting);
        send_waiters.push_back(node);
        return wait_state::waiting;
    }

    /// `try_reserve_many(n)`.
    std::optional<try_reserve_error> try_take_slots(std::size_t n) noexcept {
        guard g(lock);
        if (rx_closed.load(std::memory_order_relaxed)) {
            return try_reserve_error::closed;
        }
        if (available < n) {
            return try_reserve_error::full;
        }
        available -= n;
        reserved += n;
        return std::nullopt;
    }

    /// A send or reserve waiter is destroyed before it finished: leaves the queue, or gives
    /// back the slots it holds (to the next waiting sender).
    void abandon_send(waiter& node) noexcept {
        wakes w;
        guard g(lock);
        std::size_t give_back = 0;
        if (node.is_linked()) {
            node.unlink();
            give_back = node.acquired;
        } else if (node.get() == wait_state::ready) {
            give_back = node.needed;
        }
        node.acquired = 0;
        node.set(wait_state::done);
        if (give_back != 0) {
            release(g, give_back, w);
        }
        finish(g, w);
    }

    /// Under the lock: moves the front value into `out`.
    void take_front(std::optional<T>& out) {
        out.emplace(std::move(queue.front()));
        queue.drop_front();
    }

    /// Takes the value claimed for a receive that was fired (or yielded) with `ready`.
    /// If T's move constructor throws, the claim stands (the caller still holds it).
    void take_claimed(std::optional<T>& out) {
        wakes w;
        guard g(lock);
        take_front(out);
        --claimed;
        popped(g, 1, w);
        finish(g, w);
    }

    /// A receive is destroyed before it finished: leaves the queue, or passes the value
    /// claimed for it to the next waiting receive (it stays first in the channel).
    void abandon_recv(waiter& node) noexcept {
        wakes w;
        guard g(lock);
        if (node.is_linked()) {
            node.unlink();
        } else if (node.get() == wait_state::ready) {
            --claimed;
            deliver_one_locked(w);
        }
        node.set(wait_state::done);
        g.unlock();
        w.flush();
    }

    /// `blocking_recv` on a plain thread.
    std::optional<T> blocking_recv() {
        std::optional<T> out;
        thread_signal sig;
        waiter node;
        node.thread = &sig;
        {
            wakes w;
            guard g(lock);
            if (queue.size() > claimed) {
                take_front(out);
                popped(g, 1, w);
                finish(g, w);
                return out;
            }
            if (terminated()) {
                return out;
            }
            node.set(wait_state::waiting);
            recv_waiters.push_back(node);
        }
        sig.wait();
        if (node.get() == wait_state::ready) {
            try {
                take_claimed(out);
            } catch (...) {
                abandon_recv(node);
                throw;
            }
        }
        return out;
    }

    /// Closes the receiving side (`drop`: the receiver is destroyed, its buffered values
    /// too, after unlocking). Waiting senders and `closed()` waiters are woken.
    void close_rx(bool drop) noexcept {
        slot_queue<T> doomed; // destroyed last, with no lock held
        wakes w;
        guard g(lock);
        if (!rx_closed.load(std::memory_order_relaxed)) {
            rx_closed.store(true, std::memory_order_release);
            fire_all(g, send_waiters, wait_state::closed, w);
            fire_all(g, closed_waiters, wait_state::closed, w);
        }
        if (drop && !rx_dropped) {
            rx_dropped = true;
            const std::size_t n = queue.size();
            queue.take_values(doomed);
            claimed = 0;
            if (bounded) {
                available += n;
            }
        }
        finish(g, w);
    }

    /// The last sender is gone.
    void sender_gone() noexcept {
        wakes w;
        guard g(lock);
        finish(g, w);
    }

    // ---- state: what every operation touches shares the lock's cache line

    alignas(64) tako::detail::spin_lock lock;
    const bool bounded;
    bool rx_dropped = false;                ///< guarded by lock
    std::atomic<bool> rx_closed{false};     ///< written under lock
    std::size_t available;                  ///< free slots (bounded); guarded by lock
    std::size_t reserved = 0;               ///< slots held, see the class comment; guarded by lock
    std::size_t claimed = 0;                ///< values promised to fired receives; guarded by lock
    slot_queue<T> queue;                    ///< guarded by lock
    tako::detail::wait_list send_waiters;   ///< senders and reserves, FIFO
    tako::detail::wait_list recv_waiters;   ///< receives (one, unless misused)
    tako::detail::wait_list closed_waiters; ///< `closed()` awaiters
    const std::size_t max_capacity;
    alignas(64) std::atomic<std::size_t> senders{1}; ///< strong senders
    std::atomic<std::size_t> refs{2};                ///< every handle
};

} // namespace detail

template <class T>
class sender;
template <class T>
class unbounded_sender;
template <class T>
class receiver;
template <class T>
class unbounded_receiver;
template <class T>
class weak_sender;
template <class T>
class weak_unbounded_sender;
template <class T>
class permit_iterator;
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);
template <class T>
std::pair<unbounded_sender<T>, unbounded_receiver<T>> unbounded_channel();

namespace detail {
template <class T>
class sender_base;
template <class T>
class receiver_base;
template <class T, bool Many>
class reserve_awaiter_impl;
} // namespace detail

// ------------------------------------------------------------------------- permits

/// One reserved slot of a bounded channel (`tokio::sync::mpsc::OwnedPermit`): `send`
/// puts a value in it without waiting and without failing. Destroying an unused permit
/// gives the slot back (to the next waiting sender). Move-only. While a permit exists the
/// receiver does not report the end of the stream (a value may still come).
template <class T>
class permit {
public:
    permit(permit&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
    permit& operator=(permit&& o) noexcept {
        if (this != &o) {
            reset();
            ch_ = std::exchange(o.ch_, nullptr);
        }
        return *this;
    }
    permit(const permit&) = delete;
    permit& operator=(const permit&) = delete;
    /// Gives the slot back if it was not used.
    ~permit() { reset(); }

    /// Sends `value` through the reserved slot and uses the permit up. Never waits. If the
    /// receiver is gone meanwhile the value is dropped (as Tokio's). Throws
    /// `std::logic_error` if the permit was already used or moved from (and, like any
    /// send, `std::bad_alloc` if a block cannot be allocated; the permit is then kept).
    void send(T value) {
        if (ch_ == nullptr) {
            throw std::logic_error("tako::sync::mpsc::permit::send: the permit was already "
                                   "used or moved from");
        }
        ch_->send_reserved(std::move(value));
        std::exchange(ch_, nullptr)->release_ref();
    }

    /// True until the permit is used or moved from.
    [[nodiscard]] explicit operator bool() const noexcept { return ch_ != nullptr; }

private:
    template <class U, bool Many>
    friend class detail::reserve_awaiter_impl;
    friend class detail::sender_base<T>;
    friend class sender<T>;
    friend class permit_iterator<T>;
    /// Adopts one reference and one reserved slot.
    explicit permit(detail::chan<T>* ch) noexcept : ch_(ch) {}
    void reset() noexcept {
        if (auto* c = std::exchange(ch_, nullptr)) {
            c->release_reserved(1);
            c->release_ref();
        }
    }

    detail::chan<T>* ch_;
};

/// `n` reserved slots (`tokio::sync::mpsc::PermitIterator`): `send` uses one at a time,
/// `next` splits one off as a `permit`; destroying it gives the unused ones back.
/// Move-only.
template <class T>
class permit_iterator {
public:
    permit_iterator(permit_iterator&& o) noexcept
        : ch_(std::exchange(o.ch_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    permit_iterator& operator=(permit_iterator&& o) noexcept {
        if (this != &o) {
            reset();
            ch_ = std::exchange(o.ch_, nullptr);
            n_ = std::exchange(o.n_, 0);
        }
        return *this;
    }
    permit_iterator(const permit_iterator&) = delete;
    permit_iterator& operator=(const permit_iterator&) = delete;
    /// Gives the unused slots back.
    ~permit_iterator() { reset(); }

    /// Slots left.
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    /// True when every slot was used.
    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }

    /// Sends `value` through one slot; never waits (see `permit::send`). Throws
    /// `std::logic_error` if no slot is left.
    void send(T value) {
        if (n_ == 0) {
            throw std::logic_error("tako::sync::mpsc::permit_iterator::send: no slot left");
        }
        ch_->send_reserved(std::move(value));
        if (--n_ == 0) {
            std::exchange(ch_, nullptr)->release_ref();
        }
    }

    /// One slot as its own permit, or `std::nullopt` when none is left (Rust's `next`).
    [[nodiscard]] std::optional<permit<T>> next() noexcept {
        if (n_ == 0) {
            return std::nullopt;
        }
        if (--n_ == 0) {
            return permit<T>(std::exchange(ch_, nullptr)); // our reference goes with it
        }
        ch_->add_ref();
        return permit<T>(ch_);
    }

private:
    template <class U, bool Many>
    friend class detail::reserve_awaiter_impl;
    friend class sender<T>;
    /// Adopts one reference (if `n > 0`) and `n` reserved slots.
    permit_iterator(detail::chan<T>* ch, std::size_t n) noexcept : ch_(ch), n_(n) {}
    void reset() noexcept {
        if (auto* c = std::exchange(ch_, nullptr)) {
            c->release_reserved(std::exchange(n_, 0));
            c->release_ref();
        }
    }

    detail::chan<T>* ch_;
    std::size_t n_;
};

// ------------------------------------------------------------------------- awaitables

/// What `sender::send` returns: `co_await` gives `std::expected<void, send_error<T>>`.
/// Waits (FIFO) while the channel is full. If the task is cancelled before the value was
/// sent, the value is dropped with the awaitable. Only an awaitable that was never awaited
/// may be moved (e.g. into `select`).
template <class T>
class [[nodiscard]] send_awaiter {
public:
    send_awaiter(send_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
        : ch_(o.ch_), value_(std::move(o.value_)) {}
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;
    /// Leaves the queue of waiting senders; a slot granted but not used passes on.
    ~send_awaiter() {
        const detail::wait_state s = node_.get();
        if (ch_ != nullptr && s != detail::wait_state::idle && s != detail::wait_state::done) {
            ch_->abandon_send(node_);
        }
    }

    bool await_ready() const noexcept { return false; }
    // Resumed by the scheduler once a receive granted our slot (or the receiver left).
    bool await_suspend(std::coroutine_handle<> h) {
        if (ch_ == nullptr) {
            node_.set(detail::wait_state::closed);
            return tako::detail::complete_or_yield(h);
        }
        const detail::wait_state s = ch_->start_send(value_, node_, [&] { node_.arm(h); });
        if (s == detail::wait_state::waiting) {
            return true;
        }
        node_.set(s);
        return tako::detail::complete_or_yield(h);
    }
    std::expected<void, send_error<T>> await_resume() {
        switch (node_.get()) {
        case detail::wait_state::sent:
            node_.set(detail::wait_state::done);
            return {};
        case detail::wait_state::ready:
            if (ch_->complete_granted_send(value_)) {
                node_.set(detail::wait_state::done);
                return {};
            }
            break; // the receiver is gone; the slot was given back
        default:
            break;
        }
        node_.set(detail::wait_state::done);
        return std::unexpected(send_error<T>{std::move(*value_)});
    }

private:
    friend class sender<T>;
    send_awaiter(detail::chan<T>* ch, T&& value) : ch_(ch), value_(std::move(value)) {}

    detail::chan<T>* ch_;
    std::optional<T> value_;
    detail::waiter node_;
};

namespace detail {

/// `reserve()` (one slot, gives a `permit`) and `reserve_many(n)` (gives a
/// `permit_iterator`).
template <class T, bool Many>
class [[nodiscard]] reserve_awaiter_impl {
public:
    using permit_type = std::conditional_t<Many, permit_iterator<T>, permit<T>>;

    reserve_awaiter_impl(reserve_awaiter_impl&& o) noexcept : ch_(o.ch_), n_(o.n_) {}
    reserve_awaiter_impl(const reserve_awaiter_impl&) = delete;
    reserve_awaiter_impl& operator=(const reserve_awaiter_impl&) = delete;
    /// Leaves the queue of waiting senders; slots granted to it pass on.
    ~reserve_awaiter_impl() {
        const wait_state s = node_.get();
        if (ch_ != nullptr && s != wait_state::idle && s != wait_state::done) {
            ch_->abandon_send(node_);
        }
    }

    bool await_ready() const noexcept { return false; }
    // Resumed by the scheduler once its slots were granted (or the receiver left).
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        if (ch_ == nullptr) {
            node_.set(wait_state::closed);
            return tako::detail::complete_or_yield(h);
        }
        const wait_state s = ch_->start_reserve(n_, node_, [&] { node_.arm(h); });
        if (s == wait_state::waiting) {
            return true;
        }
        node_.set(s);
        return tako::detail::complete_or_yield(h);
    }
    std::expected<permit_type, closed_error> await_resume() noexcept {
        const wait_state s = node_.get();
        node_.set(wait_state::done);
        if (s != wait_state::ready) {
            return std::unexpected(closed_error{});
        }
        if constexpr (Many) {
            if (n_ == 0) {
                return permit_type(nullptr, 0);
            }
            ch_->add_ref();
            return permit_type(ch_, n_);
        } else {
            ch_->add_ref();
            return permit_type(ch_);
        }
    }

private:
    friend class tako::sync::mpsc::sender<T>;
    reserve_awaiter_impl(chan<T>* ch, std::size_t n) noexcept : ch_(ch), n_(n) {}

    chan<T>* ch_;
    std::size_t n_;
    waiter node_;
};

} // namespace detail

/// What `sender::reserve` returns: `co_await` gives
/// `std::expected<permit<T>, closed_error>`. Cancel-safe (see the file comment).
template <class T>
using reserve_awaiter = detail::reserve_awaiter_impl<T, false>;

/// What `sender::reserve_many` returns: `co_await` gives
/// `std::expected<permit_iterator<T>, closed_error>`. Cancel-safe.
template <class T>
using reserve_many_awaiter = detail::reserve_awaiter_impl<T, true>;

/// What `closed()` returns: completes once the receiver is gone or closed. Cancel-safe.
template <class T>
class [[nodiscard]] closed_awaiter {
public:
    closed_awaiter(closed_awaiter&& o) noexcept : ch_(o.ch_) {}
    closed_awaiter(const closed_awaiter&) = delete;
    closed_awaiter& operator=(const closed_awaiter&) = delete;
    /// Leaves the list of waiters.
    ~closed_awaiter() {
        const detail::wait_state s = node_.get();
        if (ch_ != nullptr && s != detail::wait_state::idle && s != detail::wait_state::done) {
            typename detail::chan<T>::guard g(ch_->lock);
            if (node_.is_linked()) {
                node_.unlink();
            }
        }
    }

    bool await_ready() noexcept {
        return ch_ == nullptr ||
               (ch_->rx_closed.load(std::memory_order_acquire) && tako::detail::consume_budget());
    }
    // Resumed by the scheduler once the receiver closed.
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        {
            typename detail::chan<T>::guard g(ch_->lock);
            if (!ch_->rx_closed.load(std::memory_order_relaxed)) {
                node_.arm(h);
                node_.set(detail::wait_state::waiting);
                ch_->closed_waiters.push_back(node_);
                return true;
            }
        }
        return tako::detail::complete_or_yield(h);
    }
    void await_resume() noexcept { node_.set(detail::wait_state::done); }

private:
    friend class detail::sender_base<T>;
    explicit closed_awaiter(detail::chan<T>* ch) noexcept : ch_(ch) {}

    detail::chan<T>* ch_;
    detail::waiter node_;
};

namespace detail {

/// `recv()` (gives `std::optional<T>`) and `recv_many(out, limit)` (gives a count).
template <class T, bool Many>
class [[nodiscard]] recv_awaiter_impl {
public:
    using result_type = std::conditional_t<Many, std::size_t, std::optional<T>>;

    recv_awaiter_impl(recv_awaiter_impl&& o) noexcept
        : ch_(o.ch_), out_(o.out_), limit_(o.limit_) {}
    recv_awaiter_impl(const recv_awaiter_impl&) = delete;
    recv_awaiter_impl& operator=(const recv_awaiter_impl&) = delete;
    /// Leaves the list of waiting receives; a value claimed for it stays in the channel.
    ~recv_awaiter_impl() {
        const wait_state s = node_.get();
        if (ch_ != nullptr && s != wait_state::idle && s != wait_state::done &&
            s != wait_state::taken) {
            ch_->abandon_recv(node_);
        }
    }

    bool await_ready() {
        if (ch_ == nullptr || (Many && limit_ == 0)) {
            node_.set(wait_state::closed);
            return tako::detail::consume_budget();
        }
        if (ch_->queue.size() == 0) {
            return false; // a hint read without the lock: await_suspend decides under it
        }
        if constexpr (Many) {
            make_room();
        }
        wakes w;
        typename chan<T>::guard g(ch_->lock);
        if (ch_->queue.size() > ch_->claimed) {
            if (!tako::detail::consume_budget()) {
                ++ch_->claimed; // ours; taken when the task runs again
                node_.set(wait_state::ready);
                return false;
            }
            const std::size_t n = take(0);
            node_.set(wait_state::taken);
            ch_->popped(g, n, w);
            ch_->finish(g, w);
            return true;
        }
        if (ch_->terminated()) {
            node_.set(wait_state::closed);
            return tako::detail::consume_budget();
        }
        return false;
    }
    // Resumed by the scheduler once a sender fired us (a value is claimed for us) or the
    // stream ended.
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        const wait_state s = node_.get();
        if (s == wait_state::ready || s == wait_state::closed) {
            tako::detail::yield_at(h); // decided in await_ready; the budget is spent
            return true;
        }
        {
            typename chan<T>::guard g(ch_->lock);
            if (ch_->queue.size() > ch_->claimed) {
                ++ch_->claimed;
                node_.set(wait_state::ready);
            } else if (ch_->terminated()) {
                node_.set(wait_state::closed);
            } else {
                node_.arm(h);
                node_.set(wait_state::waiting);
                ch_->recv_waiters.push_back(node_);
                return true;
            }
        }
        return tako::detail::complete_or_yield(h);
    }
    result_type await_resume() {
        switch (node_.get()) {
        case wait_state::taken:
            node_.set(wait_state::done);
            if constexpr (Many) {
                return count_;
            } else {
                return std::move(value_);
            }
        case wait_state::ready: {
            if constexpr (Many) {
                make_room();
            }
            // On an exception (T's move constructor) the claim stands: ~ passes it on.
            wakes w;
            typename chan<T>::guard g(ch_->lock);
            const std::size_t n = take(1);
            --ch_->claimed;
            node_.set(wait_state::done);
            ch_->popped(g, n, w);
            ch_->finish(g, w);
            if constexpr (Many) {
                return count_;
            } else {
                return std::move(value_);
            }
        }
        default:
            node_.set(wait_state::done);
            return result_type{};
        }
    }

private:
    friend class receiver_base<T>;
    explicit recv_awaiter_impl(chan<T>* ch) noexcept : ch_(ch) {}
    recv_awaiter_impl(chan<T>* ch, std::vector<T>* out, std::size_t limit) noexcept
        : ch_(ch), out_(out), limit_(limit) {}

    /// recv_many: room for what is buffered now (an estimate), so that taking values
    /// under the lock never reallocates.
    void make_room() {
        const std::size_t want = std::min(limit_, std::max<std::size_t>(ch_->queue.size(), 1));
        if (out_->capacity() - out_->size() < want) {
            out_->reserve(std::max(out_->size() + want, 2 * out_->capacity()));
        }
    }

    /// Under the lock: takes the value (recv) or up to `limit_` values that fit in `out_`
    /// (recv_many), of those not claimed by others (`ours`: claims that are this one's).
    std::size_t take(std::size_t ours) {
        if constexpr (Many) {
            const std::size_t unclaimed = ch_->queue.size() - (ch_->claimed - ours);
            // One at a time if moving can throw: a failed move then changes nothing.
            const std::size_t fit = chan<T>::nothrow_move
                                        ? std::max<std::size_t>(out_->capacity() - out_->size(), 1)
                                        : 1;
            const std::size_t n = std::min({limit_, unclaimed, fit});
            for (std::size_t i = 0; i < n; ++i) {
                out_->push_back(std::move(ch_->queue.front()));
                ch_->queue.drop_front();
                ++count_;
            }
            return n;
        } else {
            ch_->take_front(value_);
            return 1;
        }
    }

    chan<T>* ch_;
    std::vector<T>* out_ = nullptr;
    std::size_t limit_ = 1;
    std::size_t count_ = 0;
    std::optional<T> value_;
    waiter node_;
};

} // namespace detail

/// What `recv()` returns: `co_await` gives `std::optional<T>`, `std::nullopt` once the
/// channel is closed and drained. Cancel-safe. Each `recv()` makes a fresh one, so it can
/// lose a `select` in a loop without harm.
template <class T>
using recv_awaiter = detail::recv_awaiter_impl<T, false>;

/// What `recv_many(out, limit)` returns: `co_await` gives how many values were appended
/// to `out` (0 only once the channel is closed and drained, or if `limit` is 0).
/// Cancel-safe.
template <class T>
using recv_many_awaiter = detail::recv_awaiter_impl<T, true>;

// ------------------------------------------------------------------------- handles

namespace detail {

/// What every strong sender shares: counting, `closed()`, `is_closed()`.
template <class T>
class sender_base {
public:
    sender_base(const sender_base& o) noexcept : ch_(o.ch_) {
        if (ch_ != nullptr) {
            ch_->senders.fetch_add(1, std::memory_order_relaxed);
            ch_->add_ref();
        }
    }
    sender_base(sender_base&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
    sender_base& operator=(const sender_base& o) noexcept {
        if (this != &o) {
            sender_base copy(o);
            std::swap(ch_, copy.ch_);
        }
        return *this;
    }
    sender_base& operator=(sender_base&& o) noexcept {
        if (this != &o) {
            reset();
            ch_ = std::exchange(o.ch_, nullptr);
        }
        return *this;
    }
    /// The last sender's destruction ends the stream once the receiver drained it.
    ~sender_base() { reset(); }

    /// Completes once the receiver is gone or closed (`Sender::closed`). Cancel-safe.
    [[nodiscard]] closed_awaiter<T> closed() const noexcept { return closed_awaiter<T>(ch_); }

    /// True once the receiver is gone or closed: every send fails from then on.
    [[nodiscard]] bool is_closed() const noexcept {
        return ch_ == nullptr || ch_->rx_closed.load(std::memory_order_acquire);
    }

    /// True if both handles belong to the same channel.
    [[nodiscard]] bool same_channel(const sender_base& other) const noexcept {
        return ch_ == other.ch_;
    }

protected:
    explicit sender_base(chan<T>* ch) noexcept : ch_(ch) {}
    void reset() noexcept {
        if (auto* c = std::exchange(ch_, nullptr)) {
            // acq_rel: the receiver that sees zero senders sees everything sent before.
            if (c->senders.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                c->sender_gone();
            }
            c->release_ref();
        }
    }

    chan<T>* ch_;
};

/// What both receivers share.
template <class T>
class receiver_base {
public:
    receiver_base(receiver_base&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
    receiver_base& operator=(receiver_base&& o) noexcept {
        if (this != &o) {
            reset();
            ch_ = std::exchange(o.ch_, nullptr);
        }
        return *this;
    }
    receiver_base(const receiver_base&) = delete;
    receiver_base& operator=(const receiver_base&) = delete;
    /// Closes the channel and destroys the values still buffered; waiting senders fail
    /// and get their values back.
    ~receiver_base() { reset(); }

    /// The next value, or `std::nullopt` once every sender (and permit) is gone, or the
    /// receiver was closed, and everything buffered was received. A fresh awaitable per
    /// call; cancel-safe: a cancelled receive takes nothing out of the channel.
    ///
    /// ```cpp
    /// #include <tako/sync/mpsc.hpp>
    ///
    /// tako::task<int> first_value() {
    ///     auto [tx, rx] = tako::sync::mpsc::channel<int>(8);
    ///     (void)tx.try_send(1);
    ///     std::optional<int> v = co_await rx.recv(); // 1
    ///     co_return v.value_or(0);
    /// }
    /// ```
    [[nodiscard]] recv_awaiter<T> recv() noexcept { return recv_awaiter<T>(ch_); }

    /// Appends up to `limit` buffered values to `out`, waiting for at least one; gives the
    /// count, 0 once the channel is closed and drained (or at once if `limit` is 0).
    /// Cancel-safe: nothing is taken unless it completes. `out` must outlive the wait.
    [[nodiscard]] recv_many_awaiter<T> recv_many(std::vector<T>& out, std::size_t limit) noexcept {
        return recv_many_awaiter<T>(ch_, &out, limit);
    }

    /// The next value if one is buffered; else `empty`, or `disconnected` if none will come.
    [[nodiscard]] std::expected<T, try_recv_error> try_recv() {
        std::expected<T, try_recv_error> r(std::unexpect, try_recv_error::disconnected);
        if (ch_ == nullptr) {
            return r;
        }
        wakes w;
        typename chan<T>::guard g(ch_->lock);
        if (ch_->queue.size() > ch_->claimed) {
            r.emplace(std::move(ch_->queue.front()));
            ch_->queue.drop_front();
            ch_->popped(g, 1, w);
            ch_->finish(g, w);
            return r;
        }
        if (!ch_->terminated()) {
            r = std::unexpected(try_recv_error::empty);
        }
        return r;
    }

    /// Blocks the calling thread until a value comes (or `std::nullopt`, as `recv`). For
    /// plain threads: throws `std::logic_error` on a thread that drives tako tasks (a
    /// runtime worker, a `block_on` thread), where blocking could deadlock it.
    std::optional<T> blocking_recv() {
        check_can_block("tako::sync::mpsc::receiver::blocking_recv");
        if (ch_ == nullptr) {
            return std::nullopt;
        }
        return ch_->blocking_recv();
    }

    /// Closes the channel from the receiving side: senders fail from now on (waiting ones
    /// at once) and `closed()` completes, but values already buffered (or sent through
    /// permits still held) can still be received.
    void close() noexcept {
        if (ch_ != nullptr) {
            ch_->close_rx(false);
        }
    }

    /// Values buffered now.
    [[nodiscard]] std::size_t len() const noexcept {
        if (ch_ == nullptr) {
            return 0;
        }
        typename chan<T>::guard g(ch_->lock);
        return ch_->queue.size();
    }
    /// True if no value is buffered now.
    [[nodiscard]] bool is_empty() const noexcept { return len() == 0; }
    /// True once every sender is gone or `close()` was called (values may still be
    /// buffered).
    [[nodiscard]] bool is_closed() const noexcept {
        return ch_ == nullptr || ch_->rx_closed.load(std::memory_order_acquire) ||
               ch_->senders.load(std::memory_order_acquire) == 0;
    }

protected:
    explicit receiver_base(chan<T>* ch) noexcept : ch_(ch) {}
    void reset() noexcept {
        if (auto* c = std::exchange(ch_, nullptr)) {
            c->close_rx(true);
            c->release_ref();
        }
    }

    chan<T>* ch_;
};

} // namespace detail

/// The sending half of a bounded channel (`tokio::sync::mpsc::Sender`). Copyable: each
/// copy is one more sender, and the receiver sees the end of the stream once the last one
/// (and every permit) is gone. Its members may be called from any thread, but one object
/// must not be assigned to while another thread uses it.
template <class T>
class sender : public detail::sender_base<T> {
    static_assert(std::is_object_v<T> && std::is_move_constructible_v<T>,
                  "tako::sync::mpsc: the value type must be a move-constructible object type");

public:
    /// Sends `value`, waiting (in FIFO order with other senders) while the channel is full.
    /// `co_await` gives `std::expected<void, send_error<T>>`: the error holds the value if
    /// the receiver is gone or closed. Cancelling it before the value was sent drops the
    /// value (see the file comment; `reserve` is the cancel-safe way).
    ///
    /// ```cpp
    /// #include <tako/sync/mpsc.hpp>
    ///
    /// tako::task<void> greet(tako::sync::mpsc::sender<std::string> tx) {
    ///     auto r = co_await tx.send("hello");
    ///     if (!r) {
    ///         std::string back = std::move(r.error().value); // nobody is listening
    ///     }
    /// }
    /// ```
    /// (With g++ 12, write the `co_await` as its own statement or in a declaration, not
    /// inside an `if (...)` or `while (...)` condition: g++ 12 miscompiles that.)
    [[nodiscard]] send_awaiter<T> send(T value) {
        return send_awaiter<T>(this->ch_, std::move(value));
    }

    /// Sends `value` now if a slot is free and no sender is waiting for one; otherwise
    /// gives it back with `full` or `closed`. Never waits.
    [[nodiscard]] std::expected<void, try_send_error<T>> try_send(T value) {
        if (this->ch_ == nullptr) {
            return std::unexpected(
                try_send_error<T>{try_send_error_kind::closed, std::move(value)});
        }
        if (auto e = this->ch_->try_push(value)) {
            return std::unexpected(try_send_error<T>{*e, std::move(value)});
        }
        return {};
    }

    /// Waits for a free slot (FIFO with `send`) and holds it in a `permit`, whose `send`
    /// cannot wait or fail. `co_await` gives `std::expected<permit<T>, closed_error>`.
    /// Cancel-safe: a cancelled reserve holds nothing (a slot granted to it passes on).
    ///
    /// ```cpp
    /// #include <tako/sync/mpsc.hpp>
    ///
    /// tako::task<void> send_when_ready(tako::sync::mpsc::sender<int> tx) {
    ///     if (auto p = co_await tx.reserve()) {
    ///         p->send(expensive()); // cannot fail; computed only once a slot is ours
    ///     }
    /// }
    /// ```
    [[nodiscard]] reserve_awaiter<T> reserve() noexcept { return reserve_awaiter<T>(this->ch_, 1); }

    /// Waits for `n` slots at once (a `permit_iterator`). Throws `std::invalid_argument`
    /// if `n > max_capacity()`, which could never be granted. Cancel-safe as `reserve`.
    [[nodiscard]] reserve_many_awaiter<T> reserve_many(std::size_t n) {
        if (this->ch_ != nullptr && n > max_capacity()) {
            throw std::invalid_argument("tako::sync::mpsc::sender::reserve_many: more slots "
                                        "than the channel's capacity");
        }
        return reserve_many_awaiter<T>(this->ch_, n);
    }

    /// A slot now, without waiting, or `full` / `closed`.
    [[nodiscard]] std::expected<permit<T>, try_reserve_error> try_reserve() {
        auto r = try_reserve_many(1);
        if (!r) {
            return std::unexpected(r.error());
        }
        return std::move(r->next()).value();
    }

    /// `n` slots now, without waiting, or `full` / `closed`.
    [[nodiscard]] std::expected<permit_iterator<T>, try_reserve_error>
    try_reserve_many(std::size_t n) {
        if (this->ch_ == nullptr) {
            return std::unexpected(try_reserve_error::closed);
        }
        if (auto e = this->ch_->try_take_slots(n)) {
            return std::unexpected(*e);
        }
        if (n == 0) {
            return permit_iterator<T>(nullptr, 0);
        }
        this->ch_->add_ref();
        return permit_iterator<T>(this->ch_, n);
    }

    /// Sends `value`, waiting at most `timeout` for a slot; on `timeout` or `closed` the
    /// error holds the value. Built on `reserve`: the value is never lost on timeout. If
    /// the task itself is cancelled, the value is dropped. The sender must outlive it.
    ///
    /// ```cpp
    /// #include <tako/sync/mpsc.hpp>
    ///
    /// tako::task<bool> timed_out() {
    ///     auto [tx, rx] = tako::sync::mpsc::channel<int>(1);
    ///     (void)tx.try_send(1); // full now
    ///     auto r = co_await tx.send_timeout(2, 10ms);
    ///     co_return !r && r.error().is_timeout() && r.error().value == 2;
    /// }
    /// ```
    [[nodiscard]] task<std::expected<void, send_timeout_error<T>>>
    send_timeout(T value, time::duration timeout) {
        auto r = co_await time::timeout(timeout, reserve());
        if (!r) {
            co_return std::unexpected(
                send_timeout_error<T>{send_timeout_error_kind::timeout, std::move(value)});
        }
        if (!*r) {
            co_return std::unexpected(
                send_timeout_error<T>{send_timeout_error_kind::closed, std::move(value)});
        }
        (*r)->send(std::move(value));
        co_return std::expected<void, send_timeout_error<T>>{};
    }

    /// Blocks the calling thread until `value` is sent (or the receiver is gone: the error
    /// holds the value). For plain threads: throws `std::logic_error` on a thread that
    /// drives tako tasks (a runtime worker, a `block_on` thread).
    std::expected<void, send_error<T>> blocking_send(T value) {
        detail::check_can_block("tako::sync::mpsc::sender::blocking_send");
        if (this->ch_ == nullptr) {
            return std::unexpected(send_error<T>{std::move(value)});
        }
        std::optional<T> v(std::move(value));
        detail::thread_signal sig;
        detail::waiter node;
        node.thread = &sig;
        detail::wait_state s = this->ch_->start_send(v, node, [] {});
        if (s == detail::wait_state::waiting) {
            sig.wait();
            s = node.get();
        }
        if (s == detail::wait_state::sent) {
            return {};
        }
        if (s == detail::wait_state::ready) {
            bool sent = false;
            try {
                sent = this->ch_->complete_granted_send(v);
            } catch (...) {
                this->ch_->release_reserved(1);
                throw;
            }
            if (sent) {
                return {};
            }
        }
        return std::unexpected(send_error<T>{std::move(*v)});
    }

    /// Free slots now (`max_capacity()` minus buffered and reserved values).
    [[nodiscard]] std::size_t capacity() const noexcept {
        if (this->ch_ == nullptr) {
            return 0;
        }
        typename detail::chan<T>::guard g(this->ch_->lock);
        return this->ch_->available;
    }
    /// The capacity the channel was created with.
    [[nodiscard]] std::size_t max_capacity() const noexcept {
        return this->ch_ == nullptr ? 0 : this->ch_->max_capacity;
    }

    /// A handle that does not keep the channel open (`Sender::downgrade`).
    [[nodiscard]] weak_sender<T> downgrade() const noexcept;

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t capacity);
    friend class weak_sender<T>;
    explicit sender(detail::chan<T>* ch) noexcept : detail::sender_base<T>(ch) {}
};

/// The sending half of an unbounded channel (`tokio::sync::mpsc::UnboundedSender`):
/// `send` never waits. Copyable like `sender`.
template <class T>
class unbounded_sender : public detail::sender_base<T> {
    static_assert(std::is_object_v<T> && std::is_move_constructible_v<T>,
                  "tako::sync::mpsc: the value type must be a move-constructible object type");

public:
    /// Sends `value` at once; the error holds it if the receiver is gone or closed.
    /// Throws `std::bad_alloc` if a block of slots cannot be allocated.
    [[nodiscard]] std::expected<void, send_error<T>> send(T value) {
        if (this->ch_ == nullptr || this->ch_->try_push(value)) {
            return std::unexpected(send_error<T>{std::move(value)});
        }
        return {};
    }

    /// A handle that does not keep the channel open.
    [[nodiscard]] weak_unbounded_sender<T> downgrade() const noexcept;

private:
    template <class U>
    friend std::pair<unbounded_sender<U>, unbounded_receiver<U>> unbounded_channel();
    friend class weak_unbounded_sender<T>;
    explicit unbounded_sender(detail::chan<T>* ch) noexcept : detail::sender_base<T>(ch) {}
};

/// The receiving half of a bounded channel (`tokio::sync::mpsc::Receiver`). Move-only;
/// one task receives at a time. Destroying it closes the channel and drops what is
/// buffered.
template <class T>
class receiver : public detail::receiver_base<T> {
public:
    /// Free slots now.
    [[nodiscard]] std::size_t capacity() const noexcept {
        if (this->ch_ == nullptr) {
            return 0;
        }
        typename detail::chan<T>::guard g(this->ch_->lock);
        return this->ch_->available;
    }
    /// The capacity the channel was created with.
    [[nodiscard]] std::size_t max_capacity() const noexcept {
        return this->ch_ == nullptr ? 0 : this->ch_->max_capacity;
    }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t capacity);
    explicit receiver(detail::chan<T>* ch) noexcept : detail::receiver_base<T>(ch) {}
};

/// The receiving half of an unbounded channel (`UnboundedReceiver`). As `receiver`.
template <class T>
class unbounded_receiver : public detail::receiver_base<T> {
private:
    template <class U>
    friend std::pair<unbounded_sender<U>, unbounded_receiver<U>> unbounded_channel();
    explicit unbounded_receiver(detail::chan<T>* ch) noexcept : detail::receiver_base<T>(ch) {}
};

namespace detail {

/// A handle that keeps the channel's memory, not the channel, alive.
template <class T, class Strong>
class weak_base {
public:
    weak_base(const weak_base& o) noexcept : ch_(o.ch_) {
        if (ch_ != nullptr) {
            ch_->add_ref();
        }
    }
    weak_base(weak_base&& o) noexcept : ch_(std::exchange(o.ch_, nullptr)) {}
    weak_base& operator=(const weak_base& o) noexcept {
        if (this != &o) {
            weak_base copy(o);
            std::swap(ch_, copy.ch_);
        }
        return *this;
    }
    weak_base& operator=(weak_base&& o) noexcept {
        if (this != &o) {
            reset();
            ch_ = std::exchange(o.ch_, nullptr);
        }
        return *this;
    }
    ~weak_base() { reset(); }

protected:
    explicit weak_base(chan<T>* ch) noexcept : ch_(ch) {
        if (ch_ != nullptr) {
            ch_->add_ref();
        }
    }
    void reset() noexcept {
        if (auto* c = std::exchange(ch_, nullptr)) {
            c->release_ref();
        }
    }
    /// The strong count if a sender still exists, as for `upgrade`.
    bool add_sender() const noexcept {
        if (ch_ == nullptr) {
            return false;
        }
        std::size_t n = ch_->senders.load(std::memory_order_relaxed);
        while (n != 0) {
            if (ch_->senders.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                                   std::memory_order_relaxed)) {
                ch_->add_ref();
                return true;
            }
        }
        return false;
    }

    chan<T>* ch_;
};

} // namespace detail

/// A sender that does not count (`tokio::sync::mpsc::WeakSender`): the receiver sees the
/// end of the stream when only weak senders are left. Copyable.
template <class T>
class weak_sender : public detail::weak_base<T, sender<T>> {
public:
    /// A sender, if any sender still exists (the channel is still open for the receiver).
    [[nodiscard]] std::optional<sender<T>> upgrade() const noexcept {
        if (!this->add_sender()) {
            return std::nullopt;
        }
        return sender<T>(this->ch_);
    }

private:
    friend class sender<T>;
    explicit weak_sender(detail::chan<T>* ch) noexcept : detail::weak_base<T, sender<T>>(ch) {}
};

/// A weak `unbounded_sender` (`WeakUnboundedSender`).
template <class T>
class weak_unbounded_sender : public detail::weak_base<T, unbounded_sender<T>> {
public:
    /// An unbounded sender, if any sender still exists.
    [[nodiscard]] std::optional<unbounded_sender<T>> upgrade() const noexcept {
        if (!this->add_sender()) {
            return std::nullopt;
        }
        return unbounded_sender<T>(this->ch_);
    }

private:
    friend class unbounded_sender<T>;
    explicit weak_unbounded_sender(detail::chan<T>* ch) noexcept
        : detail::weak_base<T, unbounded_sender<T>>(ch) {}
};

template <class T>
weak_sender<T> sender<T>::downgrade() const noexcept {
    return weak_sender<T>(this->ch_);
}

template <class T>
weak_unbounded_sender<T> unbounded_sender<T>::downgrade() const noexcept {
    return weak_unbounded_sender<T>(this->ch_);
}

/// A bounded channel holding at most `capacity` values (`tokio::sync::mpsc::channel`).
/// Throws `std::invalid_argument` if `capacity` is 0.
///
/// ```cpp
/// #include <tako/sync/mpsc.hpp>
///
/// inline bool fills_up() {
///     auto [tx, rx] = tako::sync::mpsc::channel<int>(2);
///     (void)tx.try_send(1);
///     (void)tx.try_send(2);
///     return tx.try_send(3).error().is_full(); // true: two values are buffered
/// }
/// ```
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
    if (capacity == 0) {
        throw std::invalid_argument("tako::sync::mpsc::channel: the capacity must be at least 1");
    }
    auto* c = new detail::chan<T>(capacity, true);
    return {sender<T>(c), receiver<T>(c)};
}

/// A channel without a bound (`tokio::sync::mpsc::unbounded_channel`): sending never
/// waits; memory grows with what the receiver has not taken yet.
template <class T>
std::pair<unbounded_sender<T>, unbounded_receiver<T>> unbounded_channel() {
    auto* c = new detail::chan<T>(std::numeric_limits<std::size_t>::max(), false);
    return {unbounded_sender<T>(c), unbounded_receiver<T>(c)};
}

} // namespace tako::sync::mpsc
