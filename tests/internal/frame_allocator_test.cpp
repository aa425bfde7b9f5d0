// The frame allocator (src/runtime/frame_allocator.cpp): per-thread caches of 16-byte
// size classes up to 1 KiB, batches of 64 blocks moving through a central pool, larger
// sizes straight from operator new. Under AddressSanitizer the cache is compiled out (so
// use-after-free of frames is caught); the reuse tests are skipped there.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "tako/detail/frame_allocator.hpp"

namespace {

using tako::detail::frame_allocate;
using tako::detail::frame_deallocate;

// Mirrors the condition in frame_allocator.cpp.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool frame_cache = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool frame_cache = false;
#else
constexpr bool frame_cache = true;
#endif
#else
constexpr bool frame_cache = true;
#endif

#define SKIP_WITHOUT_FRAME_CACHE()                                                                 \
    if (!frame_cache) {                                                                            \
        GTEST_SKIP() << "the frame cache is off under AddressSanitizer";                           \
    }

constexpr std::size_t batch = 64; // blocks per batch moved to/from the central pool

bool aligned(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__ == 0;
}

} // namespace

// Every size, small or large, gives aligned memory that can be written in full.
TEST(frame_allocator, every_size_is_usable_and_aligned) {
    std::vector<std::size_t> sizes;
    for (std::size_t s = 0; s <= 1100; ++s) {
        sizes.push_back(s);
    }
    sizes.insert(sizes.end(), {4096, 65536, std::size_t{1} << 20});
    for (std::size_t s : sizes) {
        void* p = frame_allocate(s);
        ASSERT_NE(p, nullptr) << s;
        EXPECT_TRUE(aligned(p)) << s;
        std::memset(p, 0xab, s);
        frame_deallocate(p, s);
    }
}

// Blocks live at once never overlap, within and across classes.
TEST(frame_allocator, live_blocks_are_distinct) {
    struct block {
        unsigned char* p;
        std::size_t size;
    };
    std::vector<block> blocks;
    for (int round = 0; round < 3; ++round) {
        for (std::size_t s = 16; s <= 2048; s += 48) {
            blocks.push_back({static_cast<unsigned char*>(frame_allocate(s)), s});
            std::memset(blocks.back().p, static_cast<int>(blocks.size() & 0xff), s);
        }
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto fill = static_cast<unsigned char>((i + 1) & 0xff);
        for (std::size_t k = 0; k < blocks[i].size; ++k) {
            ASSERT_EQ(blocks[i].p[k], fill) << "block " << i << " was overwritten";
        }
    }
    for (const block& b : blocks) {
        frame_deallocate(b.p, b.size);
    }
}

// A freed block is handed out again for any size of its 16-byte class, most recent first.
TEST(frame_allocator, freed_blocks_are_reused_within_their_size_class) {
    SKIP_WITHOUT_FRAME_CACHE();
    void* a = frame_allocate(97); // class 97..112
    void* b = frame_allocate(100);
    frame_deallocate(a, 97);
    frame_deallocate(b, 100);
    void* c = frame_allocate(112);
    void* d = frame_allocate(105);
    EXPECT_EQ(c, b);
    EXPECT_EQ(d, a);
    frame_deallocate(c, 112);
    frame_deallocate(d, 105);
}

TEST(frame_allocator, other_size_classes_do_not_reuse_the_block) {
    SKIP_WITHOUT_FRAME_CACHE();
    void* a = frame_allocate(100);
    frame_deallocate(a, 100);
    void* smaller = frame_allocate(96); // the class below
    void* larger = frame_allocate(113); // the class above
    EXPECT_NE(smaller, a);
    EXPECT_NE(larger, a);
    void* same = frame_allocate(100);
    EXPECT_EQ(same, a);
    frame_deallocate(smaller, 96);
    frame_deallocate(larger, 113);
    frame_deallocate(same, 100);
}

// A block freed on another thread than the one that allocated it joins the freeing
// thread's cache.
TEST(frame_allocator, block_freed_on_another_thread_is_reused_there) {
    SKIP_WITHOUT_FRAME_CACHE();
    void* p = frame_allocate(496);
    void* reused = nullptr;
    std::thread([&] {
        frame_deallocate(p, 496);
        reused = frame_allocate(490);
        frame_deallocate(reused, 490);
    }).join();
    EXPECT_EQ(reused, p);
}

// A thread whose cache of one class is full hands a batch to the central pool, where
// another thread with an empty cache picks it up: the most recently cached block first.
TEST(frame_allocator, full_cache_passes_a_batch_to_other_threads) {
    SKIP_WITHOUT_FRAME_CACHE();
    constexpr std::size_t size = 1008; // a class no other test uses
    std::vector<void*> freed;
    std::thread([&] {
        for (std::size_t i = 0; i <= batch; ++i) {
            freed.push_back(frame_allocate(size));
        }
        for (void* p : freed) {
            frame_deallocate(p, size); // the last one finds the cache full
        }
    }).join();
    void* taken = nullptr;
    std::thread([&] {
        taken = frame_allocate(size);
        std::memset(taken, 0, size);
        frame_deallocate(taken, size);
    }).join();
    EXPECT_EQ(taken, freed[batch - 1]);
}

// Sizes past 1 KiB bypass the classes: each is its own allocation of the full size.
TEST(frame_allocator, large_blocks_hold_their_full_size) {
    std::vector<unsigned char*> blocks;
    for (std::size_t s : {1025, 1040, 5000}) {
        auto* p = static_cast<unsigned char*>(frame_allocate(s));
        std::memset(p, static_cast<int>(s & 0xff), s);
        blocks.push_back(p);
    }
    std::size_t i = 0;
    for (std::size_t s : {1025, 1040, 5000}) {
        EXPECT_EQ(blocks[i][s - 1], static_cast<unsigned char>(s & 0xff));
        frame_deallocate(blocks[i], s);
        ++i;
    }
}
