#pragma once
// A RESP connection: frames read from a TCP stream through a read buffer, replies
// collected in a write buffer and written in one go. Shared by the server and the client.

#include "frame.hpp"
#include "resp_codec.hpp"

#include <tako/codec/bytes_buffer.hpp>
#include <tako/io/result.hpp>
#include <tako/net/tcp_stream.hpp>
#include <tako/task.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace mini_redis {

class connection {
public:
    explicit connection(tako::net::tcp_stream stream, parse_limits limits = {});

    /// The next frame already in the read buffer, without waiting; nullopt if the buffer
    /// holds only part of one. A malformed frame sets `protocol_error()` and gives nullopt.
    std::optional<frame> buffered_frame();

    /// Reads more bytes into the buffer. `false` at the end of the stream. Cancel-safe:
    /// cancelled while waiting, no byte is lost.
    tako::task<tako::io::result<bool>> fill();

    /// The next frame: from the buffer, or after reading more. nullopt at a clean end of
    /// stream; `std::errc::protocol_error` for a malformed frame (see `protocol_error()`)
    /// or a stream that ends inside a frame. Cancel-safe: cancelled while waiting for
    /// bytes, nothing read is lost. It does not write queued replies: call `flush()`.
    tako::task<tako::io::result<std::optional<frame>>> read_frame();

    /// Replies waiting to be written: append encoded frames here.
    std::string& out() noexcept { return out_; }
    /// Writes every queued reply.
    tako::task<tako::io::result<void>> flush();

    /// Why the last frame was malformed (empty if none was).
    [[nodiscard]] const std::string& protocol_error() const noexcept { return error_; }
    [[nodiscard]] bool has_buffered_bytes() const noexcept { return !in_.empty(); }
    tako::net::tcp_stream& stream() noexcept { return stream_; }

private:
    tako::net::tcp_stream stream_;
    resp_codec codec_;
    tako::codec::bytes_buffer in_; ///< read and not yet decoded
    std::string out_;
    std::string error_;
};

} // namespace mini_redis
