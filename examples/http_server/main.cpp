// An HTTP/1.1 server on tako: `http_server [ADDR [ROOT]]` (default 127.0.0.1:8080; port 0 lets the
// kernel choose) prints "listening on ADDR" once bound and serves until it is killed.
// Env WORKERS sets the runtime's worker threads (default: one per CPU).
//
// Routes:
//   GET|HEAD /        "Hello, World!" (13 bytes, text/plain)
//   POST /echo        the request body, back
//   GET /chunked      a body streamed in chunks, one write per chunk
//   GET|HEAD /static/ files under ROOT (the second argument, default "."), through tako::fs
//   anything else     404, or 405 with Allow for a known path and another method
//
// Protocol: persistent connections (HTTP/1.1 by default, HTTP/1.0 with
// `Connection: keep-alive`), pipelining (every request already read is answered, in order,
// and the answers go out in one write), Content-Length request bodies up to 16 MiB (413
// beyond; `Expect: 100-continue` is honoured), `Connection: close`. A malformed request
// gets 400 (or 414, 417, 431, 501, 505: http.hpp lists them) and the connection closes
// after the answer. Memory per connection is bounded: a 16 KiB read buffer (request heads
// are capped at 8 KiB), a response buffer that holds the answers to one read, and a body
// buffer only while a body larger than the read buffer is in flight.

#include "http.hpp"

#include <tako/tako.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

/// Holds a whole request head (http::max_head_bytes) even when it starts late in the buffer,
/// since the unparsed tail moves to the front before the buffer fills.
constexpr std::size_t read_buffer_bytes = 16384;
static_assert(read_buffer_bytes >= 2 * http::max_head_bytes);
/// The largest request body accepted; larger is 413.
constexpr std::uint64_t max_body_bytes = 16 << 20;
/// Response bytes kept per connection without reallocating: a pipelined batch of hellos.
constexpr std::size_t out_reserve = 4096;
/// Bodies at least this large are written from where they are, not copied into `out`.
constexpr std::size_t direct_write_bytes = 16384;
/// After the last response, how long (and how much) the server keeps reading before it
/// closes: closing with unread input would send a reset that can destroy the response
/// before the client reads it ("lingering close").
constexpr auto linger_time = 2s;
constexpr std::size_t linger_max_bytes = 1 << 20;

constexpr std::string_view hello_body = "Hello, World!";
constexpr std::string_view hello_type = "text/plain";
constexpr int chunk_count = 5;

/// The hello answers, built once by the same writer as every other response. The HTTP/1.1
/// keep-alive one is byte for byte the answer of the benchmark's reference servers.
struct canned_hello {
    std::string keep_alive_1_1, keep_alive_1_0, close;

    canned_hello() {
        http::append_response(keep_alive_1_1, 200, hello_type, hello_body,
                              http::connection::keep_alive_1_1);
        http::append_response(keep_alive_1_0, 200, hello_type, hello_body,
                              http::connection::keep_alive_1_0);
        http::append_response(close, 200, hello_type, hello_body, http::connection::close);
    }
    [[nodiscard]] const std::string& get(http::connection conn) const noexcept {
        switch (conn) {
        case http::connection::keep_alive_1_1:
            return keep_alive_1_1;
        case http::connection::keep_alive_1_0:
            return keep_alive_1_0;
        case http::connection::close:
            break;
        }
        return close;
    }
};
const canned_hello hello_responses;

enum class route : unsigned char {
    hello,
    echo,
    chunked,
    static_files,
    not_found,
    method_not_allowed,
};

struct routed {
    route where = route::not_found;
    bool head_only = false; ///< HEAD: the head of the GET answer, no body
    std::string_view allow; ///< method_not_allowed: the Allow header line
    std::string_view path;  ///< the target without its query
};

routed route_of(const http::request& req) {
    const std::string_view path = req.target.substr(0, req.target.find('?'));
    const bool get = req.method == "GET";
    const bool head = req.method == "HEAD";
    const auto only = [&](route r, bool allowed, std::string_view allow) {
        return allowed ? routed{r, head, {}, path}
                       : routed{route::method_not_allowed, false, allow, path};
    };
    if (path == "/") {
        return only(route::hello, get || head, "Allow: GET, HEAD\r\n");
    }
    if (path == "/echo") {
        return only(route::echo, req.method == "POST", "Allow: POST\r\n");
    }
    if (path == "/chunked") {
        return only(route::chunked, get, "Allow: GET\r\n");
    }
    if (path.starts_with("/static/")) {
        return only(route::static_files, get || head, "Allow: GET, HEAD\r\n");
    }
    return {route::not_found, false, {}, path};
}

/// One connection: its socket, its buffers, and the request being answered.
///
/// Note: a `bool` that a coroutine returns is bound to a local before it is tested, never
/// tested as `if (!co_await f())`: g++ 12.2 miscompiles a coroutine whose `if` condition
/// awaits a `task<bool>` (its body never runs, and the awaiting task hangs).
class session {
public:
    explicit session(tako::net::tcp_stream socket) : socket_(std::move(socket)) {}

    /// Serves requests until the client closes, an error, or a response that closes.
    tako::task<> run();

private:
    [[nodiscard]] std::string_view unparsed() const noexcept {
        return {in_.data() + begin_, end_ - begin_};
    }

    /// Answers a request that needs no further I/O into `out_`.
    void respond_now(const routed& r, std::string_view body, http::connection conn);
    /// Appends an error answer; the connection closes after it.
    void respond_error(int status);

    /// Writes what the socket takes now, without waiting; true once `out_` is all written.
    bool write_now() noexcept;
    /// Writes the rest of `out_`, waiting as needed; false on an error.
    tako::task<bool> write_rest();
    /// Writes all of `out_`: `write_now`, then `write_rest` if the socket was full.
    tako::task<bool> flush();
    /// Makes room at the end of `in_` for the next read.
    void prepare_read() noexcept;
    tako::task<std::optional<std::string_view>> read_body(std::uint64_t n, bool expect_continue);
    tako::task<bool> write_body(std::string_view body);
    /// Streams GET /chunked: chunked for HTTP/1.1, ended by the close for HTTP/1.0 (whose
    /// `conn` is then close).
    tako::task<bool> stream_chunked(bool http_1_1, http::connection conn);
    tako::task<bool> serve_static(std::string path, bool head_only, http::connection conn);
    tako::task<> drain();
    tako::task<> lingering_close();

    tako::net::tcp_stream socket_;
    std::vector<char> in_ = std::vector<char>(read_buffer_bytes);
    std::size_t begin_ = 0; ///< unparsed input is in_[begin_, end_)
    std::size_t end_ = 0;
    std::string out_;      ///< responses not yet written
    std::string big_body_; ///< a request body larger than in_, while it is answered
    http::request req_;
};

tako::task<> session::run() {
    (void)socket_.set_nodelay(true);
    out_.reserve(out_reserve);
    for (;;) {
        bool close_after = false;
        // Answer every complete request already read (pipelining), in order.
        while (!close_after) {
            const http::parse_result parsed = http::parse_request(unparsed(), req_);
            if (parsed.status == http::parse_status::incomplete) {
                break;
            }
            if (parsed.status == http::parse_status::error) {
                respond_error(parsed.error_status);
                close_after = true;
                break;
            }
            begin_ += parsed.head_bytes;
            // Decide everything that needs the head now: reading a body may move the
            // bytes that req_'s views point into.
            const routed r = route_of(req_);
            const bool http_1_1 = req_.minor_version >= 1;
            http::connection conn = http::connection_for(req_);
            if (r.where == route::chunked && !http_1_1) {
                conn = http::connection::close; // HTTP/1.0 has no chunked: the close ends it
            }
            if (req_.content_length > max_body_bytes) {
                respond_error(413);
                close_after = true;
                break;
            }
            std::string static_path;
            if (r.where == route::static_files) {
                static_path = r.path;
            }
            std::string_view body;
            if (req_.content_length > 0) {
                auto got = co_await read_body(req_.content_length, req_.expect_continue);
                if (!got) {
                    co_return; // the client went away mid-body
                }
                body = *got;
            }
            bool ok = true;
            if (r.where == route::chunked) {
                ok = co_await stream_chunked(http_1_1, conn);
            } else if (r.where == route::static_files) {
                ok = co_await serve_static(std::move(static_path), r.head_only, conn);
            } else if (r.where == route::echo && body.size() >= direct_write_bytes) {
                http::append_head(out_, {200, "application/octet-stream", body.size(), conn});
                ok = co_await write_body(body);
            } else {
                respond_now(r, body, conn);
            }
            big_body_ = std::string(); // give a large body's memory back
            if (!ok) {
                co_return;
            }
            close_after = conn == http::connection::close;
        }
        // The hot path awaits nothing but the read: a keep-alive answer goes out in one
        // try_write, and only a full socket makes the task wait.
        if (!out_.empty() && !write_now()) {
            const bool written = co_await write_rest();
            if (!written) {
                co_return;
            }
        }
        if (close_after) {
            co_await lingering_close();
            co_return;
        }
        prepare_read();
        auto n = co_await socket_.read(std::span(in_).subspan(end_));
        if (!n || *n == 0) {
            co_return; // an error (a reset, say), or the client closed
        }
        end_ += *n;
    }
}

void session::respond_now(const routed& r, std::string_view body, http::connection conn) {
    switch (r.where) {
    case route::hello:
        if (r.head_only) {
            http::append_head(out_, {200, hello_type, hello_body.size(), conn});
        } else {
            out_ += hello_responses.get(conn);
        }
        return;
    case route::echo:
        http::append_response(out_, 200, "application/octet-stream", body, conn);
        return;
    case route::method_not_allowed: {
        http::response_head head(405, {}, 0, conn);
        head.extra_headers = r.allow;
        http::append_head(out_, head);
        return;
    }
    case route::not_found:
    case route::chunked:      // answered by stream_chunked
    case route::static_files: // answered by serve_static
        break;
    }
    http::append_response(out_, 404, "text/plain", "Not Found\n", conn);
}

void session::respond_error(int status) {
    std::string text(http::reason_phrase(status));
    text += '\n';
    http::append_response(out_, status, "text/plain", text, http::connection::close);
}

bool session::write_now() noexcept {
    auto n = socket_.try_write(std::as_bytes(std::span(out_)));
    if (!n) {
        return false; // would block, or an error that write_rest will meet again
    }
    out_.erase(0, *n);
    return out_.empty();
}

tako::task<bool> session::write_rest() {
    const bool ok = (co_await socket_.write_all(std::string_view(out_))).has_value();
    out_.clear();
    co_return ok;
}

tako::task<bool> session::flush() {
    if (write_now()) {
        co_return true;
    }
    co_return co_await write_rest();
}

void session::prepare_read() noexcept {
    if (begin_ == end_) {
        begin_ = end_ = 0;
    } else if (end_ == in_.size()) {
        // A partial head at the end of the buffer: move it to the front. It is shorter
        // than max_head_bytes (the parser reports 431 otherwise), so room is left.
        std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
}

tako::task<std::optional<std::string_view>> session::read_body(std::uint64_t n,
                                                               bool expect_continue) {
    const auto want = static_cast<std::size_t>(n);
    if (end_ - begin_ >= want) { // already here: the common case
        const std::string_view body(in_.data() + begin_, want);
        begin_ += want;
        co_return body;
    }
    if (expect_continue) {
        out_ += "HTTP/1.1 100 Continue\r\n\r\n";
    }
    // Answers to earlier pipelined requests go first (and the 100 before the client sends).
    if (!out_.empty()) {
        const bool flushed = co_await flush();
        if (!flushed) {
            co_return std::nullopt;
        }
    }
    if (want <= in_.size()) {
        std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        while (end_ < want) {
            auto got = co_await socket_.read(std::span(in_).subspan(end_));
            if (!got || *got == 0) {
                co_return std::nullopt;
            }
            end_ += *got;
        }
        begin_ = want;
        co_return std::string_view(in_.data(), want);
    }
    const std::size_t have = end_ - begin_;
    big_body_.resize(want);
    std::memcpy(big_body_.data(), in_.data() + begin_, have);
    begin_ = end_ = 0;
    const auto rest = std::as_writable_bytes(std::span(big_body_).subspan(have));
    if (!co_await socket_.read_exact(rest)) {
        co_return std::nullopt;
    }
    co_return std::string_view(big_body_);
}

tako::task<bool> session::write_body(std::string_view body) {
    const bool flushed = co_await flush();
    if (!flushed) {
        co_return false;
    }
    co_return (co_await socket_.write_all(body)).has_value();
}

tako::task<bool> session::stream_chunked(bool http_1_1, http::connection conn) {
    http::response_head head(200, "text/plain", std::nullopt, conn);
    head.chunked = http_1_1;
    http::append_head(out_, head);
    for (int i = 1; i <= chunk_count; ++i) {
        // Each chunk is its own write, as a body produced piece by piece would be.
        const bool flushed = co_await flush();
        if (!flushed) {
            co_return false;
        }
        char text[32];
        const int len = std::snprintf(text, sizeof text, "chunk %d of %d\n", i, chunk_count);
        const std::string_view piece(text, static_cast<std::size_t>(len));
        if (http_1_1) {
            http::append_chunk(out_, piece);
        } else {
            out_ += piece;
        }
    }
    if (http_1_1) {
        http::append_last_chunk(out_);
    }
    co_return true; // the last piece is in out_: run() writes it with what follows
}

/// The document root of /static/ (the second argument; default: the working directory).
std::string static_root = ".";

/// A Content-Type from a file name's extension.
std::string_view content_type_of(std::string_view name) {
    const auto dot = name.rfind('.');
    const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
    if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
    if (ext == "txt") return "text/plain; charset=utf-8";
    if (ext == "css") return "text/css";
    if (ext == "js") return "text/javascript";
    if (ext == "json") return "application/json";
    if (ext == "png") return "image/png";
    if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
    if (ext == "svg") return "image/svg+xml";
    return "application/octet-stream";
}

/// The path under the root that `/static/<rest>` names, or nullopt if `rest` tries to leave
/// the root (a ".." component), is empty, or holds a byte no file name here has.
std::optional<std::string> static_file_path(std::string_view rest) {
    if (rest.empty() || rest.find_first_of(std::string_view("\0%\\", 3)) != std::string_view::npos) {
        return std::nullopt;
    }
    std::size_t i = 0;
    while (i <= rest.size()) {
        const auto slash = std::min(rest.find('/', i), rest.size());
        if (rest.substr(i, slash - i) == "..") {
            return std::nullopt;
        }
        i = slash + 1;
    }
    return static_root + "/" + std::string(rest);
}

/// GET|HEAD /static/<path>: a file under the document root, read through tako::fs and
/// written in 64 KiB pieces with its Content-Length. 404 for a missing file or anything
/// but a regular file, 403 for one we may not read, 400 for a path that leaves the root.
/// Returns false when the connection must end.
tako::task<bool> session::serve_static(std::string path, bool head_only, http::connection conn) {
    const auto file_path = static_file_path(std::string_view(path).substr(8)); // "/static/"
    if (!file_path) {
        http::append_response(out_, 400, "text/plain", "bad static path\n", conn);
        co_return true;
    }
    auto file = co_await tako::fs::file::open(*file_path);
    std::optional<tako::fs::file_metadata> meta;
    if (file) {
        auto m = co_await file->metadata();
        if (m) {
            meta = *m;
        }
    }
    if (!file || !meta || meta->type() != std::filesystem::file_type::regular) {
        const bool denied = !file && file.error() == std::errc::permission_denied;
        const int status = denied ? 403 : 404;
        http::append_response(out_, status, "text/plain",
                              denied ? "forbidden\n" : "not found\n", conn);
        co_return true;
    }
    const std::uint64_t size = meta->len();
    http::append_head(out_, {200, content_type_of(path), size, conn});
    if (head_only) {
        co_return true;
    }
    const bool flushed = co_await flush();
    if (!flushed) {
        co_return false;
    }
    std::vector<std::byte> piece(64 * 1024);
    std::uint64_t left = size;
    while (left > 0) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, piece.size()));
        auto n = co_await file->read(std::span(piece).first(want));
        if (!n || *n == 0) {
            co_return false; // the file shrank or failed: the promised length cannot be kept
        }
        auto written = co_await socket_.write_all(std::span(piece).first(*n));
        if (!written) {
            co_return false;
        }
        left -= *n;
    }
    co_return true;
}

tako::task<> session::drain() {
    std::size_t total = 0;
    while (total < linger_max_bytes) {
        auto n = co_await socket_.read(std::span(in_));
        if (!n || *n == 0) {
            co_return;
        }
        total += *n;
    }
}

tako::task<> session::lingering_close() {
    // FIN after the response, then read (and drop) what the client still sends until it
    // closes too, or for linger_time at most.
    if (socket_.shutdown(tako::net::shutdown_how::write)) {
        (void)co_await tako::time::timeout(linger_time, drain());
    }
    socket_.close();
}

tako::task<> serve(tako::net::tcp_stream socket) {
    session s(std::move(socket));
    co_await s.run();
}

tako::task<int> async_main(int argc, char** argv) {
    std::string addr = argc > 1 ? argv[1] : "127.0.0.1:8080";
    if (argc > 2) {
        static_root = argv[2];
    }
    auto listener = co_await tako::net::tcp_listener::bind(addr);
    if (!listener) {
        std::fprintf(stderr, "http_server: cannot listen on %s: %s\n", addr.c_str(),
                     listener.error().message().c_str());
        co_return 1;
    }
    std::printf("listening on %s\n", listener->local_addr()->to_string().c_str());
    std::fflush(stdout);
    for (;;) {
        auto accepted = co_await listener->accept();
        if (accepted) {
            tako::spawn(serve, std::move(accepted->first)).detach();
        }
    }
}

/// A multi_thread runtime with env WORKERS worker threads (default: one per CPU).
tako::runtime::builder runtime_builder() {
    auto builder = tako::runtime::builder::multi_thread();
    if (const char* env = std::getenv("WORKERS")) {
        const long n = std::strtol(env, nullptr, 10);
        if (n > 0) {
            builder.worker_threads(static_cast<std::size_t>(n));
        }
    }
    return builder;
}

} // namespace

TAKO_MAIN_WITH(async_main, runtime_builder())
