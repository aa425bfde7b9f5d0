#include "tako/io/async_fd.hpp"

#include <fcntl.h>

namespace tako::io {

using tako::detail::io_direction;
using tako::detail::io_op;

io::result<async_fd> async_fd::create(int fd) noexcept {
    if (fd < 0) {
        return std::unexpected(std::make_error_code(std::errc::bad_file_descriptor));
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return std::unexpected(std::error_code(errno, std::system_category()));
    }
    auto s = detail::io_source::adopt(fd, /*assume_ready=*/false);
    if (!s) {
        return std::unexpected(s.error());
    }
    return async_fd(std::move(*s));
}

task<io::result<async_fd::ready_guard>> async_fd::wait(io_direction d) {
    auto token = co_await source_.ready(d);
    if (!token) {
        co_return std::unexpected(token.error());
    }
    co_return ready_guard(this, d, *token);
}

task<io::result<async_fd::ready_guard>> async_fd::readable() {
    return wait(io_direction::read);
}

task<io::result<async_fd::ready_guard>> async_fd::writable() {
    return wait(io_direction::write);
}

task<io::result<std::size_t>> async_fd::read(std::span<std::byte> buf) {
    io_op op;
    op.op = io_op::kind::read;
    op.buf = buf.data();
    op.len = buf.size();
    return source_.submit(io_direction::read, op);
}

task<io::result<std::size_t>> async_fd::write(std::span<const std::byte> buf) {
    io_op op;
    op.op = io_op::kind::write;
    op.buf = const_cast<std::byte*>(buf.data());
    op.len = buf.size();
    return source_.submit(io_direction::write, op);
}

} // namespace tako::io
