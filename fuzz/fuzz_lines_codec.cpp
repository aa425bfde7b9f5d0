// libFuzzer target for codec::lines_codec. Input: a max length byte, a flags byte (bit 0:
// check UTF-8), a chunk size byte, then the stream. See fuzz_support.hpp for the common
// invariants; here also: no line is longer than the maximum or holds a "\n", checked lines
// are valid UTF-8, and a line re-encodes to itself.

#include "fuzz_support.hpp"

#include <tako/codec/lines_codec.hpp>

#include <fuzzer/FuzzedDataProvider.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const std::size_t max = in.ConsumeIntegral<std::uint8_t>(); // 0 to 255
    const auto flags = in.ConsumeIntegral<std::uint8_t>();
    const std::size_t chunk = in.ConsumeIntegral<std::uint8_t>() % 17;
    const bool utf8 = (flags & 1) != 0;
    const std::string stream = in.ConsumeRemainingBytesAsString();

    auto make = [&] {
        tako::codec::lines_codec c(max);
        c.check_utf8(utf8);
        return c;
    };
    auto check = [&](const std::string& line) {
        FUZZ_CHECK(line.size() <= max);
        FUZZ_CHECK(line.find('\n') == std::string::npos);
        FUZZ_CHECK(!utf8 || tako::detail::is_utf8(line));
        if (!line.ends_with('\r')) { // "a\r" would come back as "a"
            auto c = make();
            tako_fuzz::round_trip(c, make(), line);
        }
    };
    tako_fuzz::decode_both_ways(make, stream, chunk, max, check);
    return 0;
}
