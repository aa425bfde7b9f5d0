#pragma once
// The I/O driver: one epoll instance, edge-triggered, one registration per descriptor.
// A registration holds a readiness word (readiness bits in the low 16 bits, an event tick
// above them) and a wait list per direction. The thread parked on the driver dispatches
// events: it raises the readiness bits and bumps the tick under the registration's lock,
// then fires the waiters of each direction that became ready. Clearing readiness after
// EAGAIN only succeeds if the tick is the one the operation saw, so an edge that arrives
// between the syscall and the clear is never erased (docs/io-driver.md).
//
// Deregistration while the driver handles an event for the same descriptor: the owner
// removes the descriptor from epoll and hands the registration to the driver, which frees
// it at the start of its next park — parks are serialized (one thread at a time), so the
// dispatch that might still hold the pointer has finished by then.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "runtime/driver.hpp"
#include "tako/detail/io_source.hpp"
#include "tako/detail/spin_lock.hpp"
#include "tako/detail/wait_list.hpp"
#include "tako/io/result.hpp"
#include "tako/sync/notify.hpp"

namespace tako::detail {

/// A runtime-internal watcher: a descriptor whose readiness runs code on the parked
/// thread instead of waking tasks (the signal pipe, children nobody waits for). Registered
/// with `io_driver::add_handler`; the driver never frees it.
struct io_handler {
    /// The descriptor became readable (or hung up, or failed): runs on the thread parked on
    /// the driver, inside its dispatch. Edge-triggered: drain what needs draining. May call
    /// `driver.remove(r)` (then close its descriptor).
    virtual void on_ready(class io_driver& driver, struct io_registration* r) noexcept = 0;
    /// The driver shut down: `r` is already out of epoll and will be freed by the driver;
    /// the handler owns its descriptor and itself from here on.
    virtual void on_shutdown() noexcept = 0;

protected:
    ~io_handler() = default;
};

struct io_registration {
    int fd = -1;
    /// Set for a handler registration (add_handler): events call it; no task waits here.
    io_handler* handler = nullptr;
    /// Readiness bits (io_ready) in bits 0..15, the driver's event tick above.
    std::atomic<std::uint64_t> readiness{0};
    /// Set once the driver shut down: waits complete at once with an error.
    std::atomic<bool> shut_down{false};
    spin_lock lock; ///< guards the wait lists
    wait_list readers;
    wait_list writers;
    // The driver's list of live registrations (under the driver's lock).
    io_registration* prev = nullptr;
    io_registration* next = nullptr;
};

class io_driver final : public driver, public std::enable_shared_from_this<io_driver> {
public:
    /// Throws std::system_error if epoll or the eventfd cannot be created.
    io_driver();
    ~io_driver() override;
    io_driver(const io_driver&) = delete;
    io_driver& operator=(const io_driver&) = delete;

    void park(std::optional<std::chrono::nanoseconds> timeout) noexcept override;
    void unpark() noexcept override;
    /// Fails every registration's waits (they complete with runtime_shut_down) and refuses
    /// new registrations.
    void shutdown() noexcept override;

    /// Registers `fd` for read and write readiness (edge-triggered), starting as readable
    /// and writable if `assume_ready`, else as nothing until the kernel reports.
    [[nodiscard]] io::result<io_registration*> add(int fd, bool assume_ready) noexcept;
    /// Registers `fd` for `h`: each readiness edge calls `h->on_ready` on the parked thread.
    [[nodiscard]] io::result<io_registration*> add_handler(int fd, io_handler* h) noexcept;
    /// Removes `r`'s descriptor from epoll (before the caller closes it) and frees the
    /// registration once no dispatch can still hold it. Wakes nobody: its owner is gone.
    void remove(io_registration* r) noexcept;

    /// An io_source of this driver closed its descriptor: wakes the accept loops that wait
    /// for one (wait_for_free_descriptor).
    void descriptor_closed() noexcept {
        if (free_waiters_.load(std::memory_order_acquire) != 0) {
            freed_.notify_waiters();
        }
    }
    /// The wait behind wait_for_free_descriptor; count it in `free_waiters_` while waiting.
    std::atomic<std::uint32_t> free_waiters_{0};
    sync::notify freed_;
    /// Set by the signal module once this driver watches its self-pipe
    /// (src/signal/registry.cpp).
    std::atomic<bool> signals_watched_{false};

private:
    [[nodiscard]] io::result<io_registration*> add_registration(int fd, bool assume_ready,
                                                                io_handler* h) noexcept;
    void dispatch(io_registration* r, std::uint32_t events) noexcept;
    /// Queues a registration that left epoll to be freed at the next park.
    void push_released(io_registration* r) noexcept;
    void free_released() noexcept;

    int epoll_ = -1;
    int event_fd_ = -1;
    static constexpr std::uint32_t idle = 0, parked = 1, notified = 2;
    std::atomic<std::uint32_t> state_{idle};

    std::mutex lock_; ///< guards the live list and shut_down_
    io_registration live_{};
    /// Removed registrations waiting for the next park, a stack linked through `next`.
    std::atomic<io_registration*> released_{nullptr};
    bool shut_down_ = false;
};

/// The calling thread's runtime's I/O driver, or why there is none.
[[nodiscard]] io::result<std::shared_ptr<io_driver>> current_io_driver() noexcept;

} // namespace tako::detail
