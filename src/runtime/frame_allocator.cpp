#include "tako/detail/frame_allocator.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>

#include "tako/detail/spin_lock.hpp"

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
// A thread caches at most this many blocks per class; a full cache hands a batch of this
// size to the central pool, and an empty one takes a batch back. Frames are often freed on
// another worker than the one that allocated them (a task spawned on one runs on the
// other); moving whole batches keeps that traffic to one lock per `batch` frees.
constexpr std::uint32_t batch = 64;
// The central pool keeps at most this many bytes; beyond it batches go back to malloc.
constexpr std::size_t central_limit_bytes = 32u << 20;

struct free_block {
    free_block* next;
    free_block* next_batch; ///< in a batch's first block: the next batch in the pool
};

std::size_t class_of(std::size_t size) noexcept {
    return (size + granule - 1) / granule - 1;
}
std::size_t bytes_of(std::size_t cls) noexcept {
    return (cls + 1) * granule;
}

void release_chain(free_block* b) noexcept {
    while (b != nullptr) {
        ::operator delete(std::exchange(b, b->next));
    }
}

/// Batches of free blocks shared by all threads, one stack of batches per class.
class central_pool {
public:
    /// Takes a full batch `head` (linked through `next`, `batch` blocks).
    void put(std::size_t cls, free_block* head) noexcept {
        {
            std::lock_guard guard(lock_);
            if (bytes_ + batch * bytes_of(cls) <= central_limit_bytes) {
                head->next_batch = batches_[cls];
                batches_[cls] = head;
                bytes_ += batch * bytes_of(cls);
                return;
            }
        }
        release_chain(head);
    }
    free_block* take(std::size_t cls) noexcept {
        std::lock_guard guard(lock_);
        free_block* head = batches_[cls];
        if (head != nullptr) {
            batches_[cls] = head->next_batch;
            bytes_ -= batch * bytes_of(cls);
        }
        return head;
    }

private:
    tako::detail::spin_lock lock_;
    std::array<free_block*, classes> batches_{};
    std::size_t bytes_ = 0;
};

central_pool& central() noexcept {
    static central_pool pool; // never destroyed: threads may free frames during exit
    return pool;
}

struct cache {
    std::array<free_block*, classes> heads{};
    std::array<std::uint32_t, classes> counts{};
    bool alive = true;

    ~cache() {
        alive = false;
        for (std::size_t cls = 0; cls < classes; ++cls) {
            release_chain(std::exchange(heads[cls], nullptr));
        }
    }
};

cache& local_cache() noexcept {
    static thread_local cache c;
    return c;
}

} // namespace

void* frame_allocate(std::size_t size) {
    const std::size_t cls = class_of(size);
    if (cls >= classes) {
        return ::operator new(size);
    }
    cache& c = local_cache();
    if (!c.alive) {
        // A thread_local destructor running after this thread's cache is gone.
        return ::operator new(bytes_of(cls));
    }
    free_block* b = c.heads[cls];
    if (b == nullptr) {
        b = central().take(cls);
        if (b == nullptr) {
            return ::operator new(bytes_of(cls));
        }
        c.counts[cls] = batch;
    }
    c.heads[cls] = b->next;
    --c.counts[cls];
    return b;
}

void frame_deallocate(void* block, std::size_t size) noexcept {
    const std::size_t cls = class_of(size);
    if (cls >= classes) {
        ::operator delete(block);
        return;
    }
    cache& c = local_cache();
    if (!c.alive) {
        ::operator delete(block);
        return;
    }
    auto* b = static_cast<free_block*>(block);
    if (c.counts[cls] == batch) {
        central().put(cls, std::exchange(c.heads[cls], nullptr));
        c.counts[cls] = 0;
    }
    b->next = c.heads[cls];
    c.heads[cls] = b;
    ++c.counts[cls];
}

#else

void* frame_allocate(std::size_t size) {
    return ::operator new(size);
}
void frame_deallocate(void* block, std::size_t) noexcept {
    ::operator delete(block);
}

#endif

} // namespace tako::detail
