#pragma once
/// \file
/// Per-thread recycling allocator for coroutine frames and task cells.
///
/// Frames are freed with their size (sized `operator delete`), so no header is stored.
/// A block freed on another thread simply joins that thread's cache: every block comes
/// from `::operator new`, so any thread may recycle or release it.

#include <cstddef>

namespace tako::detail {

/// Allocates `size` bytes (aligned to `__STDCPP_DEFAULT_NEW_ALIGNMENT__`) for a frame.
/// Throws `std::bad_alloc` on exhaustion, like `::operator new`.
[[nodiscard]] void* frame_allocate(std::size_t size);

/// Returns a block obtained from `frame_allocate(size)`; callable from any thread.
void frame_deallocate(void* block, std::size_t size) noexcept;

} // namespace tako::detail
