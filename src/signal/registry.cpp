// The signal registry: one slot per signal number (pending flag, version counter, waiters),
// the process-wide self-pipe the handler writes to, and the driver-side watcher that turns
// a byte on the pipe into woken listeners (docs/process-signal.md).

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <new>

#include "io/io_driver.hpp"
#include "tako/signal/ctrl_c.hpp"
#include "tako/signal/unix_signal.hpp"
#include "tako/sync/notify.hpp"

namespace tako::signal {

namespace detail {

/// One signal's state. `pending` and the pipe are all the handler touches.
struct signal_slot {
    /// Set (release) by the handler; taken (acq_rel exchange) by the driver-side broadcast.
    std::atomic<bool> pending{false};
    /// Bumped once per broadcast that found `pending`; listeners compare it with theirs.
    std::atomic<std::uint64_t> version{0};
    bool installed = false; ///< guarded by the registry's lock
    sync::notify changed;
};

} // namespace detail

namespace {

using detail::signal_slot;

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

constexpr int max_signal = 64; ///< SIGRTMAX on Linux

struct registry {
    std::array<signal_slot, max_signal + 1> slots;
    std::mutex lock; ///< guards installation and the pipe's creation
    int read_fd = -1;
};

// Never destroyed: a handler may run while the process exits. The handler reads these two
// without locks; both are set (release) before any handler that uses them is installed.
std::atomic<registry*> the_registry{nullptr};
std::atomic<int> pipe_write_fd{-1};

registry& get_registry() {
    static registry* r = [] {
        auto* made = new registry;
        the_registry.store(made, std::memory_order_release);
        return made;
    }();
    return *r;
}

extern "C" void on_signal(int sig) {
    const int saved = errno;
    registry* r = the_registry.load(std::memory_order_acquire);
    if (r != nullptr && sig > 0 && sig <= max_signal) {
        // release: the broadcast that takes the flag sees everything before the signal.
        r->slots[static_cast<std::size_t>(sig)].pending.store(true, std::memory_order_release);
        const char byte = 0;
        // EAGAIN: the pipe is full, so it is readable and the driver will look anyway.
        (void)!::write(pipe_write_fd.load(std::memory_order_relaxed), &byte, 1);
    }
    errno = saved;
}

/// Wakes the listeners of every signal whose flag is set. Runs on a thread parked on an I/O
/// driver, after the pipe was drained: a signal that arrives after the drain either has its
/// flag seen here or writes a new byte, which is a new edge and another broadcast.
void broadcast(registry& r) noexcept {
    for (auto& slot : r.slots) {
        if (slot.pending.load(std::memory_order_relaxed) &&
            slot.pending.exchange(false, std::memory_order_acq_rel)) {
            // release: a listener that sees the new version sees the signal's effects.
            slot.version.fetch_add(1, std::memory_order_release);
            slot.changed.notify_waiters();
        }
    }
}

/// The driver-side end of the pipe: a duplicate of the read end per runtime.
class pipe_watcher final : public tako::detail::io_handler {
public:
    explicit pipe_watcher(int fd) noexcept : fd_(fd) {}
    void on_ready(tako::detail::io_driver&, tako::detail::io_registration*) noexcept override {
        char buf[128];
        // Non-blocking (the flag is shared with the original read end): EAGAIN ends it.
        while (::read(fd_, buf, sizeof buf) > 0 || errno == EINTR) {
        }
        broadcast(get_registry());
    }
    void on_shutdown() noexcept override {
        ::close(fd_);
        delete this;
    }

private:
    int fd_;
};

/// Makes the calling thread's runtime watch the self-pipe (once per runtime).
io::result<void> watch_pipe(registry& r) {
    auto driver = tako::detail::current_io_driver();
    if (!driver) {
        return std::unexpected(driver.error());
    }
    auto& d = **driver;
    if (d.signals_watched_.load(std::memory_order_acquire)) {
        return {};
    }
    std::lock_guard guard(r.lock);
    if (d.signals_watched_.load(std::memory_order_relaxed)) {
        return {};
    }
    const int fd = ::fcntl(r.read_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return std::unexpected(last_error());
    }
    auto* watcher = new (std::nothrow) pipe_watcher(fd);
    if (watcher == nullptr) {
        ::close(fd);
        return std::unexpected(std::make_error_code(std::errc::not_enough_memory));
    }
    if (auto reg = d.add_handler(fd, watcher); !reg) {
        ::close(fd);
        delete watcher;
        return std::unexpected(reg.error());
    }
    d.signals_watched_.store(true, std::memory_order_release);
    return {};
}

bool listenable(int sig) noexcept {
    return sig > 0 && sig <= max_signal && sig < SIGRTMIN + (SIGRTMAX - SIGRTMIN) + 1 &&
           sig != SIGKILL && sig != SIGSTOP && sig != SIGILL && sig != SIGFPE && sig != SIGSEGV;
}

/// Creates the pipe and installs `sig`'s handler, once each. Under the registry's lock.
io::result<void> install(registry& r, int sig) {
    if (r.read_fd < 0) {
        int fds[2];
        if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
            return std::unexpected(last_error());
        }
        r.read_fd = fds[0];
        pipe_write_fd.store(fds[1], std::memory_order_release);
    }
    auto& slot = r.slots[static_cast<std::size_t>(sig)];
    if (slot.installed) {
        return {};
    }
    struct ::sigaction sa {};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    ::sigemptyset(&sa.sa_mask);
    if (::sigaction(sig, &sa, nullptr) != 0) {
        return std::unexpected(last_error());
    }
    slot.installed = true;
    return {};
}

} // namespace

io::result<signal_listener> unix_signal(signal_kind kind) {
    const int sig = kind.as_raw_value();
    if (!listenable(sig)) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    if (auto driver = tako::detail::current_io_driver(); !driver) {
        return std::unexpected(driver.error());
    }
    registry& r = get_registry();
    {
        std::lock_guard guard(r.lock);
        if (auto ok = install(r, sig); !ok) {
            return std::unexpected(ok.error());
        }
    }
    if (auto ok = watch_pipe(r); !ok) {
        return std::unexpected(ok.error());
    }
    auto& slot = r.slots[static_cast<std::size_t>(sig)];
    return signal_listener(kind, &slot, slot.version.load(std::memory_order_acquire));
}

task<io::result<void>> signal_listener::recv() {
    if (slot_ == nullptr) {
        co_return std::unexpected(make_error_code(io::errc::closed));
    }
    // The runtime awaiting may not be the one that made the listener.
    if (auto ok = watch_pipe(get_registry()); !ok) {
        co_return std::unexpected(ok.error());
    }
    for (;;) {
        // Made before the check: a broadcast between the check and the co_await still
        // wakes it (notify_waiters wakes every awaiter created before the call).
        auto changed = slot_->changed.notified();
        const std::uint64_t v = slot_->version.load(std::memory_order_acquire);
        if (v != seen_) {
            seen_ = v;
            co_return io::result<void>{};
        }
        co_await changed;
    }
}

task<io::result<void>> ctrl_c() {
    auto listener = unix_signal(signal_kind::interrupt());
    if (!listener) {
        co_return std::unexpected(listener.error());
    }
    co_return co_await listener->recv();
}

} // namespace tako::signal
