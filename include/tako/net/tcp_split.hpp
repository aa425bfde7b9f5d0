#pragma once
/// \file
/// Halves of a `tcp_stream`, so that one task reads while another writes (Tokio's
/// `TcpStream::split` and `into_split`).
///
/// ```cpp
/// #include <tako/net/tcp_split.hpp>
///
/// tako::task<void> pump(tako::net::tcp_stream s) {
///     auto [rd, wr] = std::move(s).into_split();        // owned: each may go to a task
///     auto writer = tako::spawn(
///         [](tako::net::tcp_owned_write_half w) -> tako::task<void> {
///             (void)co_await w.write_all("ping\n");
///         }, std::move(wr));                             // its destructor shuts down writing
///     std::array<std::byte, 64> buf;
///     auto n = co_await rd.read(buf);
///     (void)co_await writer;
/// }
/// ```
///
/// A stream's read side and write side have separate waiters in the I/O driver, so the two
/// halves may be used at the same time from different tasks and workers. The borrowed
/// halves of `split()` refer to the stream, which must outlive them; the owned halves of
/// `into_split()` share it, and `reunite` puts them back together. Cancel safety is the
/// stream's (see tcp_stream.hpp).

#include <memory>
#include <utility>

#include "tako/net/tcp_stream.hpp"

namespace tako::net {

namespace detail {

/// The read operations of a half, forwarded to its stream.
template <class Half>
class read_ops {
public:
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        return s().read(buf);
    }
    [[nodiscard]] task<io::result<std::size_t>> peek(std::span<std::byte> buf) {
        return s().peek(buf);
    }
    [[nodiscard]] task<io::result<void>> read_exact(std::span<std::byte> buf) {
        return s().read_exact(buf);
    }
    [[nodiscard]] io::result<std::size_t> try_read(std::span<std::byte> buf) noexcept {
        return s().try_read(buf);
    }
    [[nodiscard]] task<io::result<ready_state>> readable() { return s().readable(); }
    [[nodiscard]] io::result<socket_address> local_addr() const noexcept {
        return s().local_addr();
    }
    [[nodiscard]] io::result<socket_address> peer_addr() const noexcept { return s().peer_addr(); }

private:
    tcp_stream& s() const noexcept { return static_cast<const Half&>(*this).stream(); }
};

/// The write operations of a half, forwarded to its stream.
template <class Half>
class write_ops {
public:
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf) {
        return s().write(buf);
    }
    [[nodiscard]] task<io::result<void>> write_all(std::span<const std::byte> buf) {
        return s().write_all(buf);
    }
    [[nodiscard]] task<io::result<void>> write_all(std::string_view text) {
        return s().write_all(text);
    }
    [[nodiscard]] io::result<std::size_t> try_write(std::span<const std::byte> buf) noexcept {
        return s().try_write(buf);
    }
    [[nodiscard]] task<io::result<ready_state>> writable() { return s().writable(); }
    /// Shuts down the write direction: the peer reads end of stream.
    io::result<void> shutdown() noexcept { return s().shutdown(shutdown_how::write); }
    [[nodiscard]] io::result<socket_address> local_addr() const noexcept {
        return s().local_addr();
    }
    [[nodiscard]] io::result<socket_address> peer_addr() const noexcept { return s().peer_addr(); }

private:
    tcp_stream& s() const noexcept { return static_cast<const Half&>(*this).stream(); }
};

} // namespace detail

/// The read half of `tcp_stream::split()`: borrows the stream, which must outlive it.
class tcp_read_half : public detail::read_ops<tcp_read_half> {
public:
    explicit tcp_read_half(tcp_stream& s) noexcept : s_(&s) {}
    [[nodiscard]] tcp_stream& stream() const noexcept { return *s_; }

private:
    tcp_stream* s_;
};

/// The write half of `tcp_stream::split()`: borrows the stream, which must outlive it.
class tcp_write_half : public detail::write_ops<tcp_write_half> {
public:
    explicit tcp_write_half(tcp_stream& s) noexcept : s_(&s) {}
    [[nodiscard]] tcp_stream& stream() const noexcept { return *s_; }

private:
    tcp_stream* s_;
};

/// The read half of `into_split()`: shares the stream with its write half.
class tcp_owned_read_half : public detail::read_ops<tcp_owned_read_half> {
public:
    explicit tcp_owned_read_half(std::shared_ptr<tcp_stream> s) noexcept : s_(std::move(s)) {}
    [[nodiscard]] tcp_stream& stream() const noexcept { return *s_; }
    /// True if `w` came from the same `into_split` call.
    [[nodiscard]] bool is_pair_of(const class tcp_owned_write_half& w) const noexcept;

private:
    friend std::expected<tcp_stream, std::pair<tcp_owned_read_half, tcp_owned_write_half>>
    reunite(tcp_owned_read_half r, tcp_owned_write_half w);
    std::shared_ptr<tcp_stream> s_;
};

/// The write half of `into_split()`. Destroying it shuts the write direction down (the peer
/// reads end of stream) unless it was reunited or `forget_shutdown()` was called.
class tcp_owned_write_half : public detail::write_ops<tcp_owned_write_half> {
public:
    explicit tcp_owned_write_half(std::shared_ptr<tcp_stream> s) noexcept : s_(std::move(s)) {}
    tcp_owned_write_half(tcp_owned_write_half&&) noexcept = default;
    tcp_owned_write_half& operator=(tcp_owned_write_half&& o) noexcept {
        if (this != &o) {
            shutdown_if_owed();
            s_ = std::move(o.s_);
            shutdown_on_drop_ = o.shutdown_on_drop_;
        }
        return *this;
    }
    ~tcp_owned_write_half() { shutdown_if_owed(); }
    [[nodiscard]] tcp_stream& stream() const noexcept { return *s_; }
    /// Destroying this half will not shut the write direction down.
    void forget_shutdown() noexcept { shutdown_on_drop_ = false; }

private:
    friend class tcp_owned_read_half;
    friend std::expected<tcp_stream, std::pair<tcp_owned_read_half, tcp_owned_write_half>>
    reunite(tcp_owned_read_half r, tcp_owned_write_half w);
    void shutdown_if_owed() noexcept {
        if (s_ && shutdown_on_drop_ && s_->is_open()) {
            (void)s_->shutdown(shutdown_how::write);
        }
    }
    std::shared_ptr<tcp_stream> s_;
    bool shutdown_on_drop_ = true;
};

inline bool tcp_owned_read_half::is_pair_of(const tcp_owned_write_half& w) const noexcept {
    return s_ != nullptr && s_ == w.s_;
}

/// The stream again, if `r` and `w` came from the same `into_split`; otherwise both halves
/// back, unchanged. The stream is moved out of the shared state: the halves must hold its
/// only references (an operation still running on a half keeps no reference, but must
/// have finished).
[[nodiscard]] inline std::expected<tcp_stream, std::pair<tcp_owned_read_half, tcp_owned_write_half>>
reunite(tcp_owned_read_half r, tcp_owned_write_half w) {
    if (!r.is_pair_of(w)) {
        return std::unexpected(std::pair(std::move(r), std::move(w)));
    }
    w.forget_shutdown();
    tcp_stream s = std::move(*r.s_);
    return s;
}

} // namespace tako::net
