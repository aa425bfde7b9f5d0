// command::spawn: the child is made with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) and
// runs `child_main` on a stack of its own until it calls execve (docs/process-signal.md).

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "io/io_driver.hpp"
#include "process/reaper.hpp"
#include "tako/process/command.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char** environ;
// glibc's own name for clone(2)'s wrapper. ThreadSanitizer intercepts `clone` and treats
// every call as a fork (its bookkeeping breaks when the child shares our memory); the
// child here runs no instrumented code, so the interceptor has nothing to do.
extern "C" int __clone(int (*fn)(void*), void* stack, int flags, void* arg, ...);

namespace tako::process {

namespace {

/// The child runs between clone and execve in memory it shares with the parent: sanitizer
/// runtimes must not see it (their bookkeeping belongs to the suspended parent thread).
#if defined(__clang__)
#define TAKO_CHILD_NO_SANITIZE __attribute__((no_sanitize("address", "thread", "undefined")))
#else
#define TAKO_CHILD_NO_SANITIZE __attribute__((no_sanitize_address, no_sanitize_thread))
#endif

/// The kernel's `struct sigaction` for rt_sigaction(2) (not glibc's, whose sigset is
/// larger): architectures without SA_RESTORER (riscv) have no restorer field.
struct kernel_sigaction {
    void* handler;
    unsigned long flags;
#if !defined(__riscv)
    void* restorer;
#endif
    unsigned long mask;
};

/// Everything the child needs, prepared by the parent: the child allocates nothing and
/// calls no library function but `syscall`.
struct plan {
    std::vector<std::string> exec_paths; ///< execve candidates, in PATH order
    std::vector<const char*> exec_cstrs; ///< their c_str()s
    std::vector<char*> argv;
    char** envp = nullptr;
    int stdio[3] = {-1, -1, -1}; ///< descriptors (>= 3) to put at 0, 1, 2; -1 inherits
    const char* dir = nullptr;
    bool set_pgroup = false;
    ::pid_t pgroup = 0;
    bool set_gid = false;
    ::gid_t gid = 0;
    bool set_uid = false;
    ::uid_t uid = 0;
    bool drop_groups = false;
    // Written by the child when it fails; read by the parent after the clone returns
    // (CLONE_VFORK: the child has exited by then).
    int error = 0;
};

std::error_code last_error() noexcept {
    return {errno, std::system_category()};
}

[[noreturn]] TAKO_CHILD_NO_SANITIZE void child_fail(plan* p, long err) {
    p->error = static_cast<int>(err);
    ::syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

/// syscall(2)'s result: 0, or -errno. The child shares the parent thread's TLS, so this
/// `errno` is the (suspended) parent's; spawn reads nothing from it.
#define TAKO_SYS(...) (::syscall(__VA_ARGS__) < 0 ? -errno : 0)

TAKO_CHILD_NO_SANITIZE int child_main(void* arg) {
    auto* p = static_cast<plan*>(arg);
    // Signals are all blocked (the parent blocked them before the clone). Handlers are the
    // parent's code and must not run here: back to the default action.
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) {
            continue;
        }
        kernel_sigaction old{};
        if (::syscall(SYS_rt_sigaction, sig, nullptr, &old, sizeof old.mask) == 0 &&
            old.handler != reinterpret_cast<void*>(SIG_DFL) &&
            old.handler != reinterpret_cast<void*>(SIG_IGN)) {
            kernel_sigaction dfl{};
            dfl.handler = reinterpret_cast<void*>(SIG_DFL);
            (void)::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
        }
    }
    for (int i = 0; i < 3; ++i) {
        if (p->stdio[i] >= 0) {
            // The source is >= 3, so never the target: dup3 clears close-on-exec.
            if (long e = TAKO_SYS(SYS_dup3, p->stdio[i], i, 0); e != 0) {
                child_fail(p, -e);
            }
        }
    }
    // Everything but the standard streams closes at execve (ENOSYS / EINVAL on old
    // kernels: the descriptors tako made are close-on-exec anyway).
    (void)::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    if (p->set_pgroup) {
        if (long e = TAKO_SYS(SYS_setpgid, 0, p->pgroup); e != 0) {
            child_fail(p, -e);
        }
    }
    if (p->drop_groups) {
        if (long e = TAKO_SYS(SYS_setgroups, 0, nullptr); e != 0) {
            child_fail(p, -e);
        }
    }
    if (p->set_gid) {
        if (long e = TAKO_SYS(SYS_setgid, p->gid); e != 0) {
            child_fail(p, -e);
        }
    }
    if (p->set_uid) {
        if (long e = TAKO_SYS(SYS_setuid, p->uid); e != 0) {
            child_fail(p, -e);
        }
    }
    if (p->dir != nullptr) {
        if (long e = TAKO_SYS(SYS_chdir, p->dir); e != 0) {
            child_fail(p, -e);
        }
    }
    const unsigned long no_signals = 0;
    (void)::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, nullptr, sizeof no_signals);
    // execvp's rules: a missing candidate (ENOENT, ENOTDIR) moves on; EACCES is remembered
    // in case nothing else is found; any other failure is the answer.
    long result = -ENOENT;
    bool denied = false;
    const char* const* paths = p->exec_cstrs.data();
    const std::size_t count = p->exec_cstrs.size();
    for (std::size_t i = 0; i < count; ++i) {
        result = TAKO_SYS(SYS_execve, paths[i], p->argv.data(), p->envp);
        if (result == -EACCES) {
            denied = true;
        } else if (result != -ENOENT && result != -ENOTDIR) {
            break;
        }
    }
    if (denied && (result == -ENOENT || result == -ENOTDIR)) {
        result = -EACCES;
    }
    child_fail(p, -result);
}

bool has_nul(const std::string& s) noexcept {
    return s.find('\0') != std::string::npos;
}

/// A descriptor for the child's side of a stream, kept >= 3 so that putting one at 0..2
/// never overwrites another, closed by the parent after the clone.
class child_fd {
public:
    child_fd() noexcept = default;
    child_fd(const child_fd&) = delete;
    child_fd& operator=(const child_fd&) = delete;
    ~child_fd() { reset(); }
    io::result<void> set(int fd) noexcept {
        reset();
        if (fd >= 0 && fd < 3) {
            const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
            const int e = errno;
            ::close(fd);
            if (high < 0) {
                return std::unexpected(std::error_code(e, std::system_category()));
            }
            fd = high;
        }
        fd_ = fd;
        return {};
    }
    [[nodiscard]] int get() const noexcept { return fd_; }
    void reset() noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
};

/// The parent's end of a pipe until it is adopted.
struct owned_fd {
    int fd = -1;
    owned_fd() noexcept = default;
    owned_fd(const owned_fd&) = delete;
    owned_fd& operator=(const owned_fd&) = delete;
    ~owned_fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

/// The `PATH` the program is looked up in: the command's own if it set or removed one.
std::string search_path(const std::vector<std::pair<std::string, std::optional<std::string>>>& env,
                        bool cleared) {
    std::optional<std::string> path;
    if (!cleared) {
        if (const char* p = std::getenv("PATH")) {
            path = p;
        }
    }
    for (const auto& [k, v] : env) {
        if (k == "PATH") {
            path = v;
        }
    }
    return path.value_or("/bin:/usr/bin");
}

/// The coroutine halves of `status()` and `output()`: they own the child, not the command.
task<io::result<exit_status>> wait_spawned(io::result<child> c) {
    if (!c) {
        co_return std::unexpected(c.error());
    }
    co_return co_await c->wait();
}

task<io::result<process::output>> collect_spawned(io::result<child> c) {
    if (!c) {
        co_return std::unexpected(c.error());
    }
    co_return co_await c->wait_with_output();
}

} // namespace

io::result<child> command::spawn() const {
    return spawn_with(stdio_);
}

io::result<child>
command::spawn_with(const std::array<std::optional<process::stdio>, 3>& io) const {
    auto driver = tako::detail::current_io_driver();
    if (!driver) {
        return std::unexpected(driver.error());
    }
    detail::reap_orphans();
    if (program_.empty() || has_nul(program_) || (dir_ && has_nul(*dir_))) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    plan p;
    // argv
    std::vector<std::string> argv_storage;
    argv_storage.reserve(args_.size() + 1);
    argv_storage.push_back(program_);
    for (const auto& a : args_) {
        if (has_nul(a)) {
            return std::unexpected(std::make_error_code(std::errc::invalid_argument));
        }
        argv_storage.push_back(a);
    }
    for (auto& a : argv_storage) {
        p.argv.push_back(a.data());
    }
    p.argv.push_back(nullptr);
    // envp: the parent's environment as it is, unless the command changed it.
    std::vector<std::string> env_storage;
    std::vector<char*> envp;
    if (!env_clear_ && env_.empty()) {
        p.envp = environ;
    } else {
        std::map<std::string, std::string> vars;
        if (!env_clear_ && environ != nullptr) {
            for (char** e = environ; *e != nullptr; ++e) {
                std::string_view kv(*e);
                const auto eq = kv.find('=');
                if (eq != std::string_view::npos && eq > 0) {
                    vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
                }
            }
        }
        for (const auto& [k, v] : env_) {
            if (k.empty() || k.find('=') != std::string::npos || has_nul(k) || (v && has_nul(*v))) {
                return std::unexpected(std::make_error_code(std::errc::invalid_argument));
            }
            if (v) {
                vars.insert_or_assign(k, *v);
            } else {
                vars.erase(k);
            }
        }
        env_storage.reserve(vars.size());
        for (const auto& [k, v] : vars) {
            env_storage.push_back(k + "=" + v);
        }
        for (auto& e : env_storage) {
            envp.push_back(e.data());
        }
        envp.push_back(nullptr);
        p.envp = envp.data();
    }
    // The candidates execve tries.
    if (program_.find('/') != std::string::npos) {
        p.exec_paths.push_back(program_);
    } else {
        const std::string path = search_path(env_, env_clear_);
        std::size_t start = 0;
        for (;;) {
            const auto colon = path.find(':', start);
            std::string dir =
                path.substr(start, colon == std::string::npos ? colon : colon - start);
            p.exec_paths.push_back(dir.empty() ? program_ : dir + "/" + program_);
            if (colon == std::string::npos) {
                break;
            }
            start = colon + 1;
        }
    }
    for (const auto& path : p.exec_paths) {
        p.exec_cstrs.push_back(path.c_str());
    }
    p.dir = dir_ ? dir_->c_str() : nullptr;
    p.set_pgroup = pgroup_.has_value();
    p.pgroup = pgroup_.value_or(0);
    p.set_gid = gid_.has_value();
    p.gid = gid_.value_or(0);
    p.set_uid = uid_.has_value();
    p.uid = uid_.value_or(0);
    p.drop_groups = uid_.has_value() && ::getuid() == 0;

    // Standard streams: the child's ends (closed here after the clone) and ours.
    child_fd theirs[3];
    owned_fd ours[3];
    child_fd dev_null;
    for (int i = 0; i < 3; ++i) {
        const auto mode = io[i].value_or(process::stdio::inherit);
        if (mode == process::stdio::null) {
            if (dev_null.get() < 0) {
                const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
                if (fd < 0) {
                    return std::unexpected(last_error());
                }
                if (auto r = dev_null.set(fd); !r) {
                    return std::unexpected(r.error());
                }
            }
            p.stdio[i] = dev_null.get();
        } else if (mode == process::stdio::piped) {
            int fds[2];
            if (::pipe2(fds, O_CLOEXEC) != 0) {
                return std::unexpected(last_error());
            }
            // stdin: the child reads fds[0]; stdout/stderr: the child writes fds[1].
            const int child_end = i == 0 ? fds[0] : fds[1];
            ours[i].fd = i == 0 ? fds[1] : fds[0];
            if (auto r = theirs[i].set(child_end); !r) {
                return std::unexpected(r.error());
            }
            p.stdio[i] = theirs[i].get();
        }
    }

    // The child's stack: it runs child_main there while this thread is suspended.
    constexpr std::size_t stack_size = 64 * 1024;
    void* stack = ::mmap(nullptr, stack_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        return std::unexpected(last_error());
    }
    ::sigset_t all;
    ::sigset_t old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    const ::pid_t pid = ::__clone(child_main, static_cast<char*>(stack) + stack_size,
                                  CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &p, &pidfd);
    const int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::munmap(stack, stack_size);
    if (pid < 0) {
        return std::unexpected(std::error_code(clone_errno, std::system_category()));
    }
    // Close-on-exec from birth, like every descriptor tako makes (clone does not set it).
    (void)::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
    if (p.error != 0) {
        // The child exited with 127 before execve: collect it, report why.
        ::siginfo_t info{};
        while (::waitid(static_cast<::idtype_t>(P_PIDFD), static_cast<::id_t>(pidfd), &info,
                        WEXITED) != 0 &&
               errno == EINTR) {
        }
        ::close(pidfd);
        return std::unexpected(std::error_code(p.error, std::system_category()));
    }
    for (auto& t : theirs) {
        t.reset();
    }
    dev_null.reset();

    auto fail = [&](std::error_code e) -> io::result<child> {
        (void)detail::send_signal(pidfd, SIGKILL);
        detail::reap_orphan(pidfd);
        return std::unexpected(e);
    };
    std::optional<pipe_writer> in;
    if (ours[0].fd >= 0) {
        auto w = pipe_writer::from_fd(ours[0].fd);
        if (!w) {
            return fail(w.error());
        }
        ours[0].release();
        in.emplace(std::move(*w));
    }
    std::optional<pipe_reader> outs[3];
    for (int i = 1; i < 3; ++i) {
        if (ours[i].fd >= 0) {
            auto r = pipe_reader::from_fd(ours[i].fd);
            if (!r) {
                return fail(r.error());
            }
            ours[i].release();
            outs[i].emplace(std::move(*r));
        }
    }
    const int flags = ::fcntl(pidfd, F_GETFL);
    if (flags < 0 || ::fcntl(pidfd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return fail(last_error());
    }
    // Not ready until the kernel says so: the pidfd turns readable when the child exits.
    auto source = tako::detail::io_source::adopt(pidfd, /*assume_ready=*/false);
    if (!source) {
        return fail(source.error());
    }
    child c(pid, std::move(*source), kill_on_drop_);
    c.stdin_ = std::move(in);
    c.stdout_ = std::move(outs[1]);
    c.stderr_ = std::move(outs[2]);
    return c;
}

task<io::result<exit_status>> command::status() const {
    return wait_spawned(spawn());
}

task<io::result<process::output>> command::output() const {
    const std::array<std::optional<process::stdio>, 3> io = {
        stdio_[0].value_or(process::stdio::null), stdio_[1].value_or(process::stdio::piped),
        stdio_[2].value_or(process::stdio::piped)};
    return collect_spawned(spawn_with(io));
}

} // namespace tako::process
