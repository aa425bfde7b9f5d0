// io::async_fd over an eventfd and a pipe.

#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

using namespace std::chrono_literals;
using tako::io::async_fd;

namespace {
struct pipe_fds {
    int r = -1, w = -1;
    pipe_fds() {
        int p[2];
        EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
        r = p[0];
        w = p[1];
    }
};
} // namespace

TAKO_TEST(async_fd, eventfd_readiness_and_try_io) {
    auto fd = async_fd::create(::eventfd(0, EFD_CLOEXEC));
    TAKO_CO_ASSERT_TRUE(fd.has_value()) << fd.error().message();
    // Nothing written: a readable() wait does not complete.
    auto early = co_await tako::time::timeout(10ms, fd->readable());
    EXPECT_FALSE(early.has_value());
    // A plain thread writes the counter; the waiting task wakes.
    const int raw = fd->fd();
    auto writer = tako::spawn_blocking([raw] {
        std::this_thread::sleep_for(5ms);
        const std::uint64_t one = 1;
        return ::write(raw, &one, sizeof one);
    });
    std::uint64_t count = 0;
    for (;;) {
        auto g = co_await fd->readable();
        TAKO_CO_ASSERT_TRUE(g.has_value());
        EXPECT_TRUE(g->ready().is_readable());
        auto n = g->try_io([&](int f) { return ::read(f, &count, sizeof count); });
        if (n) {
            EXPECT_EQ(*n, static_cast<ssize_t>(sizeof count));
            break;
        }
        EXPECT_EQ(n.error(), std::errc::operation_would_block);
    }
    EXPECT_EQ(count, 1U);
    EXPECT_EQ((co_await writer).value(), 8);
    // Drained: try_io reports would_block and clears readiness, so the next wait waits.
    auto g = co_await fd->readable();
    TAKO_CO_ASSERT_TRUE(g.has_value());
    auto again = g->try_io([&](int f) { return ::read(f, &count, sizeof count); });
    TAKO_CO_ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error(), std::errc::operation_would_block);
    auto waits = co_await tako::time::timeout(10ms, fd->readable());
    EXPECT_FALSE(waits.has_value());
}

TAKO_TEST(async_fd, pipe_read_write_and_end_of_file) {
    pipe_fds p;
    auto r = async_fd::create(p.r);
    auto w = async_fd::create(p.w);
    TAKO_CO_ASSERT_TRUE(r.has_value() && w.has_value());
    // Fill the pipe: the writer waits until the reader drains it.
    std::string big(1 << 20, 'p');
    auto writer = tako::spawn(
        [](async_fd* w, std::string* big) -> tako::task<std::size_t> {
            std::span<const std::byte> rest = std::as_bytes(std::span(*big));
            while (!rest.empty()) {
                auto n = co_await w->write(rest);
                if (!n) {
                    co_return 0;
                }
                rest = rest.subspan(*n);
            }
            int fd = w->release();
            ::close(fd); // end of file for the reader
            co_return big->size();
        },
        &*w, &big);
    std::size_t got = 0;
    std::array<std::byte, 4096> buf;
    for (;;) {
        auto n = co_await r->read(buf);
        TAKO_CO_ASSERT_TRUE(n.has_value());
        if (*n == 0) {
            break;
        }
        got += *n;
    }
    EXPECT_EQ(got, big.size());
    EXPECT_EQ((co_await writer).value(), big.size());
}

TAKO_TEST(async_fd, cancelled_read_leaves_it_usable) {
    pipe_fds p;
    auto r = async_fd::create(p.r);
    TAKO_CO_ASSERT_TRUE(r.has_value());
    std::array<std::byte, 8> buf;
    auto t = co_await tako::time::timeout(10ms, r->read(buf));
    EXPECT_FALSE(t.has_value());
    EXPECT_EQ(::write(p.w, "x", 1), 1);
    auto n = co_await r->read(buf);
    EXPECT_EQ(n.value(), 1U);
    ::close(p.w);
}

TAKO_TEST(async_fd, bad_descriptor_and_release) {
    auto bad = async_fd::create(-1);
    EXPECT_EQ(bad.error(), std::errc::bad_file_descriptor);
    int raw = ::eventfd(0, EFD_CLOEXEC);
    auto fd = async_fd::create(raw);
    TAKO_CO_ASSERT_TRUE(fd.has_value());
    EXPECT_EQ(fd->release(), raw); // deregistered, still open
    EXPECT_EQ(::fcntl(raw, F_GETFD) >= 0, true);
    auto again = async_fd::create(raw); // can be registered again
    EXPECT_TRUE(again.has_value());
}
