// Tests of tako::fs::file: round trips through the io:: concepts, buffered small reads and
// writes, seek, append, the operations that flush first, a 256 MiB file, writes that
// survive the file's destruction, and a read cancelled while the pool is reading.

#include <tako/fs.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using tako_test::bytes_of;
using tako_test::fails_with;
using tako_test::temp_dir;
using tako_test::text_of;
namespace fs = tako::fs;

static_assert(tako::io::async_read<fs::file>);
static_assert(tako::io::async_write<fs::file>);

namespace {

/// The byte at `offset` of the test pattern (not periodic in any power of two).
std::byte pattern_at(std::uint64_t offset) {
    return static_cast<std::byte>((offset * 7 + offset / 251) & 0xff);
}

std::vector<std::byte> pattern(std::uint64_t from, std::size_t n) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = pattern_at(from + i);
    }
    return v;
}

/// The file's contents read with plain POSIX calls (what really reached the kernel).
std::string contents_of(const std::string& path) {
    std::string out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return "<missing>";
    }
    char buf[4096];
    ::ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

/// Polls until the file holds `want` (a destroyed file's last writes run on the pool), at
/// most 5 s.
tako::task<std::string> wait_for_contents(std::string path, std::string want) {
    tako_test::deadline d;
    std::string got;
    while ((got = contents_of(path)) != want && !d.expired()) {
        co_await tako::time::sleep(1ms);
    }
    co_return got;
}

} // namespace

TAKO_TEST(fs_file, write_then_read_round_trip) {
    temp_dir dir("fs");
    const auto p = dir / "a.txt";
    {
        auto f = co_await fs::file::create(p);
        TAKO_CO_ASSERT(f.has_value());
        TAKO_CO_ASSERT(co_await f->write_all("hello, "));
        TAKO_CO_ASSERT(co_await f->write_all("file"));
        EXPECT_EQ(contents_of(p), ""); // still buffered: nothing reached the kernel
        TAKO_CO_ASSERT(co_await f->flush());
        EXPECT_EQ(contents_of(p), "hello, file");
        EXPECT_EQ(f->path(), p);
    }
    auto f = co_await fs::file::open(p);
    TAKO_CO_ASSERT(f.has_value());
    std::string text;
    auto n = co_await tako::io::read_to_string(*f, text);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(text, "hello, file");
    std::array<std::byte, 8> more{};
    EXPECT_EQ((co_await f->read(more)).value(), 0u); // end of file
}

TAKO_TEST(fs_file, small_reads_of_every_size_see_the_right_bytes) {
    temp_dir dir("fs");
    const auto p = dir / "pattern.bin";
    TAKO_CO_ASSERT(co_await fs::write(p, pattern(0, 1 << 20)));
    auto f = co_await fs::file::open(p);
    TAKO_CO_ASSERT(f.has_value());
    // Sizes around the buffer's edges: 1 byte, odd sizes, 4 KiB, larger than the buffer.
    const std::size_t sizes[] = {1, 7, 4096, 4095, 65536, 65537, 100000, 3};
    std::uint64_t at = 0;
    std::vector<std::byte> buf;
    for (int round = 0; at < (1 << 20); ++round) {
        const std::size_t want = std::min<std::uint64_t>(sizes[round % 8], (1 << 20) - at);
        buf.resize(want);
        TAKO_CO_ASSERT(co_await f->read_exact(buf));
        TAKO_CO_ASSERT(buf == pattern(at, want));
        at += want;
    }
    std::array<std::byte, 1> b{};
    EXPECT_EQ((co_await f->read(b)).value(), 0u);
    EXPECT_TRUE(fails_with(co_await tako::io::read_exact(*f, b), tako::io::errc::unexpected_eof));
}

TAKO_TEST(fs_file, a_run_of_small_reads_takes_few_pool_trips) {
    temp_dir dir("fs");
    const auto p = dir / "data.bin";
    TAKO_CO_ASSERT(co_await fs::write(p, pattern(0, 4 << 20)));
    auto f = co_await fs::file::open(p);
    TAKO_CO_ASSERT(f.has_value());
    const auto rt = tako::runtime_handle::current();
    const auto before = rt.metrics().spawned_tasks_count;
    std::array<std::byte, 4096> buf{};
    for (int i = 0; i < 1000; ++i) {
        TAKO_CO_ASSERT(co_await f->read_exact(buf));
    }
    const auto trips = rt.metrics().spawned_tasks_count - before;
    // Read-ahead fills 64 KiB per trip at worst (16 reads of 4 KiB); data in the page
    // cache takes none at all (preadv2 RWF_NOWAIT on this thread).
    EXPECT_LE(trips, 1000u / 16u + 1u) << trips << " blocking-pool trips for 1,000 reads";
}

TAKO_TEST(fs_file, opening_a_cached_local_file_takes_no_pool_trip) {
    temp_dir dir("fs");
    const auto p = dir / "cached.txt";
    TAKO_CO_ASSERT(co_await fs::write(p, "x"));
    struct ::statfs sfs {};
    TAKO_CO_ASSERT(::statfs(p.c_str(), &sfs) == 0);
    const bool local = sfs.f_type == EXT4_SUPER_MAGIC || sfs.f_type == XFS_SUPER_MAGIC ||
                       sfs.f_type == BTRFS_SUPER_MAGIC || sfs.f_type == TMPFS_MAGIC;
    const auto rt = tako::runtime_handle::current();
    const auto before = rt.metrics().spawned_tasks_count;
    auto f = co_await fs::file::open(p); // the path was just written: it is in the dcache
    TAKO_CO_ASSERT(f.has_value());
    const auto trips = rt.metrics().spawned_tasks_count - before;
    if (!local) { // GTEST_SKIP returns, which a coroutine cannot: record the skip
        GTEST_MESSAGE_("$TMPDIR is not on ext4/xfs/btrfs/tmpfs: opens go to the pool",
                       ::testing::TestPartResult::kSkip);
        co_return;
    }
    EXPECT_EQ(trips, 0u);
    std::array<std::byte, 1> b{};
    EXPECT_EQ((co_await f->read(b)).value(), 1u);
    // Creating and truncating are never done on the worker.
    const auto before_create = rt.metrics().spawned_tasks_count;
    TAKO_CO_ASSERT(co_await fs::file::create(p));
    EXPECT_EQ(rt.metrics().spawned_tasks_count - before_create, 1u);
}

TAKO_TEST(fs_file, opening_a_fifo_waits_on_the_pool_not_on_the_worker) {
    temp_dir dir("fs");
    const auto fifo = dir / "fifo";
    TAKO_CO_ASSERT(::mkfifo(fifo.c_str(), 0600) == 0);
    // A FIFO's open for reading waits for a writer: on this current_thread runtime, an open
    // on the worker would stop the sleep below from ever completing.
    auto opener = tako::spawn([fifo]() -> tako::task<bool> {
        auto f = co_await fs::file::open(fifo);
        co_return f.has_value();
    });
    co_await tako::time::sleep(10ms);
    EXPECT_FALSE(opener.is_finished());
    const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC); // lets the open finish
    TAKO_CO_ASSERT(writer >= 0);
    auto opened = co_await opener;
    ::close(writer);
    TAKO_CO_ASSERT(opened.has_value());
    EXPECT_TRUE(*opened);
}

TAKO_TEST(fs_file, small_writes_are_batched_into_few_trips) {
    temp_dir dir("fs");
    const auto p = dir / "log.txt";
    auto f = co_await fs::file::create(p);
    TAKO_CO_ASSERT(f.has_value());
    const auto rt = tako::runtime_handle::current();
    const auto before = rt.metrics().spawned_tasks_count;
    std::string want;
    for (int i = 0; i < 10000; ++i) {
        const std::string line = "line " + std::to_string(i) + "\n";
        want += line;
        TAKO_CO_ASSERT(co_await f->write_all(line));
    }
    TAKO_CO_ASSERT(co_await f->flush());
    const auto trips = rt.metrics().spawned_tasks_count - before;
    EXPECT_LE(trips, want.size() / fs::file::default_buffer_size + 2);
    EXPECT_EQ(contents_of(p), want);
}

TAKO_TEST(fs_file, unbuffered_and_oversized_transfers) {
    temp_dir dir("fs");
    const auto p = dir / "big.bin";
    constexpr std::size_t size = 5 * fs::file::max_io_size + 123;
    {
        auto f = co_await fs::file::create(p);
        TAKO_CO_ASSERT(f.has_value());
        f->set_buffer_size(0); // every write is its own write-behind job
        auto n = co_await f->write(pattern(0, size));
        TAKO_CO_ASSERT(n.has_value());
        EXPECT_EQ(*n, fs::file::max_io_size); // one call moves at most max_io_size
        TAKO_CO_ASSERT(co_await f->write_all(pattern(*n, size - *n)));
        TAKO_CO_ASSERT(co_await f->write_all(bytes_of("!")));
        TAKO_CO_ASSERT(co_await f->flush());
    }
    auto f = co_await fs::file::open(p);
    TAKO_CO_ASSERT(f.has_value());
    f->set_buffer_size(0); // reads ask the kernel for exactly what is asked
    std::vector<std::byte> all(size);
    TAKO_CO_ASSERT(co_await f->read_exact(all));
    TAKO_CO_ASSERT(all == pattern(0, size));
    std::array<std::byte, 4> tail{};
    EXPECT_EQ((co_await f->read(tail)).value(), 1u);
    EXPECT_EQ(text_of(std::span(tail).first(1)), "!");
    auto m = co_await fs::symlink_metadata(p);
    EXPECT_EQ(m.value().len(), size + 1);
}

TAKO_TEST(fs_file, append_writes_at_the_end) {
    temp_dir dir("fs");
    const auto p = dir / "append.txt";
    TAKO_CO_ASSERT(co_await fs::write(p, "first\n"));
    for (const char* line : {"second\n", "third\n"}) {
        auto f = co_await fs::open_options().append(true).open(p);
        TAKO_CO_ASSERT(f.has_value());
        TAKO_CO_ASSERT(co_await f->write_all(line));
        TAKO_CO_ASSERT(co_await f->flush());
    }
    EXPECT_EQ(contents_of(p), "first\nsecond\nthird\n");
    // append + create makes the file when missing.
    auto g = co_await fs::open_options().append(true).create(true).open(dir / "new.txt");
    TAKO_CO_ASSERT(g.has_value());
    TAKO_CO_ASSERT(co_await g->write_all("x"));
    TAKO_CO_ASSERT(co_await g->flush());
    EXPECT_EQ(contents_of(dir / "new.txt"), "x");
}

TAKO_TEST(fs_file, seek_accounts_for_read_ahead_and_pending_writes) {
    temp_dir dir("fs");
    const auto p = dir / "digits.txt";
    TAKO_CO_ASSERT(co_await fs::write(p, "0123456789"));
    auto f = co_await fs::file::options().read(true).write(true).open(p);
    TAKO_CO_ASSERT(f.has_value());
    std::array<std::byte, 2> two{};
    TAKO_CO_ASSERT(co_await f->read_exact(two)); // the rest is read ahead
    EXPECT_EQ(text_of(two), "01");
    EXPECT_EQ((co_await f->stream_position()).value(), 2u);
    EXPECT_EQ((co_await f->seek(fs::seek_from::current(1))).value(), 3u);
    TAKO_CO_ASSERT(co_await f->read_exact(two));
    EXPECT_EQ(text_of(two), "34");
    EXPECT_EQ((co_await f->seek(fs::seek_from::end(-1))).value(), 9u);
    std::array<std::byte, 1> one{};
    TAKO_CO_ASSERT(co_await f->read_exact(one));
    EXPECT_EQ(text_of(one), "9");
    EXPECT_EQ((co_await f->seek(fs::seek_from::start(1))).value(), 1u);
    TAKO_CO_ASSERT(co_await f->read_exact(one));
    // A write after a read lands right after what was read, not after the read-ahead.
    TAKO_CO_ASSERT(co_await f->write_all("XY"));
    EXPECT_EQ((co_await f->stream_position()).value(), 4u); // flushes the pending "XY"
    EXPECT_EQ(contents_of(p), "01XY456789");
    // A read after a write sees it (the pending bytes are flushed first).
    TAKO_CO_ASSERT(co_await f->write_all("Z"));
    TAKO_CO_ASSERT(co_await f->read_exact(one));
    EXPECT_EQ(text_of(one), "5");
    EXPECT_EQ(contents_of(p), "01XYZ56789");
    auto before_start = co_await f->seek(fs::seek_from::current(-100));
    EXPECT_TRUE(fails_with(before_start, std::errc::invalid_argument));
}

TAKO_TEST(fs_file, set_len_sync_metadata_permissions) {
    temp_dir dir("fs");
    const auto p = dir / "f.bin";
    auto f = co_await fs::file::create_new(p);
    TAKO_CO_ASSERT(f.has_value());
    TAKO_CO_ASSERT(co_await f->write_all("abcdef"));
    auto m = co_await f->metadata(); // counts the buffered bytes: they are flushed first
    TAKO_CO_ASSERT(m.has_value());
    EXPECT_EQ(m->len(), 6u);
    EXPECT_TRUE(m->is_file());
    TAKO_CO_ASSERT(co_await f->set_len(3));
    TAKO_CO_ASSERT(co_await f->sync_all());
    EXPECT_EQ(contents_of(p), "abc");
    TAKO_CO_ASSERT(co_await f->set_len(5)); // extends with zeros
    TAKO_CO_ASSERT(co_await f->sync_data());
    EXPECT_EQ(contents_of(p), std::string("abc\0\0", 5));
    TAKO_CO_ASSERT(co_await f->set_permissions(std::filesystem::perms(0640)));
    struct ::stat st {};
    TAKO_CO_ASSERT(::stat(p.c_str(), &st) == 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ((co_await f->metadata()).value().permissions(), std::filesystem::perms(0640));
    // create_new on an existing file.
    auto again = co_await fs::file::create_new(p);
    TAKO_CO_ASSERT(!again.has_value());
    EXPECT_EQ(again.error(), std::errc::file_exists);
    EXPECT_EQ(again.error().path(), p);
}

TAKO_TEST(fs_file, try_clone_shares_the_cursor) {
    temp_dir dir("fs");
    const auto p = dir / "c.txt";
    TAKO_CO_ASSERT(co_await fs::write(p, "abcdefgh"));
    auto f = co_await fs::file::open(p);
    TAKO_CO_ASSERT(f.has_value());
    std::array<std::byte, 3> three{};
    TAKO_CO_ASSERT(co_await f->read_exact(three));
    auto g = co_await f->try_clone();
    TAKO_CO_ASSERT(g.has_value());
    TAKO_CO_ASSERT(co_await g->read_exact(three)); // starts where f's reader is
    EXPECT_EQ(text_of(three), "def");
    EXPECT_EQ(g->path(), p);
    EXPECT_NE(g->native_handle(), f->native_handle());
}

TAKO_TEST(fs_file, open_options_rules) {
    temp_dir dir("fs");
    const auto p = dir / "o.txt";
    const auto invalid = std::make_error_code(std::errc::invalid_argument);
    EXPECT_EQ(fs::open_options().flags().error(), invalid); // no mode
    EXPECT_EQ(fs::open_options().read(true).truncate(true).flags().error(), invalid);
    EXPECT_EQ(fs::open_options().read(true).create(true).flags().error(), invalid);
    EXPECT_EQ(fs::open_options().append(true).truncate(true).flags().error(), invalid);
    auto bad = co_await fs::open_options().read(true).create(true).open(p);
    TAKO_CO_ASSERT(!bad.has_value());
    EXPECT_EQ(bad.error(), std::errc::invalid_argument);
    EXPECT_FALSE(std::filesystem::exists(p)); // refused before anything was opened
    // mode applies to a created file (under the umask; 0 masks nothing of 0600).
    auto f = co_await fs::open_options().write(true).create(true).mode(0600).open(p);
    TAKO_CO_ASSERT(f.has_value());
    struct ::stat st {};
    TAKO_CO_ASSERT(::stat(p.c_str(), &st) == 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // custom_flags: O_NOFOLLOW refuses a symlink.
    std::filesystem::create_symlink(p, dir / "link");
    auto nofollow =
        co_await fs::open_options().read(true).custom_flags(O_NOFOLLOW).open(dir / "link");
    TAKO_CO_ASSERT(!nofollow.has_value());
    EXPECT_EQ(nofollow.error(), std::errc::too_many_symbolic_link_levels);
    // truncate drops the old contents.
    TAKO_CO_ASSERT(co_await f->write_all("long contents"));
    TAKO_CO_ASSERT(co_await f->flush());
    auto t = co_await fs::open_options().write(true).truncate(true).open(p);
    TAKO_CO_ASSERT(t.has_value());
    EXPECT_EQ(contents_of(p), "");
}

TAKO_TEST(fs_file, io_copy_and_buffered_lines_work_on_files) {
    temp_dir dir("fs");
    std::string text;
    for (int i = 0; i < 5000; ++i) {
        text += "row " + std::to_string(i) + "\n";
    }
    TAKO_CO_ASSERT(co_await fs::write(dir / "in.txt", text));
    auto in = co_await fs::file::open(dir / "in.txt");
    auto out = co_await fs::file::create(dir / "out.txt");
    TAKO_CO_ASSERT(in.has_value() && out.has_value());
    auto copied = co_await tako::io::copy(*in, *out);
    TAKO_CO_ASSERT(copied.has_value());
    EXPECT_EQ(*copied, text.size());
    TAKO_CO_ASSERT(co_await tako::io::flush(*out));
    EXPECT_EQ(contents_of(dir / "out.txt"), text);

    auto again = co_await fs::file::open(dir / "out.txt");
    TAKO_CO_ASSERT(again.has_value());
    tako::io::buf_reader reader(std::move(*again));
    std::string line;
    int rows = 0;
    for (;;) {
        line.clear();
        auto n = co_await tako::io::read_line(reader, line);
        TAKO_CO_ASSERT(n.has_value());
        if (*n == 0) {
            break;
        }
        EXPECT_EQ(line, "row " + std::to_string(rows) + "\n");
        ++rows;
    }
    EXPECT_EQ(rows, 5000);
}

TAKO_TEST_MT(fs_file, a_256_mib_file_round_trips) {
    temp_dir dir("fs-large");
    const auto p = dir / "large.bin";
    constexpr std::uint64_t total = 256ull << 20;
    constexpr std::size_t chunk = 1 << 20;
    {
        auto f = co_await fs::file::create(p);
        TAKO_CO_ASSERT(f.has_value());
        for (std::uint64_t at = 0; at < total; at += chunk) {
            TAKO_CO_ASSERT(co_await f->write_all(pattern(at, chunk)));
        }
        TAKO_CO_ASSERT(co_await f->sync_all());
        EXPECT_EQ((co_await f->metadata()).value().len(), total);
    }
    {
        auto f = co_await fs::file::open(p);
        TAKO_CO_ASSERT(f.has_value());
        std::vector<std::byte> buf(chunk);
        for (std::uint64_t at = 0; at < total; at += chunk) {
            TAKO_CO_ASSERT(co_await f->read_exact(buf));
            TAKO_CO_ASSERT(buf == pattern(at, chunk)) << "at offset " << at;
        }
        std::array<std::byte, 1> b{};
        EXPECT_EQ((co_await f->read(b)).value(), 0u);
    }
    auto whole = co_await fs::read(p);
    TAKO_CO_ASSERT(whole.has_value());
    TAKO_CO_ASSERT(whole->size() == total);
    EXPECT_TRUE(std::equal(whole->begin() + (100 << 20), whole->begin() + (100 << 20) + 4096,
                           pattern(100 << 20, 4096).begin()));
    whole->clear();
    whole->shrink_to_fit();
    TAKO_CO_ASSERT(co_await fs::remove_file(p));
    EXPECT_FALSE(std::filesystem::exists(p));
}

// ---- destruction never loses written bytes ----

TAKO_TEST(fs_file, destroying_a_file_with_buffered_bytes_writes_them) {
    temp_dir dir("fs");
    const auto p = dir / "buffered.txt";
    {
        auto f = co_await fs::file::create(p);
        TAKO_CO_ASSERT(f.has_value());
        TAKO_CO_ASSERT(co_await f->write_all("kept "));
        TAKO_CO_ASSERT(co_await f->write_all("safe"));
        EXPECT_EQ(contents_of(p), ""); // buffered, and no flush before the destructor
    }
    EXPECT_EQ(co_await wait_for_contents(p, "kept safe"), "kept safe");
}

TAKO_TEST_MT(fs_file, destroying_a_file_with_a_write_in_flight_keeps_the_order) {
    temp_dir dir("fs");
    const auto p = dir / "inflight.bin";
    std::string want;
    {
        auto f = co_await fs::file::create(p);
        TAKO_CO_ASSERT(f.has_value());
        // Larger than the buffer: taken by a write-behind job that is in flight when the
        // next small write lands in the buffer and the file is destroyed.
        const std::string big(3 * fs::file::default_buffer_size, 'a');
        TAKO_CO_ASSERT(co_await f->write_all(big));
        TAKO_CO_ASSERT(co_await f->write_all("tail"));
        want = big + "tail";
    }
    EXPECT_TRUE(co_await wait_for_contents(p, want) == want);
}

TEST(fs_file, a_file_destroyed_outside_the_runtime_writes_its_bytes) {
    temp_dir dir("fs");
    const auto p = dir / "outside.txt";
    std::optional<fs::file> kept;
    {
        auto rt = tako_test::ct().enable_all().build();
        kept = rt.block_on([&]() -> tako::task<fs::file> {
            auto f = co_await fs::file::create(p);
            EXPECT_TRUE(f.has_value());
            EXPECT_TRUE(co_await f->write_all("after the runtime"));
            co_return std::move(*f);
        });
    } // the runtime is gone; the file still holds its buffer
    EXPECT_EQ(contents_of(p), "");
    kept.reset(); // no runtime: the destructor writes on this thread
    EXPECT_EQ(contents_of(p), "after the runtime");
}

TEST(fs_file, a_task_cancelled_by_runtime_shutdown_writes_its_bytes) {
    temp_dir dir("fs");
    const auto p = dir / "shutdown.txt";
    {
        auto rt = tako_test::mt(2).enable_all().build();
        std::atomic<bool> buffered{false};
        auto h = rt.spawn([&]() -> tako::task<void> {
            auto f = co_await fs::file::create(p);
            EXPECT_TRUE(f.has_value());
            EXPECT_TRUE(co_await f->write_all("written at shutdown"));
            buffered = true;
            co_await tako::time::sleep(1h); // cancelled here by the runtime's destruction
        });
        h.detach();
        EXPECT_TRUE(tako_test::wait_until([&] { return buffered.load(); }));
    }
    EXPECT_EQ(contents_of(p), "written at shutdown");
}

// ---- cancellation ----

TAKO_TEST_MT(fs_file, a_read_cancelled_while_the_pool_reads_loses_nothing) {
    temp_dir dir("fs");
    const auto fifo = dir / "fifo";
    TAKO_CO_ASSERT(::mkfifo(fifo.c_str(), 0600) == 0);
    // O_RDWR on a FIFO never blocks: it is the writer that keeps the reader's open from
    // blocking and its reads from seeing end of file.
    const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    TAKO_CO_ASSERT(writer >= 0);
    auto f = co_await fs::file::open(fifo);
    TAKO_CO_ASSERT(f.has_value());
    std::array<std::byte, 16> buf{};
    // Nothing to read: the read goes to the pool and blocks there; the timeout cancels it.
    auto first = co_await tako::time::timeout(20ms, f->read(buf));
    EXPECT_FALSE(first.has_value());
    // The cancelled read's job is still waiting in read(2): these bytes go to it.
    TAKO_CO_ASSERT(::write(writer, "ping", 4) == 4);
    auto n = co_await f->read(buf);
    TAKO_CO_ASSERT(n.has_value());
    EXPECT_EQ(text_of(std::span(buf).first(*n)), "ping");
    ::close(writer);
}

TAKO_TEST(fs_file, a_closed_file_reports_closed) {
    fs::file f;
    EXPECT_FALSE(f.is_open());
    std::array<std::byte, 4> buf{};
    EXPECT_EQ((co_await f.read(buf)).error(), tako::io::errc::closed);
    EXPECT_EQ((co_await f.write(bytes_of("x"))).error(), tako::io::errc::closed);
    EXPECT_EQ((co_await f.flush()).error(), tako::io::errc::closed);
    EXPECT_EQ((co_await f.seek(fs::seek_from::start(0))).error(), tako::io::errc::closed);
}
