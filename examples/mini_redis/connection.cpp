#include "connection.hpp"

#include <span>
#include <system_error>

namespace mini_redis {

namespace {
constexpr std::size_t initial_buffer = 16 * 1024;
} // namespace

connection::connection(tako::net::tcp_stream stream, parse_limits limits)
    : stream_(std::move(stream)), limits_(limits), in_(initial_buffer) {}

std::optional<frame> connection::buffered_frame() {
    if (begin_ == end_) {
        return std::nullopt;
    }
    auto parsed = parse_frame(std::string_view(in_.data() + begin_, end_ - begin_), limits_);
    switch (parsed.state) {
    case parse_result::status::complete:
        begin_ += parsed.consumed;
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
        return std::move(parsed.value);
    case parse_result::status::invalid:
        error_ = std::move(parsed.error);
        return std::nullopt;
    case parse_result::status::incomplete:
        break;
    }
    return std::nullopt;
}

tako::task<tako::io::result<bool>> connection::fill() {
    if (begin_ > 0) { // move the unparsed tail to the front
        std::copy(in_.begin() + static_cast<std::ptrdiff_t>(begin_),
                  in_.begin() + static_cast<std::ptrdiff_t>(end_), in_.begin());
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == in_.size()) {
        in_.resize(in_.size() * 2);
    }
    auto n = co_await stream_.read(std::span(in_).subspan(end_));
    if (!n) {
        co_return std::unexpected(n.error());
    }
    end_ += *n;
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
