// io::stdin / stdout / stderr, in child processes whose descriptors 0, 1 and 2 are pipes,
// sockets, a pseudo-terminal or regular files: the bytes, the backend chosen, the shared
// descriptor's flags left alone, and a cancelled read that loses nothing.

#include <tako/io/stdio.hpp>
#include <tako/io/util.hpp>
#include <tako/tako.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace io = tako::io;
using namespace std::chrono_literals;

/// Exit codes of the child bodies beyond 0 (success).
enum child_status {
    ok = 0,
    wrong_backend = 10,
    read_failed = 11,
    write_failed = 12,
    flags_changed = 13,
    lost_bytes = 14,
    not_cancelled = 15,
};

/// Runs `body` in a child process after `setup` rearranged its descriptors; its exit code.
/// The parent has no runtime running when it forks (plain TEST), so the child is a clean
/// single-threaded copy.
int in_child(const std::function<void()>& setup, tako::task<int> (*body)(),
             const std::function<void(pid_t)>& parent_side = {}) {
    // A child that fails early leaves the parent writing into a pipe nobody reads: that
    // must be an error in the parent, not SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    const pid_t pid = ::fork();
    if (pid == 0) {
        setup();
        auto rt = tako::runtime::builder::current_thread().enable_all().build();
        const int code = rt.block_on(body());
        std::fflush(nullptr);
        ::_exit(code);
    }
    if (parent_side) {
        parent_side(pid);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(gen() & 0xff);
    }
    return s;
}

bool write_fully(int fd, const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
        const long n = ::write(fd, s.data() + done, s.size() - done);
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::string read_fully(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        const long n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            return out;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

/// cat through tako's handles: stdin to stdout, to end of input. Checks the backends
/// against TAKO_EXPECT_IN / TAKO_EXPECT_OUT ("driver" or "pool") and that fd 0's flags are
/// as they were.
tako::task<int> cat_body() {
    const int flags0 = ::fcntl(0, F_GETFL);
    const int flags1 = ::fcntl(1, F_GETFL);
    auto in = io::stdin();
    auto out = io::stdout();
    const auto name = [](io::stdio_backend b) {
        return b == io::stdio_backend::driver ? std::string("driver") : std::string("pool");
    };
    if (name(in.backend()) != ::getenv("TAKO_EXPECT_IN") ||
        name(out.backend()) != ::getenv("TAKO_EXPECT_OUT")) {
        co_return wrong_backend;
    }
    std::vector<std::byte> all;
    if (!co_await io::read_to_end(in, all)) {
        co_return read_failed;
    }
    if (!co_await io::write_all(out, std::span<const std::byte>(all))) {
        co_return write_failed;
    }
    if (::fcntl(0, F_GETFL) != flags0 || ::fcntl(1, F_GETFL) != flags1) {
        co_return flags_changed;
    }
    co_return ok;
}

void expect(const char* in, const char* out) {
    ::setenv("TAKO_EXPECT_IN", in, 1);
    ::setenv("TAKO_EXPECT_OUT", out, 1);
}

/// Runs `body` with pipes on the child's 0 and 1; `talk(to_child, from_child)` is the
/// parent's side and must close `to_child` once it has written everything.
int with_pipes(tako::task<int> (*body)(), const std::function<void(int, int)>& talk) {
    int in[2];
    int out[2];
    EXPECT_EQ(::pipe(in), 0);
    EXPECT_EQ(::pipe(out), 0);
    const int code = in_child(
        [&] {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::close(in[0]);
            ::close(in[1]);
            ::close(out[0]);
            ::close(out[1]);
        },
        body,
        [&](pid_t) {
            ::close(in[0]);
            ::close(out[1]);
            talk(in[1], out[0]);
            ::close(out[0]);
        });
    return code;
}

/// Pipes on 0 and 1; the parent feeds `input` and returns what came out.
std::pair<int, std::string> cat_through_pipes(const std::string& input) {
    std::string got;
    const int code = with_pipes(cat_body, [&](int to_child, int from_child) {
        // Feed and drain at once: the pipes hold less than the input.
        std::thread feeder([&] {
            EXPECT_TRUE(write_fully(to_child, input));
            ::close(to_child);
        });
        got = read_fully(from_child);
        feeder.join();
    });
    return {code, got};
}

TEST(stdio, piped_stdin_to_eof_and_piped_stdout_through_the_driver) {
    expect("driver", "driver");
    const auto input = random_bytes(1U << 20, 1);
    auto [code, got] = cat_through_pipes(input);
    EXPECT_EQ(code, ok);
    EXPECT_TRUE(got == input) << got.size();
}

TEST(stdio, empty_piped_stdin_ends_at_once) {
    expect("driver", "driver");
    auto [code, got] = cat_through_pipes("");
    EXPECT_EQ(code, ok);
    EXPECT_TRUE(got.empty());
}

TEST(stdio, sockets_use_the_driver_without_changing_their_flags) {
    int in[2];
    int out[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, in), 0);
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
    expect("driver", "driver");
    const auto input = random_bytes(300000, 2);
    std::string got;
    const int code = in_child(
        [&] {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
        },
        cat_body,
        [&](pid_t) {
            ::close(in[0]);
            ::close(out[1]);
            std::thread feeder([&] {
                EXPECT_TRUE(write_fully(in[1], input));
                ::shutdown(in[1], SHUT_WR);
            });
            got = read_fully(out[0]);
            feeder.join();
        });
    ::close(in[1]);
    ::close(out[0]);
    EXPECT_EQ(code, ok);
    EXPECT_TRUE(got == input);
}

/// A regular file holding `s`, open at its start.
int file_with(const std::string& s) {
    char name[] = "/tmp/tako_stdio_XXXXXX";
    const int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::unlink(name);
    EXPECT_TRUE(write_fully(fd, s));
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

TEST(stdio, regular_files_go_through_the_blocking_pool) {
    const auto input = random_bytes(200000, 3);
    const int in = file_with(input);
    const int out = file_with("");
    expect("pool", "pool");
    const int code = in_child(
        [&] {
            ::dup2(in, 0);
            ::dup2(out, 1);
        },
        cat_body);
    EXPECT_EQ(code, ok);
    ::lseek(out, 0, SEEK_SET);
    EXPECT_TRUE(read_fully(out) == input);
    ::close(in);
    ::close(out);
}

tako::task<int> stderr_body() {
    auto err = io::stderr();
    if (err.backend() != io::stdio_backend::driver) {
        co_return wrong_backend;
    }
    co_return (co_await io::write_all(err, "to stderr\n")) ? ok : write_failed;
}

TEST(stdio, stderr_writes_to_descriptor_2) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    std::string got;
    const int code = in_child([&] { ::dup2(p[1], 2); }, stderr_body,
                              [&](pid_t) {
                                  ::close(p[1]);
                                  got = read_fully(p[0]);
                                  ::close(p[0]);
                              });
    EXPECT_EQ(code, ok);
    EXPECT_EQ(got, "to stderr\n");
}

/// Reads with a 20 ms timeout before any input exists (cancelled), says "R" on stdout,
/// then reads everything: the cancelled read must not have eaten anything.
tako::task<int> cancel_body() {
    auto in = io::stdin();
    auto out = io::stdout();
    std::array<std::byte, 16> buf{};
    auto early = co_await tako::time::timeout(20ms, in.read(buf));
    if (early.has_value()) {
        co_return not_cancelled;
    }
    if (!co_await io::write_all(out, "R")) {
        co_return write_failed;
    }
    std::vector<std::byte> all;
    if (!co_await io::read_to_end(in, all)) {
        co_return read_failed;
    }
    co_return (co_await io::write_all(out, std::span<const std::byte>(all))) ? ok : write_failed;
}

TEST(stdio, a_cancelled_read_loses_nothing) {
    std::string got;
    const int code = with_pipes(cancel_body, [&](int to_child, int from_child) {
        char r = 0;
        EXPECT_EQ(::read(from_child, &r, 1), 1);
        EXPECT_EQ(r, 'R');
        EXPECT_TRUE(write_fully(to_child, "after the timeout"));
        ::close(to_child);
        got = read_fully(from_child);
    });
    EXPECT_EQ(code, ok);
    EXPECT_EQ(got, "after the timeout");
}

/// Reads one line from a terminal on fd 0; fd 0's O_NONBLOCK must stay clear.
tako::task<int> tty_body() {
    auto in = io::stdin();
    if (in.backend() != io::stdio_backend::driver) {
        co_return wrong_backend;
    }
    std::array<std::byte, 64> buf{};
    auto n = co_await in.read(buf);
    if (!n || *n != 6 || std::memcmp(buf.data(), "hello\n", 6) != 0) {
        co_return read_failed;
    }
    co_return (::fcntl(0, F_GETFL) & O_NONBLOCK) != 0 ? flags_changed : ok;
}

TEST(stdio, a_terminal_uses_the_driver_and_is_left_blocking) {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_GE(master, 0);
    ASSERT_EQ(::grantpt(master), 0);
    ASSERT_EQ(::unlockpt(master), 0);
    const std::string slave = ::ptsname(master);
    const int code = in_child(
        [&] {
            const int s = ::open(slave.c_str(), O_RDWR | O_NOCTTY);
            ::dup2(s, 0);
        },
        tty_body, [&](pid_t) { EXPECT_TRUE(write_fully(master, "hello\n")); });
    ::close(master);
    EXPECT_EQ(code, ok);
}

} // namespace
