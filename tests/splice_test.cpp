// io::copy's splice(2) path: the same bytes arrive as through the buffered path (a large
// random payload over TCP), the fallbacks when splice cannot be used (a regular file in, an
// output that refuses splice with data already in the pipe), and no SIGPIPE.

#include <tako/io/copy.hpp>
#include <tako/io/util.hpp>
#include <tako/net/tcp_stream.hpp>
#include <tako/net/unix_stream.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

namespace io = tako::io;
using tako::net::tcp_stream;
using tako_test::tcp_pair;

std::vector<std::byte> random_payload(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::vector<std::byte> out(n);
    for (auto& b : out) {
        b = static_cast<std::byte>(gen() & 0xff);
    }
    return out;
}

/// Writes `payload` into `s`, then shuts its write side down.
tako::task<void> send_all(tcp_stream& s, std::span<const std::byte> payload) {
    EXPECT_TRUE(co_await io::write_all(s, payload));
    EXPECT_TRUE(s.shutdown(tako::net::shutdown_how::write).has_value());
}

tako::task<std::vector<std::byte>> receive_all(tcp_stream& s) {
    std::vector<std::byte> out;
    EXPECT_TRUE(co_await io::read_to_end(s, out));
    co_return out;
}

enum class path { copy, buffered, splice_only };

/// client → (a | b) → server with `how`; the bytes the server got, and the copy's count.
tako::task<std::pair<std::vector<std::byte>, std::uint64_t>>
through_copy(std::vector<std::byte> payload, path how) {
    auto [client, a] = co_await tcp_pair();
    auto [b, server] = co_await tcp_pair();
    auto relay = [&]() -> tako::task<std::uint64_t> {
        std::uint64_t n = 0;
        if (how == path::buffered) {
            auto r = co_await io::copy_buffered(a, b);
            EXPECT_TRUE(r.has_value());
            n = r.value_or(0);
        } else if (how == path::copy) {
            auto r = co_await io::copy(a, b);
            EXPECT_TRUE(r.has_value());
            n = r.value_or(0);
        } else {
            auto r = co_await tako::detail::splice_copy(a.native_handle(), b.native_handle());
            EXPECT_TRUE(r.has_value()) << r.error().message();
            EXPECT_TRUE(r && !r->unsupported); // sockets: the splice path itself ran
            n = r ? r->bytes : 0;
        }
        EXPECT_TRUE(b.shutdown(tako::net::shutdown_how::write).has_value());
        co_return n;
    };
    auto [sent, copied, got] =
        co_await tako::join(send_all(client, payload), relay(), receive_all(server));
    (void)sent;
    co_return std::pair(std::move(got), copied);
}

TAKO_TEST_MT(splice, large_random_payload_arrives_the_same_on_every_path) {
    const auto payload = random_payload((8U << 20) + 12345, 42);
    for (path how : {path::splice_only, path::copy, path::buffered}) {
        auto [got, n] = co_await through_copy(payload, how);
        EXPECT_EQ(n, payload.size()) << static_cast<int>(how);
        EXPECT_TRUE(got == payload) << static_cast<int>(how);
    }
}

TAKO_TEST_MT(splice, unix_stream_pairs_take_the_splice_path_too) {
    auto p1 = tako::net::unix_stream::pair();
    auto p2 = tako::net::unix_stream::pair();
    TAKO_CO_ASSERT(p1.has_value() && p2.has_value());
    auto& [client, a] = *p1;
    auto& [b, server] = *p2;
    auto direct = co_await tako::time::timeout(
        std::chrono::milliseconds(10),
        tako::detail::splice_copy(a.native_handle(), b.native_handle()));
    EXPECT_FALSE(direct.has_value()); // waiting for input: splice accepted both descriptors
    const auto payload = random_payload(3U << 20, 11);
    auto send = [&]() -> tako::task<void> {
        EXPECT_TRUE(co_await io::write_all(client, payload));
        EXPECT_TRUE(client.shutdown(tako::net::shutdown_how::write).has_value());
    };
    auto relay = [&]() -> tako::task<io::result<std::uint64_t>> {
        auto n = co_await io::copy(a, b);
        EXPECT_TRUE(b.shutdown(tako::net::shutdown_how::write).has_value());
        co_return n;
    };
    auto receive = [&]() -> tako::task<std::vector<std::byte>> {
        std::vector<std::byte> out;
        EXPECT_TRUE(co_await io::read_to_end(server, out));
        co_return out;
    };
    auto [sent, n, got] = co_await tako::join(send(), relay(), receive());
    (void)sent;
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(*n, payload.size());
    EXPECT_TRUE(got == payload);
}

TAKO_TEST(splice, an_empty_input_copies_nothing) {
    auto [got, n] = co_await through_copy({}, path::copy);
    EXPECT_EQ(n, 0U);
    EXPECT_TRUE(got.empty());
}

/// A reader over a regular file: a plain descriptor the I/O driver refuses (epoll cannot
/// watch regular files), so io::copy must fall back to its buffer.
class file_reader {
public:
    explicit file_reader(int fd) : fd_(fd) {}
    [[nodiscard]] int native_handle() const noexcept { return fd_; }
    tako::task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        const long n = ::read(fd_, buf.data(), buf.size());
        if (n < 0) {
            co_return std::unexpected(std::error_code(errno, std::system_category()));
        }
        co_return static_cast<std::size_t>(n);
    }

private:
    int fd_;
};

/// A temporary regular file holding `bytes`, read from the start.
int temp_file_with(std::span<const std::byte> bytes) {
    char name[] = "/tmp/tako_splice_XXXXXX";
    const int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::unlink(name);
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<long>(bytes.size()));
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

TAKO_TEST(splice, a_regular_file_input_falls_back_to_the_buffer) {
    const auto payload = random_payload(300000, 7);
    const int fd = temp_file_with(payload);
    auto direct = co_await tako::detail::splice_copy(fd, fd);
    TAKO_CO_ASSERT(direct.has_value());
    EXPECT_TRUE(direct->unsupported);
    EXPECT_EQ(direct->bytes, 0U);

    auto [b, server] = co_await tcp_pair();
    file_reader r(fd);
    auto copy_then_close = [&]() -> tako::task<io::result<std::uint64_t>> {
        auto n = co_await io::copy(r, b);
        (void)b.shutdown(tako::net::shutdown_how::write);
        co_return n;
    };
    auto [n, got] = co_await tako::join(copy_then_close(), receive_all(server));
    ::close(fd);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(*n, payload.size());
    EXPECT_TRUE(got == payload);
}

/// A writer whose descriptor is an eventfd (pollable, but splice(2) refuses to write into
/// it) and whose writes land in memory: the splice path fills the pipe, finds the output
/// refusing, and must hand the bytes already in the pipe to the buffered path.
class refusing_writer {
public:
    refusing_writer() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
    refusing_writer(const refusing_writer&) = delete;
    refusing_writer& operator=(const refusing_writer&) = delete;
    ~refusing_writer() { ::close(fd_); }
    [[nodiscard]] int native_handle() const noexcept { return fd_; }
    tako::task<io::result<std::size_t>> write(std::span<const std::byte> buf) {
        got.insert(got.end(), buf.begin(), buf.end());
        co_return buf.size();
    }
    std::vector<std::byte> got;

private:
    int fd_;
};

TAKO_TEST(splice, an_output_refusing_splice_gets_the_bytes_already_in_the_pipe) {
    const auto payload = random_payload(200000, 9);
    auto [client, a] = co_await tcp_pair();
    refusing_writer w;
    auto [sent, n] = co_await tako::join(send_all(client, payload), io::copy(a, w));
    (void)sent;
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(*n, payload.size());
    EXPECT_TRUE(w.got == payload);
}

TAKO_TEST(splice, a_closed_output_is_an_error_not_a_sigpipe) {
    auto [client, a] = co_await tcp_pair();
    auto [b, server] = co_await tcp_pair();
    server.close();
    const auto payload = random_payload(4U << 20, 3);
    auto feed = [&]() -> tako::task<void> {
        (void)co_await io::write_all(client, payload);
        (void)client.shutdown(tako::net::shutdown_how::write);
    };
    auto copy_then_close = [&]() -> tako::task<io::result<std::uint64_t>> {
        auto n = co_await io::copy(a, b);
        a.close(); // the feeder's writes fail now instead of waiting for ever
        co_return n;
    };
    auto [fed, r] = co_await tako::join(feed(), copy_then_close());
    (void)fed;
    TAKO_CO_ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error() == std::errc::broken_pipe || r.error() == std::errc::connection_reset)
        << r.error().message();
}

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        ++n;
    }
    return n;
}

TAKO_TEST(splice, cancelled_while_waiting_leaves_no_descriptor_behind) {
    auto [client, a] = co_await tcp_pair();
    auto [b, server] = co_await tcp_pair();
    const std::size_t before = open_descriptors();
    // Waiting to read: nothing was sent yet.
    auto idle = co_await tako::time::timeout(std::chrono::milliseconds(20), io::copy(a, b));
    EXPECT_FALSE(idle.has_value());
    EXPECT_EQ(open_descriptors(), before);
    // Waiting to write: the server reads nothing, so the socket buffers fill up.
    const auto payload = random_payload(32U << 20, 5);
    auto feed = [&]() -> tako::task<void> { (void)co_await io::write_all(client, payload); };
    auto fed = tako::spawn(feed);
    auto stuck = co_await tako::time::timeout(std::chrono::milliseconds(200), io::copy(a, b));
    EXPECT_FALSE(stuck.has_value());
    EXPECT_EQ(open_descriptors(), before);
    fed.abort();
    (void)co_await std::move(fed);
    // The source is still readable where the cancelled copy left it.
    std::array<std::byte, 1> one{};
    auto more = co_await a.read(one);
    EXPECT_TRUE(more.has_value() && *more == 1U);
}

} // namespace
