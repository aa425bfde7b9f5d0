// The in-memory pipe behind io::simplex and io::duplex: a ring buffer under a mutex, and a
// notify per direction. A waiting end creates its notified() awaiter under the mutex, and
// the other end calls notify_waiters() after changing the state under the same mutex, so
// every change after the awaiter saw the old state wakes it (notify_waiters wakes the
// awaiters created before it). A wake is only a hint: the end re-checks the state in a loop.

#include "tako/io/duplex.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "tako/io/buffered.hpp"
#include "tako/io/lines.hpp"
#include "tako/io/traits.hpp"
#include "tako/net/tcp_split.hpp"
#include "tako/net/unix_stream.hpp"
#include "tako/sync/notify.hpp"
#include "tako/yield.hpp"

namespace tako::io {

// The types that the concepts were written for.
static_assert(async_read<net::tcp_stream> && async_write<net::tcp_stream>);
static_assert(async_read<net::unix_stream> && async_write<net::unix_stream>);
static_assert(async_read<net::tcp_read_half> && async_write<net::tcp_write_half>);
static_assert(async_read<net::tcp_owned_read_half> && async_write<net::tcp_owned_write_half>);
static_assert(async_read<duplex_stream> && async_write<duplex_stream>);
static_assert(async_read<simplex_reader> && async_write<simplex_writer>);
static_assert(async_buf_read<buf_reader<net::tcp_stream>>);
static_assert(async_buf_read<buf_stream<net::tcp_stream&>> &&
              async_write<buf_stream<net::tcp_stream&>>);

} // namespace tako::io

namespace tako::detail {

class byte_pipe {
public:
    explicit byte_pipe(std::size_t capacity) : buf_(std::max<std::size_t>(capacity, 1)) {}

    /// Copies buffered bytes into `out`; or, when there are none and the writer may still
    /// write, makes `wait` the awaiter to wait on and gives nothing.
    std::optional<io::result<std::size_t>> poll_read(std::span<std::byte> out,
                                                     std::optional<sync::notify::awaiter>& wait) {
        std::size_t n = 0;
        {
            std::lock_guard lock(mutex_);
            if (out.empty() || (len_ == 0 && write_closed_)) {
                return io::result<std::size_t>(0);
            }
            if (len_ == 0) {
                wait.emplace(readable_);
                return std::nullopt;
            }
            n = std::min(out.size(), len_);
            const std::size_t first = std::min(n, buf_.size() - head_);
            std::memcpy(out.data(), buf_.data() + head_, first);
            std::memcpy(out.data() + first, buf_.data(), n - first);
            head_ = (head_ + n) % buf_.size();
            len_ -= n;
        }
        writable_.notify_waiters();
        return io::result<std::size_t>(n);
    }

    /// Copies what fits of `in`; or, when the buffer is full, makes `wait` the awaiter to
    /// wait on and gives nothing.
    std::optional<io::result<std::size_t>> poll_write(std::span<const std::byte> in,
                                                      std::optional<sync::notify::awaiter>& wait) {
        std::size_t n = 0;
        {
            std::lock_guard lock(mutex_);
            if (read_closed_ || write_closed_) {
                return io::result<std::size_t>(
                    std::unexpected(std::make_error_code(std::errc::broken_pipe)));
            }
            if (in.empty()) {
                return io::result<std::size_t>(0);
            }
            if (len_ == buf_.size()) {
                wait.emplace(writable_);
                return std::nullopt;
            }
            n = std::min(in.size(), buf_.size() - len_);
            const std::size_t tail = (head_ + len_) % buf_.size();
            const std::size_t first = std::min(n, buf_.size() - tail);
            std::memcpy(buf_.data() + tail, in.data(), first);
            std::memcpy(buf_.data(), in.data() + first, n - first);
            len_ += n;
        }
        readable_.notify_waiters();
        return io::result<std::size_t>(n);
    }

    void close(bool writer) noexcept {
        {
            std::lock_guard lock(mutex_);
            if (writer) {
                write_closed_ = true;
            } else {
                read_closed_ = true;
                len_ = 0; // nobody will read it
            }
        }
        (writer ? readable_ : writable_).notify_waiters();
    }

private:
    std::mutex mutex_;
    std::vector<std::byte> buf_; ///< a ring: len_ bytes from head_
    std::size_t head_ = 0;
    std::size_t len_ = 0;
    bool read_closed_ = false;
    bool write_closed_ = false;
    sync::notify readable_; ///< a reader waits here for data or the end
    sync::notify writable_; ///< a writer waits here for room or the reader's end
};

void pipe_end::close() noexcept {
    if (pipe_) {
        pipe_->close(writer_);
        pipe_.reset();
    }
}

/// The loop every pipe operation runs: poll, and wait when told to.
template <class Poll>
task<io::result<std::size_t>> pipe_op(byte_pipe* p, Poll poll) {
    if (p == nullptr) {
        co_return std::unexpected(io::make_error_code(io::errc::closed));
    }
    for (bool waited = false;; waited = true) {
        std::optional<sync::notify::awaiter> wait;
        if (auto done = poll(*p, wait)) {
            if (!waited) {
                co_await tako::consume_budget(); // ready at once: spend a unit, as every tako await
            }
            co_return *done;
        }
        co_await std::move(*wait); // an xvalue: g++ 12 would copy an lvalue awaiter
    }
}

} // namespace tako::detail

namespace tako::io {

task<io::result<std::size_t>> simplex_reader::read(std::span<std::byte> buf) {
    return detail::pipe_op(
        end_.get(), [buf](detail::byte_pipe& p, auto& wait) { return p.poll_read(buf, wait); });
}

task<io::result<std::size_t>> simplex_writer::write(std::span<const std::byte> buf) {
    return detail::pipe_op(
        end_.get(), [buf](detail::byte_pipe& p, auto& wait) { return p.poll_write(buf, wait); });
}

io::result<void> simplex_writer::shutdown() noexcept {
    if (detail::byte_pipe* p = end_.get()) {
        p->close(true); // keeps the pipe: a later write is broken_pipe, not closed
    }
    return {};
}

std::pair<simplex_reader, simplex_writer> simplex(std::size_t capacity) {
    auto p = std::make_shared<detail::byte_pipe>(capacity);
    return {simplex_reader(detail::pipe_end(p, false)), simplex_writer(detail::pipe_end(p, true))};
}

std::pair<duplex_stream, duplex_stream> duplex(std::size_t capacity) {
    auto [a_rd, b_wr] = simplex(capacity); // b writes, a reads
    auto [b_rd, a_wr] = simplex(capacity); // a writes, b reads
    return {duplex_stream(std::move(a_rd), std::move(a_wr)),
            duplex_stream(std::move(b_rd), std::move(b_wr))};
}

} // namespace tako::io
