#pragma once
/// \file
/// Everything about `tako::stream<T>` (tokio-stream): the generator type, sources,
/// adapters, `merge`, the time adapters, `stream_map` and the wrappers over tako's
/// channels, timers, listeners and line readers. docs/streams.md is the guide.
///
/// ```cpp
/// tako::task<int> sum_of_evens() {
///     auto evens = tako::streams::iter(std::vector<int>{1, 2, 3, 4}) |
///                  tako::streams::filter([](int x) { return x % 2 == 0; });
///     co_return co_await tako::streams::fold(std::move(evens), 0,
///                                            [](int a, int b) { return a + b; });
/// }
/// ```

#include "tako/stream/adapters.hpp"
#include "tako/stream/merge.hpp"
#include "tako/stream/sources.hpp"
#include "tako/stream/stream.hpp"
#include "tako/stream/stream_map.hpp"
#include "tako/stream/time.hpp"
#include "tako/stream/wrappers.hpp"
