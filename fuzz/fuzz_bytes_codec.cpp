// libFuzzer target for codec::bytes_codec. Input: a chunk size byte, then the stream. See
// fuzz_support.hpp for the common invariants; here also: in chunks, the frames put together
// are exactly the stream, and each frame re-encodes to itself.

#include "fuzz_support.hpp"

#include <tako/codec/bytes_codec.hpp>

#include <fuzzer/FuzzedDataProvider.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const std::size_t chunk = 1 + in.ConsumeIntegral<std::uint8_t>() % 16;
    const std::string stream = in.ConsumeRemainingBytesAsString();
    auto check = [](const std::vector<std::byte>& frame) {
        FUZZ_CHECK(!frame.empty());
        tako::codec::bytes_codec c;
        tako_fuzz::round_trip(c, tako::codec::bytes_codec(), frame);
    };
    // Frames are whatever was buffered, so chunked and whole runs differ in sizes: compare
    // the bytes instead.
    auto pieces = tako_fuzz::decode_all(tako::codec::bytes_codec(), stream, chunk, 0, check);
    std::string joined;
    for (const auto& e : pieces) {
        FUZZ_CHECK(!e.error);
        joined += e.frame;
    }
    FUZZ_CHECK(joined == stream);
    return 0;
}
