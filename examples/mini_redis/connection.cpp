#include "connection.hpp"

#include <span>
#include <system_error>

namespace mini_redis {

namespace {
/// Room made in the read buffer before each read.
constexpr std::size_t read_chunk = 16 * 1024;
} // namespace

connection::connection(tako::net::tcp_stream stream, parse_limits limits)
    : stream_(std::move(stream)), codec_(limits) {}

std::optional<frame> connection::buffered_frame() {
    if (in_.empty()) {
        return std::nullopt;
    }
    auto decoded = codec_.decode(in_);
    if (!decoded) {
        error_ = codec_.last_error();
        return std::nullopt;
    }
    return std::move(*decoded);
}

tako::task<tako::io::result<bool>> connection::fill() {
    in_.reserve(read_chunk);
    auto n = co_await stream_.read(in_.spare());
    if (!n) {
        co_return std::unexpected(n.error());
    }
    in_.commit(*n);
    co_return *n > 0;
}

tako::task<tako::io::result<std::optional<frame>>> connection::read_frame() {
    for (;;) {
        if (auto f = buffered_frame()) {
            co_return std::move(f);
        }
        if (!error_.empty()) {
            co_return std::unexpected(std::make_error_code(std::errc::protocol_error));
        }
        auto more = co_await fill();
        if (!more) {
            co_return std::unexpected(more.error());
        }
        if (!*more) {
            if (has_buffered_bytes()) {
                error_ = "connection reset by peer inside a frame";
                co_return std::unexpected(std::make_error_code(std::errc::protocol_error));
            }
            co_return std::nullopt;
        }
    }
}

tako::task<tako::io::result<void>> connection::flush() {
    if (out_.empty()) {
        co_return tako::io::result<void>{};
    }
    auto r = co_await stream_.write_all(out_);
    out_.clear();
    co_return r;
}

} // namespace mini_redis
