#include "tako/detail/frame_allocator.hpp"

#include <array>
#include <cstdint>
#include <utility>
#include <cstdlib>
#include <new>

// Under AddressSanitizer the cache is off, so every use-after-free of a frame is caught.
#if defined(__SANITIZE_ADDRESS__)
#define TAKO_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAKO_FRAME_CACHE 0
#endif
#endif
#ifndef TAKO_FRAME_CACHE
#define TAKO_FRAME_CACHE 1
#endif

namespace tako::detail {

#if TAKO_FRAME_CACHE
namespace {

// Size classes of 16 bytes up to 1 KiB; larger frames go straight to operator new.
constexpr std::size_t granule = 16;
constexpr std::size_t classes = 64;
// Each class caches at most this many bytes, so a thread holds at most ~1 MiB.
constexpr std::size_t bytes_per_class = 16 * 1024;

struct free_block {
    free_block* next;
};

struct cache {
    std::array<free_block*, classes> heads{};
    std::array<std::uint32_t, classes> counts{};
    bool alive = true;

    ~cache() {
        alive = false;
        for (free_block*& head : heads) {
            while (head != nullptr) {
                ::operator delete(std::exchange(head, head->next));
            }
        }
    }
};

cache& local_cache() noexcept {
    static thread_local cache c;
    return c;
}

std::size_t class_of(std::size_t size) noexcept { return (size + granule - 1) / granule - 1; }
std::uint32_t limit_of(std::size_t cls) noexcept {
    return static_cast<std::uint32_t>(bytes_per_class / ((cls + 1) * granule));
}

} // namespace

void* frame_allocate(std::size_t size) {
    const std::size_t cls = class_of(size);
    if (cls < classes) {
        cache& c = local_cache();
        if (free_block* b = c.heads[cls]) {
            c.heads[cls] = b->next;
            --c.counts[cls];
            return b;
        }
        return ::operator new((cls + 1) * granule);
    }
    return ::operator new(size);
}

void frame_deallocate(void* block, std::size_t size) noexcept {
    const std::size_t cls = class_of(size);
    if (cls < classes) {
        cache& c = local_cache();
        if (c.alive && c.counts[cls] < limit_of(cls)) {
            auto* b = static_cast<free_block*>(block);
            b->next = c.heads[cls];
            c.heads[cls] = b;
            ++c.counts[cls];
            return;
        }
    }
    ::operator delete(block);
}

#else

void* frame_allocate(std::size_t size) { return ::operator new(size); }
void frame_deallocate(void* block, std::size_t) noexcept { ::operator delete(block); }

#endif

} // namespace tako::detail
