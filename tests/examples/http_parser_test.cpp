// The request parser and response writer of examples/http_server, as pure functions over
// bytes: what they accept, what they reject with which status, and that a request split
// anywhere is "incomplete" until its last byte arrives.

#include "http.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using http::parse_status;

constexpr std::string_view wrk_request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

TEST(http_parser, parses_a_request_in_place) {
    http::request req;
    const auto r = http::parse_request(wrk_request, req);
    ASSERT_EQ(r.status, parse_status::complete);
    EXPECT_EQ(r.head_bytes, wrk_request.size());
    EXPECT_EQ(req.method, "GET");
    EXPECT_EQ(req.target, "/");
    EXPECT_EQ(req.minor_version, 1);
    ASSERT_EQ(req.headers().size(), 1u);
    EXPECT_EQ(req.headers()[0].name, "Host");
    EXPECT_EQ(req.headers()[0].value, "127.0.0.1:8080");
    EXPECT_EQ(req.headers()[0].value.data(), wrk_request.data() + 22); // a view, not a copy
    EXPECT_TRUE(req.keep_alive);
    EXPECT_EQ(req.content_length, 0u);
}

TEST(http_parser, every_prefix_is_incomplete_and_never_an_error) {
    const std::string full = "POST /echo?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                             "X-Tab:\tvalue with spaces \t\r\nExpect: 100-continue\r\n\r\n";
    http::request req;
    for (std::size_t n = 0; n < full.size(); ++n) {
        const auto r = http::parse_request(std::string_view(full).substr(0, n), req);
        EXPECT_EQ(r.status, parse_status::incomplete) << "prefix of " << n << " bytes";
    }
    const auto r = http::parse_request(full, req);
    ASSERT_EQ(r.status, parse_status::complete);
    EXPECT_EQ(req.target, "/echo?x=1");
    EXPECT_EQ(req.content_length, 4u);
    EXPECT_TRUE(req.expect_continue);
    EXPECT_EQ(req.find("x-tab"), "value with spaces");
    EXPECT_EQ(req.find("missing"), std::nullopt);
}

TEST(http_parser, pipelined_requests_are_parsed_one_at_a_time) {
    const std::string two = std::string(wrk_request) + "HEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGE";
    http::request req;
    auto r = http::parse_request(two, req);
    ASSERT_EQ(r.status, parse_status::complete);
    EXPECT_EQ(r.head_bytes, wrk_request.size());
    std::string_view rest = std::string_view(two).substr(r.head_bytes);
    r = http::parse_request(rest, req);
    ASSERT_EQ(r.status, parse_status::complete);
    EXPECT_EQ(req.method, "HEAD");
    EXPECT_EQ(req.target, "/b");
    rest.remove_prefix(r.head_bytes);
    EXPECT_EQ(http::parse_request(rest, req).status, parse_status::incomplete);
}

TEST(http_parser, connection_semantics_follow_the_version) {
    struct tcase {
        std::string_view bytes;
        bool keep_alive;
        http::connection conn;
    };
    const std::vector<tcase> cases = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, http::connection::keep_alive_1_1},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, http::connection::close},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n", false,
         http::connection::close},
        {"GET / HTTP/1.0\r\n\r\n", false, http::connection::close},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true,
         http::connection::keep_alive_1_0},
        {"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", true, http::connection::keep_alive_1_1},
    };
    for (const auto& c : cases) {
        http::request req;
        const auto r = http::parse_request(c.bytes, req);
        ASSERT_EQ(r.status, parse_status::complete) << c.bytes;
        EXPECT_EQ(r.head_bytes, c.bytes.size());
        EXPECT_EQ(req.keep_alive, c.keep_alive) << c.bytes;
        EXPECT_EQ(http::connection_for(req), c.conn) << c.bytes;
    }
}

TEST(http_parser, malformed_requests_get_their_status) {
    const std::vector<std::pair<std::string_view, int>> cases = {
        {"GARBAGE\r\n\r\n", 400},
        {"GET /\r\nHost: x\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\nHost: x\n\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n\n", 400},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417},
    };
    for (const auto& [bytes, status] : cases) {
        http::request req;
        const auto r = http::parse_request(bytes, req);
        EXPECT_EQ(r.status, parse_status::error) << bytes;
        EXPECT_EQ(r.error_status, status) << bytes;
    }
}

TEST(http_parser, the_head_is_capped_at_max_head_bytes) {
    const std::string start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    const std::string end = "\r\n\r\n";
    // Exactly max_head_bytes: accepted.
    const std::string fits =
        start + std::string(http::max_head_bytes - start.size() - end.size(), 'a') + end;
    http::request req;
    EXPECT_EQ(http::parse_request(fits, req).status, parse_status::complete);
    // One byte more: 431, whether or not its end has arrived.
    const std::string over =
        start + std::string(http::max_head_bytes - start.size() - end.size() + 1, 'a') + end;
    auto r = http::parse_request(over, req);
    EXPECT_EQ(r.status, parse_status::error);
    EXPECT_EQ(r.error_status, 431);
    r = http::parse_request(std::string_view(over).substr(0, http::max_head_bytes), req);
    EXPECT_EQ(r.error_status, 431);
    // Less than the cap and unfinished: wait for more.
    r = http::parse_request(std::string_view(over).substr(0, http::max_head_bytes - 1), req);
    EXPECT_EQ(r.status, parse_status::incomplete);
    // A request line alone over the cap: 414.
    r = http::parse_request("GET /" + std::string(http::max_head_bytes, 'a'), req);
    EXPECT_EQ(r.error_status, 414);
    // More header lines than max_headers: 431.
    std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (std::size_t i = 0; i < http::max_headers; ++i) {
        many += "X: y\r\n";
    }
    r = http::parse_request(many + "\r\n", req);
    EXPECT_EQ(r.error_status, 431);
}

TEST(http_writer, writes_the_benchmark_hello_and_chunks) {
    std::string out;
    http::append_response(out, 200, "text/plain", "Hello, World!",
                          http::connection::keep_alive_1_1);
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\n"
                   "Hello, World!");
    out.clear();
    http::response_head head(404, {}, 0, http::connection::close);
    head.extra_headers = "Allow: GET\r\n";
    http::append_head(out, head);
    EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n"
                   "Allow: GET\r\n\r\n");
    out.clear();
    http::append_head(out, {200, "text/plain", std::nullopt, http::connection::keep_alive_1_0});
    http::append_chunk(out, std::string(26, 'z'));
    http::append_chunk(out, "");
    http::append_last_chunk(out);
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n"
                   "Connection: keep-alive\r\n\r\n1a\r\n" +
                       std::string(26, 'z') + "\r\n0\r\n\r\n");
}

} // namespace
