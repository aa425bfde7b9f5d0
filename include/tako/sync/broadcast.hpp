#pragma once
/// \file
/// `tako::sync::broadcast`: a multi-producer, multi-consumer queue in which every receiver
/// sees every value (`tokio::sync::broadcast`).
///
/// ```cpp
/// #include <tako/sync/broadcast.hpp>
///
/// tako::task<void> fan_out() {
///     namespace broadcast = tako::sync::broadcast;
///     auto [tx, rx1] = broadcast::channel<int>(16);
///     auto rx2 = tx.subscribe(); // sees values sent from now on
///     (void)tx.send(10);         // std::expected<std::size_t, send_error<int>>: 2 receivers
///     (void)tx.send(20);
///     auto a = co_await rx1.recv(); // std::expected<int, broadcast::recv_error>: 10
///     auto b = co_await rx2.recv(); // 10 as well
///     if (a && b) {
///         use(*a + *b);
///     }
/// }
/// ```
///
/// `channel<T>(capacity)` makes a `sender` (copyable) and a first `receiver`; more receivers
/// come from `sender::subscribe()` or `receiver::resubscribe()`, each starting at the tail:
/// it sees the values sent after it was made. A value is stored once, in a ring of slots,
/// and copied out for each receiver (`T` must be copyable); it is released when the last
/// receiver that was subscribed when it was sent has read it (or has been destroyed), or
/// when a newer value overwrites its slot.
///
/// **Capacity and lagging, as Tokio.** The ring has `capacity` rounded up to a power of two
/// slots (`std::bit_ceil`; Tokio's "the actual capacity may be greater than the provided
/// capacity"), and that rounded number is the hard bound on the values the channel
/// retains: a send into a full ring overwrites the oldest value even if some receiver has
/// not read it. That receiver's next `recv` (or `try_recv`) then reports
/// `recv_error::lagged(n)`, once, where `n` is the number of values it missed, and moves
/// it to the oldest value still retained, which the following `recv` returns. So with
/// `channel<int>(2)` and three sends, a receiver that read nothing gets `lagged(1)`, then
/// the second and the third value; with `channel<int>(10)` (16 slots) a receiver lags only
/// once more than 16 values are unread (`receiver::len() > 16`). Senders never wait.
///
/// **Closing.** When the last sender is destroyed the channel is closed: each receiver
/// still gets every value retained for it, then `recv_error::closed()`. When the last
/// receiver is destroyed, `send` fails and hands the value back (`send_error<T>`), and
/// `sender::closed()` completes; a later `subscribe()` opens the channel again.
///
/// **Waking.** A `recv` that finds nothing parks its task (an intrusive wait node, no
/// allocation); `send` wakes every parked receiver after releasing the channel's lock, in
/// batches of 32. Waking only schedules: no receiver runs inside `send`.
///
/// Thread safety: a `sender` may be used from any thread, also concurrently through
/// copies or a shared reference. A `receiver` belongs to one task at a time (its `recv`
/// advances its position); distinct receivers are independent.

#include <atomic>
#include <bit>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "tako/detail/spin_lock.hpp"
#include "tako/detail/closed_awaiter.hpp"
#include "tako/detail/wait_list.hpp"

namespace tako::sync::broadcast {

/// The value of a failed `sender::send`, handed back: there was no receiver.
template <class T>
struct send_error {
    T value; ///< the value that was not sent
};

/// Why `receiver::recv` produced no value: the channel is closed, or the receiver lagged.
class recv_error {
public:
    /// The two reasons.
    enum class kind : unsigned char {
        closed, ///< every sender is gone and every value retained for this receiver was read
        lagged, ///< values were overwritten before this receiver read them
    };

    /// Every sender is gone and nothing is left to read.
    [[nodiscard]] static constexpr recv_error closed() noexcept { return {kind::closed, 0}; }
    /// The receiver missed `skipped` values; its next receive returns the oldest retained.
    [[nodiscard]] static constexpr recv_error lagged(std::uint64_t skipped) noexcept {
        return {kind::lagged, skipped};
    }

    /// Which reason.
    [[nodiscard]] constexpr kind reason() const noexcept { return kind_; }
    /// True for `closed()`.
    [[nodiscard]] constexpr bool is_closed() const noexcept { return kind_ == kind::closed; }
    /// True for `lagged(n)`.
    [[nodiscard]] constexpr bool is_lagged() const noexcept { return kind_ == kind::lagged; }
    /// The `n` of `lagged(n)` (values skipped); 0 for `closed()`.
    [[nodiscard]] constexpr std::uint64_t skipped() const noexcept { return skipped_; }

    /// Same reason and, for `lagged`, the same count.
    friend constexpr bool operator==(const recv_error&, const recv_error&) noexcept = default;

private:
    constexpr recv_error(kind k, std::uint64_t n) noexcept : kind_(k), skipped_(n) {}
    kind kind_;
    std::uint64_t skipped_;
};

/// Why `receiver::try_recv` produced no value: nothing to read yet, closed, or lagged.
class try_recv_error {
public:
    /// The three reasons.
    enum class kind : unsigned char {
        empty,  ///< nothing to read now; a sender may still send
        closed, ///< every sender is gone and every value retained for this receiver was read
        lagged, ///< values were overwritten before this receiver read them
    };

    /// Nothing to read now.
    [[nodiscard]] static constexpr try_recv_error empty() noexcept { return {kind::empty, 0}; }
    /// Every sender is gone and nothing is left to read.
    [[nodiscard]] static constexpr try_recv_error closed() noexcept { return {kind::closed, 0}; }
    /// The receiver missed `skipped` values; its next receive returns the oldest retained.
    [[nodiscard]] static constexpr try_recv_error lagged(std::uint64_t skipped) noexcept {
        return {kind::lagged, skipped};
    }

    /// Which reason.
    [[nodiscard]] constexpr kind reason() const noexcept { return kind_; }
    /// True for `empty()`.
    [[nodiscard]] constexpr bool is_empty() const noexcept { return kind_ == kind::empty; }
    /// True for `closed()`.
    [[nodiscard]] constexpr bool is_closed() const noexcept { return kind_ == kind::closed; }
    /// True for `lagged(n)`.
    [[nodiscard]] constexpr bool is_lagged() const noexcept { return kind_ == kind::lagged; }
    /// The `n` of `lagged(n)` (values skipped); 0 otherwise.
    [[nodiscard]] constexpr std::uint64_t skipped() const noexcept { return skipped_; }

    /// Same reason and, for `lagged`, the same count.
    friend constexpr bool operator==(const try_recv_error&,
                                     const try_recv_error&) noexcept = default;

private:
    constexpr try_recv_error(kind k, std::uint64_t n) noexcept : kind_(k), skipped_(n) {}
    kind kind_;
    std::uint64_t skipped_;
};

template <class T>
class sender;
template <class T>
class receiver;
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity);

namespace detail {

/// A reader-writer spin lock guarding one slot, and in the same word the number of
/// receivers that have yet to read the slot's value. Readers (receivers copying the value
/// out) share the lock; the writer is a sender overwriting the slot, and there is at most
/// one at a time because senders hold the channel's tail lock while they write. Critical
/// sections are a copy or a destruction of one value: spinning briefly, then yielding the
/// CPU, is cheaper than sleeping.
///
/// Word layout: bit 0 the writer, bits 1-31 the readers inside (2 each), bits 32-63 the
/// unread count. Keeping the count in the lock's word lets a reader of a value with no
/// destructor to run record "read" and leave in one atomic operation
/// (`read_and_unlock_shared`): a delivery costs two read-modify-writes of the slot's line
/// instead of three. The count is stable while the writer holds the lock: readers change
/// it only inside, and they back off before touching it while the writer bit is set.
class slot_lock {
public:
    void lock_shared() noexcept {
        for (unsigned spins = 0;;) {
            // acquire: pairs with unlock's release, so the writer's slot writes are seen.
            if ((word_.fetch_add(reader, std::memory_order_acquire) & writer) == 0) {
                return;
            }
            word_.fetch_sub(reader, std::memory_order_relaxed); // a writer holds it: back off
            while ((word_.load(std::memory_order_relaxed) & writer) != 0) {
                backoff(spins);
            }
        }
    }
    void unlock_shared() noexcept {
        // release: the reads of the slot happen before a later writer's writes.
        word_.fetch_sub(reader, std::memory_order_release);
    }
    /// Held shared: counts this reader's read and leaves. True if it was the last unread.
    bool read_and_unlock_shared() noexcept {
        // release: as unlock_shared; acquire: the last reader sees the others done.
        const std::uint64_t old = word_.fetch_sub(reader + unread_one, std::memory_order_acq_rel);
        return (old >> unread_shift) == 1;
    }
    /// Held shared: counts this reader's read, staying inside. True if it was the last
    /// unread: every other reader of the value is done with it.
    bool read_shared() noexcept {
        const std::uint64_t old = word_.fetch_sub(unread_one, std::memory_order_acq_rel);
        return (old >> unread_shift) == 1;
    }
    /// The receivers that have yet to read the value (a snapshot).
    [[nodiscard]] std::uint64_t unread() const noexcept {
        return word_.load(std::memory_order_acquire) >> unread_shift;
    }
    /// Precondition: no other writer (the caller holds the tail lock).
    void lock() noexcept {
        word_.fetch_or(writer, std::memory_order_acquire); // new readers back off from now
        for (unsigned spins = 0; (word_.load(std::memory_order_acquire) & readers) != 0;) {
            backoff(spins); // readers inside drain
        }
    }
    /// Sets the unread count to `n` (below 2^32) and unlocks, in one operation. Readers
    /// backing off may be adding and removing their 2 meanwhile: only the count's bits and
    /// the writer bit change, by an addition.
    void unlock_with_unread(std::uint64_t n) noexcept {
        const std::uint64_t current = word_.load(std::memory_order_relaxed) >> unread_shift;
        word_.fetch_add(((n - current) << unread_shift) - writer, std::memory_order_release);
    }

private:
    static constexpr std::uint64_t writer = 1;
    static constexpr std::uint64_t reader = 2;
    static constexpr std::uint64_t readers = 0xffff'fffeu;
    static constexpr int unread_shift = 32;
    static constexpr std::uint64_t unread_one = std::uint64_t{1} << unread_shift;
    static void backoff(unsigned& spins) noexcept {
        if (spins++ < 64) {
            tako::detail::cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }
    std::atomic<std::uint64_t> word_{0};
};

/// One slot of the ring: the value sent at position `pos`; `lock` also counts how many of
/// the receivers subscribed at that send have yet to read it. On its own cache line, so a
/// sender filling the next slot does not disturb receivers reading this one.
template <class T>
struct alignas(64) slot {
    slot_lock lock;
    /// The position whose value this slot holds (or last held). Written by a sender under
    /// `lock` (exclusive) and the tail lock; read under `lock` (shared).
    std::uint64_t pos = 0;
    /// Empty at a position whose send threw while storing the value, or once released:
    /// the receiver that reads it last destroys it (under the shared lock: every other
    /// reader of this position is done), unless `T` has no destructor to run, in which
    /// case it stays until overwritten.
    std::optional<T> value;
};

/// The shared batch-firing loop (see tako::detail::fire_all).
using tako::detail::fire_all;

/// The channel: the ring, the tail (next position to write) and the waiters.
template <class T>
struct shared {
    static_assert(std::is_copy_constructible_v<T>,
                  "tako::sync::broadcast: the value type must be copyable (each receiver gets a "
                  "copy)");

    explicit shared(std::size_t ring_size)
        : slots(new slot<T>[ring_size]), capacity(ring_size), mask(ring_size - 1) {
        for (std::size_t i = 0; i < ring_size; ++i) {
            // One lap behind position i: a receiver at i finds the slot empty, not lagged.
            slots[i].pos = static_cast<std::uint64_t>(i) - capacity;
        }
    }
    shared(const shared&) = delete;
    shared& operator=(const shared&) = delete;

    std::unique_ptr<slot<T>[]> slots;
    const std::uint64_t capacity; ///< ring size: the requested capacity rounded up
    const std::uint64_t mask;

    /// Guards everything below; taken before a slot's lock, never after it.
    tako::detail::spin_lock tail_lock;
    std::uint64_t tail = 0;                 ///< next position to write
    std::size_t rx_count = 0;               ///< live receivers
    bool closed = false;                    ///< every sender is gone
    tako::detail::wait_list waiters;        ///< recv() awaiters that found nothing
    tako::detail::wait_list closed_waiters; ///< sender::closed() awaiters

    /// For `sender::closed()` (`tako::detail::closed_awaiter`).
    auto& closed_lock() noexcept { return tail_lock; }
    bool has_receivers_locked() const noexcept { return rx_count != 0; }
    std::atomic<std::size_t> tx_count{1};   ///< live senders
};

} // namespace detail

/// The sending half. Copyable: the channel closes when the last copy is destroyed.
/// Thread-safe. A moved-from sender may only be assigned to or destroyed.
template <class T>
class sender {
public:
    sender(const sender& o) noexcept : s_(o.s_) {
        if (s_) {
            s_->tx_count.fetch_add(1, std::memory_order_relaxed);
        }
    }
    sender(sender&& o) noexcept = default;
    sender& operator=(const sender& o) noexcept {
        if (this != &o) {
            sender copy(o);
            release();
            s_ = std::move(copy.s_);
        }
        return *this;
    }
    sender& operator=(sender&& o) noexcept {
        if (this != &o) {
            release();
            s_ = std::move(o.s_);
        }
        return *this;
    }
    /// The last sender closes the channel: waiting receivers wake and, once they have read
    /// what is retained for them, get `recv_error::closed()`.
    ~sender() { release(); }

    /// Stores `value` for every current receiver and wakes those waiting. Returns the
    /// number of receivers subscribed (not all of them may read it: one may be destroyed,
    /// or lag, first). With no receiver, the value comes back in the error and nothing is
    /// stored. Never waits: a full ring overwrites its oldest value (see "lagging" above).
    /// If `T`'s move constructor throws while the value is stored, the exception
    /// propagates and that position carries no value (receivers skip it).
    [[nodiscard]] std::expected<std::size_t, send_error<T>> send(T value) const {
        detail::shared<T>& s = *s_;
        std::unique_lock guard(s.tail_lock);
        if (s.rx_count == 0) {
            return std::unexpected(send_error<T>{std::move(value)});
        }
        const std::uint64_t pos = s.tail++;
        const std::size_t receivers = s.rx_count;
        detail::slot<T>& sl = s.slots[pos & s.mask];
        sl.lock.lock();
        sl.pos = pos;
        try {
            sl.value.emplace(std::move(value)); // releases the overwritten value first
        } catch (...) {
            sl.lock.unlock_with_unread(0); // nothing to read at `pos`
            detail::fire_all(guard, s.waiters);
            throw;
        }
        sl.lock.unlock_with_unread(receivers);
        detail::fire_all(guard, s.waiters);
        return receivers;
    }

    /// A new receiver that sees the values sent after this call.
    [[nodiscard]] receiver<T> subscribe() const { return receiver<T>(s_); }

    /// The number of live receivers.
    [[nodiscard]] std::size_t receiver_count() const noexcept {
        std::lock_guard guard(s_->tail_lock);
        return s_->rx_count;
    }

    /// The number of values retained: sent, and neither read by every receiver subscribed
    /// at the time nor overwritten. (`receiver::len` counts what one receiver has yet to
    /// receive, including values it lost by lagging.)
    [[nodiscard]] std::size_t len() const noexcept {
        detail::shared<T>& s = *s_;
        std::lock_guard guard(s.tail_lock);
        // Retained values form a suffix of the last `capacity` positions (a receiver reads
        // in order, so an older value is released no later than a newer one): binary search
        // for the first slot, from the oldest, that some receiver has yet to read.
        std::uint64_t low = 0;
        std::uint64_t high = s.capacity;
        while (low < high) {
            const std::uint64_t mid = low + (high - low) / 2;
            if (s.slots[(s.tail + mid) & s.mask].lock.unread() == 0) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return static_cast<std::size_t>(s.capacity - low);
    }

    /// True if no value is retained (`len() == 0`).
    [[nodiscard]] bool is_empty() const noexcept {
        detail::shared<T>& s = *s_;
        std::lock_guard guard(s.tail_lock);
        return s.slots[(s.tail - 1) & s.mask].lock.unread() == 0;
    }

    /// True if both senders belong to the same channel.
    [[nodiscard]] bool same_channel(const sender& o) const noexcept { return s_ == o.s_; }

    /// What `closed()` returns: one wait, parked on the channel's closed-waiter list.
    using closed_awaiter = tako::detail::closed_awaiter<detail::shared<T>>;
    /// Completes when the channel has no receiver (at once if it has none now). If a new
    /// receiver subscribes between the last one's destruction and the waiting task's
    /// resumption, it completes all the same. Cancel-safe: it takes nothing.
    [[nodiscard]] closed_awaiter closed() const noexcept { return closed_awaiter(*s_); }


private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t capacity);
    explicit sender(std::shared_ptr<detail::shared<T>> s) noexcept : s_(std::move(s)) {}

    void release() noexcept {
        std::shared_ptr<detail::shared<T>> s = std::move(s_);
        // acq_rel: the last sender's close comes after every other sender's sends.
        if (s && s->tx_count.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::unique_lock guard(s->tail_lock);
            s->closed = true;
            detail::fire_all(guard, s->waiters);
        }
    }

    std::shared_ptr<detail::shared<T>> s_;
};

/// The receiving half: reads every value sent after it was made, in order. Move-only (a
/// second receiver comes from `resubscribe`). Used by one task at a time. Its `recv()`
/// awaiters refer to it: it must not be moved or destroyed while one exists. A moved-from
/// receiver may only be assigned to or destroyed.
template <class T>
class receiver {
    /// What a look at the next position found.
    enum class found : unsigned char { value, empty, closed, lagged };
    struct probe {
        found what;
        detail::slot<T>* slot = nullptr; ///< `value`: shared-locked, holding `next_`'s value
        std::uint64_t oldest = 0;        ///< `lagged`: the oldest retained position
    };

public:
    receiver(receiver&& o) noexcept : s_(std::move(o.s_)), next_(o.next_) {}
    receiver& operator=(receiver&& o) noexcept {
        if (this != &o) {
            reset();
            s_ = std::move(o.s_);
            next_ = o.next_;
        }
        return *this;
    }
    receiver(const receiver&) = delete;
    receiver& operator=(const receiver&) = delete;
    /// Marks every value this receiver has yet to read as read (the last reader of a value
    /// releases it). The last receiver completes the senders' `closed()`.
    ~receiver() { reset(); }

    class recv_awaiter;
    /// The next value, as a fresh awaiter: `co_await rx.recv()` gives
    /// `std::expected<T, recv_error>`: the value, `recv_error::lagged(n)` if `n` values
    /// were overwritten before this receiver read them (the next `recv` returns the oldest
    /// retained value), or `recv_error::closed()` once every sender is gone and nothing is
    /// left. Waits if there is nothing yet.
    ///
    /// Cancel-safe: a `recv` destroyed before it completes (its task cancelled, or it lost
    /// a `select`) has taken nothing; the value stays for the next `recv`. Each call makes
    /// a new awaiter, so `select(rx.recv(), stop.notified())` can run in a loop.
    [[nodiscard]] recv_awaiter recv() noexcept { return recv_awaiter(*this); }

    /// The next value if one is there now; else `try_recv_error::empty()`,
    /// `try_recv_error::closed()` or `try_recv_error::lagged(n)`, as `recv` would. Never
    /// waits. If copying the value throws, the value stays in the channel.
    [[nodiscard]] std::expected<T, try_recv_error> try_recv() {
        const probe p = locate(nullptr, {});
        if (p.what == found::empty) {
            return std::unexpected(try_recv_error::empty());
        }
        std::expected<T, recv_error> r = take(p);
        if (r.has_value()) {
            return std::move(*r);
        }
        return std::unexpected(r.error().is_closed() ? try_recv_error::closed()
                                                     : try_recv_error::lagged(r.error().skipped()));
    }

    /// A new receiver on the same channel, starting at the tail: it sees the values sent
    /// after this call, not those this receiver has yet to read.
    [[nodiscard]] receiver resubscribe() const { return receiver(s_); }

    /// The number of values sent that this receiver has yet to receive. Above the ring
    /// size, the next receive reports `lagged`.
    [[nodiscard]] std::size_t len() const noexcept {
        std::lock_guard guard(s_->tail_lock);
        return static_cast<std::size_t>(s_->tail - next_);
    }

    /// True if `len() == 0`.
    [[nodiscard]] bool is_empty() const noexcept { return len() == 0; }

    /// True if both receivers belong to the same channel.
    [[nodiscard]] bool same_channel(const receiver& o) const noexcept { return s_ == o.s_; }

    /// What `recv()` returns: one receive, parked on the channel's wait list when there is
    /// nothing to read. The wait node is a private base, so the channel finds it.
    class recv_awaiter : private tako::detail::wait_node {
    public:
        explicit recv_awaiter(receiver& rx) noexcept : rx_(&rx) {}
        /// Only an awaiter that is not being awaited may be moved (e.g. into `select`).
        recv_awaiter(recv_awaiter&& o) noexcept : rx_(o.rx_) {}
        recv_awaiter(const recv_awaiter&) = delete;
        recv_awaiter& operator=(const recv_awaiter&) = delete;
        /// Unlinks from the channel if the awaiting task is cancelled while parked.
        ~recv_awaiter() {
            if (linked_) {
                std::lock_guard guard(rx_->s_->tail_lock);
                if (is_linked()) {
                    unlink();
                }
            }
            if (found_.what == found::value) {
                found_.slot->lock.unlock_shared(); // await_ready held it, nobody resumed us
            }
        }

        // Completes now if something is there and the budget allows. A value's slot stays
        // shared-locked until await_resume copies it out, which follows at once (no
        // suspension in between, same thread).
        bool await_ready() noexcept {
            if (!tako::detail::consume_budget()) {
                return false; // await_suspend yields first, taking nothing yet
            }
            budget_ok_ = true;
            return hold(rx_->locate(nullptr, {}));
        }
        // Looks again and parks if there is still nothing, until a send or the close fires
        // our node (the scheduler resumes us only then: our gate is open). With the budget
        // spent, yields if something is there and takes it when resumed.
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            tako::detail::wait_node& node = *this;
            if (budget_ok_) {
                if (hold(rx_->locate(&node, h))) { // links `node` if there is nothing
                    return false;
                }
            } else if (rx_->ready_or_link(node, h)) {
                tako::detail::yield_at(h);
                return true;
            }
            linked_ = true;
            return true;
        }
        std::expected<T, recv_error> await_resume() {
            linked_ = false; // a firer unlinked us; a yield never linked us
            if (found_.what == found::empty) {
                // Something was there when we yielded, or a send / the close fired us: a
                // value, a lag or the close, and none of them goes away.
                found_ = rx_->locate(nullptr, {});
            }
            return rx_->take(std::exchange(found_, probe{found::empty}));
        }

    private:
        bool hold(const probe& p) noexcept {
            found_ = p;
            return p.what != found::empty;
        }

        receiver* rx_;
        probe found_{found::empty};
        bool budget_ok_ = false;
        bool linked_ = false; ///< may be linked: the destructor must look, under the lock
    };

private:
    friend class sender<T>;
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t capacity);

    /// Subscribes at the tail.
    explicit receiver(std::shared_ptr<detail::shared<T>> s) : s_(std::move(s)) {
        std::lock_guard guard(s_->tail_lock);
        ++s_->rx_count;
        next_ = s_->tail;
    }

    /// What is at `next_`. `value`: returned with the slot shared-locked. `empty`: if
    /// `node` is given, armed for `h` and linked, under the tail lock (so no send can slip
    /// between the look and the link). Skips positions whose send threw.
    probe locate(tako::detail::wait_node* node, std::coroutine_handle<> h) noexcept {
        detail::shared<T>& s = *s_;
        for (;;) {
            detail::slot<T>& sl = s.slots[next_ & s.mask];
            sl.lock.lock_shared();
            if (sl.pos != next_) {
                // Not written yet, or overwritten: ask the tail. The slot lock is taken
                // after the tail lock, as senders do.
                sl.lock.unlock_shared();
                std::lock_guard guard(s.tail_lock);
                sl.lock.lock_shared();
                if (sl.pos != next_) {
                    const std::uint64_t pos = sl.pos;
                    sl.lock.unlock_shared();
                    if (pos + s.capacity == next_) { // one lap behind: nothing new for us
                        if (s.closed) {
                            return {found::closed};
                        }
                        if (node != nullptr) {
                            node->arm(h);
                            s.waiters.push_back(*node);
                        }
                        return {found::empty};
                    }
                    return {found::lagged, nullptr, s.tail - s.capacity};
                }
            }
            if (sl.value.has_value()) {
                return {found::value, &sl};
            }
            sl.lock.unlock_shared(); // its send threw: nothing to read at this position
            ++next_;
        }
    }

    /// This receiver has read the value in `sl` (shared-locked by the caller): counts the
    /// read and unlocks. The last reader destroys a value that has a destructor.
    static void mark_read_and_unlock(detail::slot<T>& sl) noexcept {
        if constexpr (std::is_trivially_destructible_v<T>) {
            (void)sl.lock.read_and_unlock_shared();
        } else {
            if (sl.lock.read_shared()) {
                sl.value.reset();
            }
            sl.lock.unlock_shared();
        }
    }

    /// Takes what `locate` found (not `empty`): copies the value out and unlocks its slot
    /// (if the copy throws, nothing is taken), or moves past a lag to the oldest retained
    /// value, or reports the close.
    std::expected<T, recv_error> take(const probe& p) {
        switch (p.what) {
        case found::value: {
            struct unlock_if_copy_throws {
                detail::slot_lock& l;
                bool copied = false;
                ~unlock_if_copy_throws() {
                    if (!copied) {
                        l.unlock_shared(); // nothing taken: the value stays for us
                    }
                }
            } guard{p.slot->lock};
            std::expected<T, recv_error> r(std::in_place, *p.slot->value);
            guard.copied = true;
            mark_read_and_unlock(*p.slot);
            ++next_;
            return r;
        }
        case found::lagged: {
            const std::uint64_t missed = p.oldest - next_;
            next_ = p.oldest;
            return std::unexpected(recv_error::lagged(missed));
        }
        case found::closed:
            break;
        case found::empty:
            assert(!"tako::sync::broadcast: nothing to take");
            break;
        }
        return std::unexpected(recv_error::closed());
    }

    /// True if a receive would complete now (nothing is taken); else links `node` for `h`.
    bool ready_or_link(tako::detail::wait_node& node, std::coroutine_handle<> h) noexcept {
        const probe p = locate(&node, h);
        if (p.what == found::value) {
            p.slot->lock.unlock_shared();
        }
        return p.what != found::empty;
    }

    void reset() noexcept {
        if (!s_) {
            return;
        }
        detail::shared<T>& s = *s_;
        std::uint64_t until = 0;
        bool last = false;
        {
            std::lock_guard guard(s.tail_lock);
            --s.rx_count;
            last = s.rx_count == 0;
            until = s.tail; // later values do not count this receiver
        }
        // Read (without copying) what this receiver was counted for, so the last reader of
        // each value releases it.
        while (next_ < until) {
            const probe p = locate(nullptr, {});
            if (p.what == found::value) {
                mark_read_and_unlock(*p.slot);
                ++next_;
            } else if (p.what == found::lagged) {
                next_ = p.oldest; // the values before it were overwritten
            } else {
                break;
            }
        }
        if (last) {
            std::unique_lock guard(s.tail_lock);
            if (s.rx_count == 0) { // nobody subscribed meanwhile
                detail::fire_all(guard, s.closed_waiters);
            }
        }
        s_.reset();
    }

    std::shared_ptr<detail::shared<T>> s_;
    std::uint64_t next_ = 0; ///< the next position to read
};

/// A channel retaining up to `capacity` values (rounded up to a power of two, see above),
/// with one receiver. Throws `std::invalid_argument` if `capacity` is 0 or above
/// `SIZE_MAX / 2`.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
    if (capacity == 0) {
        throw std::invalid_argument("tako::sync::broadcast::channel: capacity must be positive");
    }
    if (capacity > (std::numeric_limits<std::size_t>::max() >> 1)) {
        throw std::invalid_argument("tako::sync::broadcast::channel: capacity above SIZE_MAX / 2");
    }
    auto s = std::make_shared<detail::shared<T>>(std::bit_ceil(capacity));
    receiver<T> rx(s);
    return {sender<T>(std::move(s)), std::move(rx)};
}

} // namespace tako::sync::broadcast
