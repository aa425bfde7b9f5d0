// libFuzzer target for codec::any_delimiter_codec. Input: a max length byte, a count byte and
// up to 4 delimiter bytes, a chunk size byte, then the stream. See fuzz_support.hpp for the
// common invariants; here also: no frame is longer than the maximum or holds a delimiter,
// and a frame re-encodes to itself.

#include "fuzz_support.hpp"

#include <tako/codec/any_delimiter_codec.hpp>

#include <fuzzer/FuzzedDataProvider.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const std::size_t max = in.ConsumeIntegral<std::uint8_t>();
    const std::size_t ndelims = 1 + in.ConsumeIntegral<std::uint8_t>() % 4;
    const std::string delims = in.ConsumeBytesAsString(ndelims);
    const std::size_t chunk = in.ConsumeIntegral<std::uint8_t>() % 17;
    const std::string stream = in.ConsumeRemainingBytesAsString();
    if (delims.empty()) {
        return 0;
    }
    // Encoding writes the first delimiter, so every encoded frame decodes back.
    auto make = [&] { return tako::codec::any_delimiter_codec(delims, delims.substr(0, 1), max); };
    auto check = [&](const std::string& frame) {
        FUZZ_CHECK(frame.size() <= max);
        FUZZ_CHECK(frame.find_first_of(delims) == std::string::npos);
        auto c = make();
        tako_fuzz::round_trip(c, make(), frame);
    };
    tako_fuzz::decode_both_ways(make, stream, chunk, max, check);
    return 0;
}
