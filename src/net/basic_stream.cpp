// The stream operations tcp_stream and unix_stream share, over their io_source.

#include "tako/net/basic_stream.hpp"

#include "net/socket_ops.hpp"

namespace tako::net {

using tako::detail::io_direction;
using tako::detail::io_op;

task<io::result<std::size_t>> basic_stream::read(std::span<std::byte> buf) {
    return source_.submit(io_direction::read, impl::recv_op(buf, 0));
}

task<io::result<std::size_t>> basic_stream::peek(std::span<std::byte> buf) {
    return source_.submit(io_direction::read, impl::recv_op(buf, MSG_PEEK));
}

task<io::result<void>> basic_stream::read_exact(std::span<std::byte> buf) {
    return impl::read_exact(source_, buf);
}

task<io::result<std::size_t>> basic_stream::write(std::span<const std::byte> buf) {
    return source_.submit(io_direction::write, impl::send_op(buf));
}

task<io::result<void>> basic_stream::write_all(std::span<const std::byte> buf) {
    return impl::write_all(source_, buf);
}

task<io::result<std::size_t>> basic_stream::read_vectored(std::span<const ::iovec> iov) {
    return source_.submit(io_direction::read, impl::vector_op(io_op::kind::readv, iov));
}

task<io::result<std::size_t>> basic_stream::write_vectored(std::span<const ::iovec> iov) {
    return source_.submit(io_direction::write, impl::vector_op(io_op::kind::writev, iov));
}

io::result<std::size_t> basic_stream::try_read(std::span<std::byte> buf) noexcept {
    return source_.try_submit(io_direction::read, impl::recv_op(buf, 0));
}

io::result<std::size_t> basic_stream::try_write(std::span<const std::byte> buf) noexcept {
    return source_.try_submit(io_direction::write, impl::send_op(buf));
}

task<io::result<ready_state>> basic_stream::readable() {
    return impl::ready(source_, io_direction::read);
}

task<io::result<ready_state>> basic_stream::writable() {
    return impl::ready(source_, io_direction::write);
}

io::result<void> basic_stream::shutdown(shutdown_how how) noexcept {
    return impl::shutdown(source_, how);
}

} // namespace tako::net
