// The orphan reaper: children whose `child` object is gone are reaped by the I/O driver
// that watches their pidfd, or, when no driver can, from a process-wide list.

#include "process/reaper.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <new>
#include <vector>

#include "io/io_driver.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace tako::process::detail {

namespace {

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

/// Pidfds of orphans that no driver watches (their runtime shut down, or there was none).
struct orphan_list {
    std::mutex lock;
    std::vector<int> pidfds;
};

orphan_list& orphans() {
    static auto* list = new orphan_list; // never destroyed: reaps may run during exit
    return *list;
}

/// True once `pidfd`'s process is reaped (or cannot be: reaped by someone else).
bool reaped(int pidfd) noexcept {
    auto r = reap(pidfd);
    return !r || r->has_value();
}

void park_orphan(int pidfd) noexcept {
    auto& list = orphans();
    try {
        std::lock_guard guard(list.lock);
        list.pidfds.push_back(pidfd);
    } catch (...) {
        // Out of memory: the process stays a zombie until we exit; the descriptor must go.
        ::close(pidfd);
    }
}

/// A driver-side watcher of one orphan's pidfd.
class orphan final : public tako::detail::io_handler {
public:
    explicit orphan(int pidfd) noexcept : pidfd_(pidfd) {}

    void on_ready(tako::detail::io_driver& driver,
                  tako::detail::io_registration* r) noexcept override {
        if (!reaped(pidfd_)) {
            return; // not exited yet (a spurious event): the exit brings another edge
        }
        driver.remove(r);
        ::close(pidfd_);
        delete this;
        reap_orphans();
    }
    void on_shutdown() noexcept override {
        if (!reaped(pidfd_)) {
            park_orphan(pidfd_);
        } else {
            ::close(pidfd_);
        }
        delete this;
    }

private:
    int pidfd_;
};

} // namespace

io::result<std::optional<exit_status>> reap(int pidfd) noexcept {
    for (;;) {
        ::siginfo_t info{};
        if (::waitid(static_cast<::idtype_t>(P_PIDFD), static_cast<::id_t>(pidfd), &info,
                     WEXITED | WNOHANG) != 0) {
            if (errno == EINTR) {
                continue;
            }
            return std::unexpected(last_error());
        }
        if (info.si_pid == 0) {
            return std::nullopt; // still running
        }
        switch (info.si_code) {
        case CLD_EXITED:
            return exit_status::exited(info.si_status);
        case CLD_DUMPED:
            return exit_status::killed(info.si_status, true);
        default: // CLD_KILLED
            return exit_status::killed(info.si_status, false);
        }
    }
}

void reap_orphan(int pidfd) noexcept {
    if (reaped(pidfd)) {
        ::close(pidfd);
        return;
    }
    if (auto driver = tako::detail::current_io_driver()) {
        auto* watcher = new (std::nothrow) orphan(pidfd);
        if (watcher != nullptr) {
            // A pidfd is not registered edge-ready: epoll reports it once the process exits
            // (at once if that happened meanwhile).
            if ((*driver)->add_handler(pidfd, watcher)) {
                return;
            }
            delete watcher;
        }
    }
    park_orphan(pidfd);
}

void reap_orphans() noexcept {
    auto& list = orphans();
    std::lock_guard guard(list.lock);
    std::erase_if(list.pidfds, [](int fd) {
        if (!reaped(fd)) {
            return false;
        }
        ::close(fd);
        return true;
    });
}

io::result<void> send_signal(int pidfd, int sig) noexcept {
    if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) != 0) {
        return std::unexpected(last_error());
    }
    return {};
}

} // namespace tako::process::detail
