// libFuzzer target for mini-redis's RESP2 decoder (examples/mini_redis/resp_codec.hpp).
// Input: a chunk size byte, then the stream. Besides the common invariants of
// fuzz_support.hpp (chunking never changes the frames, decoding never grows the buffer,
// a frame consumes bytes, bounded memory while waiting for more), each frame re-encodes to
// bytes that decode to the same frame, and the limits hold: no bulk string, array or
// nesting beyond them.

#include "fuzz_support.hpp"

#include "resp_codec.hpp"

#include <fuzzer/FuzzedDataProvider.h>

namespace {

/// Small limits, so the fuzzer reaches them.
mini_redis::parse_limits limits() {
    mini_redis::parse_limits l;
    l.max_bulk = 64;
    l.max_items = 8;
    l.max_depth = 4;
    l.max_inline = 128;
    l.max_frame = 1024;
    return l;
}

void check_limits(const mini_redis::frame& f, std::size_t depth) {
    const auto l = limits();
    FUZZ_CHECK(depth <= l.max_depth);
    if (f.type == mini_redis::frame::kind::bulk) {
        FUZZ_CHECK(f.text.size() <= std::max(l.max_bulk, l.max_inline));
    }
    if (f.type == mini_redis::frame::kind::array) {
        FUZZ_CHECK(f.items.size() <= std::max(l.max_items, l.max_inline));
        for (const auto& item : f.items) {
            check_limits(item, depth + 1);
        }
    }
}

/// The RESP decoder with frames given as their re-encoded bytes, so the common harness can
/// compare them; also checks each frame's limits and its round trip.
struct resp_as_text {
    using item_type = std::string;
    mini_redis::resp_codec codec{limits()};

    tako::io::result<std::optional<std::string>> decode(tako::codec::bytes_buffer& buf) {
        auto r = codec.decode(buf);
        if (!r) {
            return std::unexpected(r.error());
        }
        if (!*r) {
            return std::optional<std::string>();
        }
        check_limits(**r, 0);
        std::string text;
        mini_redis::encode_frame(**r, text);
        // Re-encoded bytes decode to the same frame, all of them consumed (an inline
        // command comes back as an array of bulk strings, which is what it decoded to).
        auto again = mini_redis::parse_frame(text);
        FUZZ_CHECK(again.state == mini_redis::parse_result::status::complete);
        FUZZ_CHECK(again.consumed == text.size());
        FUZZ_CHECK(again.value == **r);
        return text;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const std::size_t chunk = in.ConsumeIntegral<std::uint8_t>() % 17;
    const std::string stream = in.ConsumeRemainingBytesAsString();
    tako_fuzz::decode_both_ways([] { return resp_as_text{}; }, stream, chunk,
                                limits().max_frame, [](const std::string&) {});
    return 0;
}
