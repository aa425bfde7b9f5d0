#include "client.hpp"

#include <tako/net/tcp_stream.hpp>

#include <chrono>
#include <utility>

namespace mini_redis {

namespace {

client_error io_error(std::error_code ec) { return {client_error::kind::io, ec, {}}; }

client_error unexpected_reply(const frame& f) {
    std::string text;
    encode_frame(f, text);
    return {client_error::kind::unexpected, {}, "unexpected reply: " + text};
}

/// A command's words. (Built with push_back: g++ 12 miscompiles a braced list of strings
/// passed to a coroutine.)
template <class... S>
std::vector<std::string> words(S&&... s) {
    std::vector<std::string> out;
    out.reserve(sizeof...(S));
    (out.emplace_back(std::forward<S>(s)), ...);
    return out;
}

/// A reply that is the server's error becomes a `client_error`.
client_result<frame> check(frame f) {
    if (f.type == frame::kind::error) {
        return std::unexpected(client_error{client_error::kind::error_reply, {}, f.text});
    }
    return f;
}

/// A subscriber's push frame: ["message", channel, content].
std::optional<message> as_message(const frame& f) {
    if (f.type != frame::kind::array || f.items.size() != 3 || f.items[0].text != "message") {
        return std::nullopt;
    }
    return message{f.items[1].text, f.items[2].text};
}

} // namespace

std::string client_error::what() const {
    switch (type) {
    case kind::io:
        return code.message();
    case kind::error_reply:
        return "(error) " + message;
    case kind::unexpected:
        return message;
    case kind::closed:
        return "the server closed the connection";
    }
    return {};
}

tako::task<client_result<client>> client::connect(std::string host_port) {
    auto stream = co_await tako::net::tcp_stream::connect(std::move(host_port));
    if (!stream) {
        co_return std::unexpected(io_error(stream.error()));
    }
    (void)stream->set_nodelay(true);
    co_return client(connection(std::move(*stream)));
}

tako::task<client_result<frame>> client::read_reply() {
    auto f = co_await conn_.read_frame();
    if (!f) {
        co_return std::unexpected(io_error(f.error()));
    }
    if (!*f) {
        co_return std::unexpected(client_error{client_error::kind::closed, {}, {}});
    }
    co_return std::move(**f);
}

tako::task<client_result<frame>> client::request(std::vector<std::string> args) {
    encode_array_header(args.size(), conn_.out());
    for (const auto& a : args) {
        encode_bulk(a, conn_.out());
    }
    if (auto w = co_await conn_.flush(); !w) {
        co_return std::unexpected(io_error(w.error()));
    }
    auto reply = co_await read_reply();
    if (!reply) {
        co_return std::unexpected(std::move(reply.error()));
    }
    co_return check(std::move(*reply));
}

tako::task<client_result<std::string>> client::ping(std::optional<std::string> msg) {
    auto args = words("PING");
    if (msg) {
        args.push_back(std::move(*msg));
    }
    auto r = co_await request(std::move(args));
    if (!r) {
        co_return std::unexpected(std::move(r.error()));
    }
    if (r->type != frame::kind::simple && r->type != frame::kind::bulk) {
        co_return std::unexpected(unexpected_reply(*r));
    }
    co_return std::move(r->text);
}

tako::task<client_result<std::optional<std::string>>> client::get(std::string key) {
    auto r = co_await request(words("GET", std::move(key)));
    if (!r) {
        co_return std::unexpected(std::move(r.error()));
    }
    if (r->type == frame::kind::null) {
        co_return std::nullopt;
    }
    if (r->type != frame::kind::bulk && r->type != frame::kind::simple) {
        co_return std::unexpected(unexpected_reply(*r));
    }
    co_return std::move(r->text);
}

tako::task<client_result<void>> client::set(std::string key, std::string value,
                                            std::optional<tako::time::duration> expire) {
    auto args = words("SET", std::move(key), std::move(value));
    if (expire) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*expire).count();
        args.emplace_back("PX");
        args.push_back(std::to_string(std::max<long long>(ms, 1)));
    }
    auto r = co_await request(std::move(args));
    if (!r) {
        co_return std::unexpected(std::move(r.error()));
    }
    if (r->type != frame::kind::simple || r->text != "OK") {
        co_return std::unexpected(unexpected_reply(*r));
    }
    co_return client_result<void>{};
}

tako::task<client_result<std::int64_t>> client::publish(std::string channel,
                                                        std::string content) {
    auto r = co_await request(words("PUBLISH", std::move(channel), std::move(content)));
    if (!r) {
        co_return std::unexpected(std::move(r.error()));
    }
    if (r->type != frame::kind::integer) {
        co_return std::unexpected(unexpected_reply(*r));
    }
    co_return r->integer;
}

tako::task<client_result<subscriber>> client::subscribe(client c,
                                                        std::vector<std::string> channels) {
    subscriber s(std::move(c));
    if (auto r = co_await s.subscribe(std::move(channels)); !r) {
        co_return std::unexpected(std::move(r.error()));
    }
    co_return std::move(s);
}

tako::task<client_result<void>> subscriber::change(std::string_view command,
                                                   std::vector<std::string> channels) {
    auto args = words(command);
    args.insert(args.end(), channels.begin(), channels.end());
    auto& conn = client_.conn_;
    encode_array_header(args.size(), conn.out());
    for (const auto& a : args) {
        encode_bulk(a, conn.out());
    }
    if (auto w = co_await conn.flush(); !w) {
        co_return std::unexpected(io_error(w.error()));
    }
    // One confirmation per channel named, [command, channel, count]; messages published
    // meanwhile are kept for next_message.
    const std::string kind = command == "SUBSCRIBE" ? "subscribe" : "unsubscribe";
    for (std::size_t confirmed = 0; channels.empty() || confirmed < channels.size();) {
        auto f = co_await client_.read_reply();
        if (!f) {
            co_return std::unexpected(std::move(f.error()));
        }
        if (auto m = as_message(*f)) {
            pending_.push_back(std::move(*m));
            continue;
        }
        if (f->type == frame::kind::error) {
            co_return std::unexpected(check(std::move(*f)).error());
        }
        if (f->type != frame::kind::array || f->items.size() != 3 || f->items[0].text != kind) {
            co_return std::unexpected(unexpected_reply(*f));
        }
        const auto& name = f->items[1].text;
        std::erase(channels_, name);
        if (kind == "subscribe") {
            channels_.push_back(name);
        }
        ++confirmed;
        if (channels.empty() && f->items[2].integer == 0) {
            break; // UNSUBSCRIBE without names: the last confirmation says 0 remain
        }
    }
    co_return client_result<void>{};
}

tako::task<client_result<void>> subscriber::subscribe(std::vector<std::string> channels) {
    return change("SUBSCRIBE", std::move(channels));
}

tako::task<client_result<void>> subscriber::unsubscribe(std::vector<std::string> channels) {
    return change("UNSUBSCRIBE", std::move(channels));
}

tako::task<client_result<std::optional<message>>> subscriber::next_message() {
    if (!pending_.empty()) {
        auto m = std::move(pending_.front());
        pending_.erase(pending_.begin());
        co_return std::move(m);
    }
    auto f = co_await client_.conn_.read_frame();
    if (!f) {
        co_return std::unexpected(io_error(f.error()));
    }
    if (!*f) {
        co_return std::nullopt;
    }
    if (auto m = as_message(**f)) {
        co_return std::move(*m);
    }
    co_return std::unexpected(unexpected_reply(**f));
}

} // namespace mini_redis
