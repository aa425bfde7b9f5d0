// Tests of tako::fs's path operations and directories, and of the errors every fs function
// gives: the errno and the path (missing file, permission denied, disk full, file too
// large, too many open files).

#include <tako/fs.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using tako_test::fails_with;
using tako_test::temp_dir;
namespace fs = tako::fs;
using ftype = std::filesystem::file_type;

namespace {

/// Restores a resource limit when it goes out of scope.
class limit_guard {
public:
    explicit limit_guard(int resource) : resource_(resource) { ::getrlimit(resource_, &saved_); }
    limit_guard(const limit_guard&) = delete;
    limit_guard& operator=(const limit_guard&) = delete;
    ~limit_guard() { ::setrlimit(resource_, &saved_); }
    bool set_soft(rlim_t soft) {
        ::rlimit r = saved_;
        r.rlim_cur = soft;
        return ::setrlimit(resource_, &r) == 0;
    }

private:
    int resource_;
    ::rlimit saved_{};
};

} // namespace

// ---- whole-file helpers and path operations ----

TAKO_TEST(fs_ops, read_write_round_trips) {
    temp_dir dir("fs");
    const auto p = dir / "r.txt";
    TAKO_CO_ASSERT(co_await fs::write(p, "text"));
    EXPECT_EQ((co_await fs::read_to_string(p)).value(), "text");
    const std::vector<std::byte> bytes{std::byte{0}, std::byte{255}, std::byte{10}};
    TAKO_CO_ASSERT(co_await fs::write(p, std::span<const std::byte>(bytes)));
    EXPECT_EQ((co_await fs::read(p)).value(), bytes); // write truncates first
    TAKO_CO_ASSERT(co_await fs::write(p, std::vector<std::byte>{}));
    EXPECT_EQ((co_await fs::read(p)).value().size(), 0u);
    // A file that reports no size is read to its end.
    auto status = co_await fs::read_to_string("/proc/self/status");
    TAKO_CO_ASSERT(status.has_value());
    EXPECT_NE(status->find("VmRSS"), std::string::npos);
}

TAKO_TEST(fs_ops, rename_copy_links_and_metadata) {
    temp_dir dir("fs");
    const auto a = dir / "a", b = dir / "b", c = dir / "c";
    TAKO_CO_ASSERT(co_await fs::write(a, "payload"));
    TAKO_CO_ASSERT(co_await fs::set_permissions(a, std::filesystem::perms(0604)));
    auto copied = co_await fs::copy(a, b);
    TAKO_CO_ASSERT(copied.has_value());
    EXPECT_EQ(*copied, 7u);
    EXPECT_EQ((co_await fs::read_to_string(b)).value(), "payload");
    EXPECT_EQ((co_await fs::metadata(b)).value().permissions(), std::filesystem::perms(0604));

    TAKO_CO_ASSERT(co_await fs::rename(b, c));
    EXPECT_FALSE((co_await fs::try_exists(b)).value());
    EXPECT_TRUE((co_await fs::try_exists(c)).value());

    TAKO_CO_ASSERT(co_await fs::hard_link(a, dir / "hard"));
    EXPECT_EQ((co_await fs::metadata(a)).value().nlink(), 2u);
    EXPECT_EQ((co_await fs::metadata(dir / "hard")).value().ino(),
              (co_await fs::metadata(a)).value().ino());

    TAKO_CO_ASSERT(co_await fs::symlink("a", dir / "soft"));
    EXPECT_EQ((co_await fs::read_link(dir / "soft")).value(), std::filesystem::path("a"));
    EXPECT_TRUE((co_await fs::symlink_metadata(dir / "soft")).value().is_symlink());
    auto followed = co_await fs::metadata(dir / "soft");
    TAKO_CO_ASSERT(followed.has_value());
    EXPECT_TRUE(followed->is_file());
    EXPECT_EQ(followed->len(), 7u);
    EXPECT_EQ((co_await fs::canonicalize(dir / "soft")).value(), std::filesystem::canonical(a));

    TAKO_CO_ASSERT(co_await fs::symlink(dir / "nowhere", dir / "dangling"));
    EXPECT_FALSE((co_await fs::try_exists(dir / "dangling")).value());

    TAKO_CO_ASSERT(co_await fs::remove_file(a));
    EXPECT_FALSE((co_await fs::try_exists(a)).value());
    EXPECT_EQ((co_await fs::read_to_string(dir / "hard")).value(), "payload");
}

// ---- directories ----

TAKO_TEST(fs_dir, create_dir_all_and_remove_dir_all) {
    temp_dir dir("fs");
    const auto deep = dir / "x/y/z";
    TAKO_CO_ASSERT(co_await fs::create_dir_all(deep));
    TAKO_CO_ASSERT(co_await fs::create_dir_all(deep)); // already there: fine
    EXPECT_TRUE((co_await fs::metadata(deep)).value().is_dir());
    auto again = co_await fs::create_dir(deep);
    TAKO_CO_ASSERT(!again.has_value());
    EXPECT_EQ(again.error(), std::errc::file_exists);
    TAKO_CO_ASSERT(co_await fs::write(dir / "x/y/file", "f"));
    auto not_empty = co_await fs::remove_dir(dir / "x/y");
    TAKO_CO_ASSERT(!not_empty.has_value());
    EXPECT_EQ(not_empty.error(), std::errc::directory_not_empty);
    // A symlink inside the tree pointing out of it: removed, never followed.
    TAKO_CO_ASSERT(co_await fs::create_dir(dir / "outside"));
    TAKO_CO_ASSERT(co_await fs::write(dir / "outside/keep", "k"));
    TAKO_CO_ASSERT(co_await fs::symlink(dir / "outside", dir / "x/y/z/link"));
    TAKO_CO_ASSERT(co_await fs::remove_dir_all(dir / "x"));
    EXPECT_FALSE((co_await fs::try_exists(dir / "x")).value());
    EXPECT_EQ((co_await fs::read_to_string(dir / "outside/keep")).value(), "k");
    auto missing = co_await fs::remove_dir(dir / "z-missing");
    TAKO_CO_ASSERT(!missing.has_value());
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    auto on_file = co_await fs::create_dir_all(dir / "outside/keep/sub");
    TAKO_CO_ASSERT(!on_file.has_value());
    EXPECT_EQ(on_file.error(), std::errc::not_a_directory);
}

/// Walks `root` with read_dir, recording each entry's path (relative) and type.
tako::task<fs::result<std::map<std::string, ftype>>> walk(std::filesystem::path root) {
    std::map<std::string, ftype> seen;
    std::vector<std::filesystem::path> todo{root};
    while (!todo.empty()) {
        auto dir = co_await fs::read_dir(todo.back());
        todo.pop_back();
        if (!dir) {
            co_return std::unexpected(dir.error());
        }
        for (;;) {
            auto e = co_await dir->next();
            if (!e) {
                co_return std::unexpected(e.error());
            }
            if (!*e) {
                break;
            }
            seen[(*e)->path().lexically_relative(root).string()] = (*e)->file_type();
            if ((*e)->is_dir()) {
                todo.push_back((*e)->path());
            }
        }
    }
    co_return seen;
}

TAKO_TEST_MT(fs_dir, read_dir_walks_a_tree_with_types_from_d_type) {
    temp_dir dir("fs");
    const std::filesystem::path root = dir / "tree";
    TAKO_CO_ASSERT(co_await fs::create_dir_all(root / "sub/inner"));
    TAKO_CO_ASSERT(co_await fs::write(root / "top.txt", "1"));
    TAKO_CO_ASSERT(co_await fs::write(root / "sub/inner/deep.txt", "2"));
    TAKO_CO_ASSERT(co_await fs::symlink("top.txt", root / "link"));
    TAKO_CO_ASSERT(::mkfifo((root / "pipe").c_str(), 0600) == 0);
    // Enough long names that one 32 KiB batch cannot hold them all.
    const std::string pad(100, 'n');
    for (int i = 0; i < 1000; ++i) {
        TAKO_CO_ASSERT(::close(::creat((root / "sub" / (pad + std::to_string(i))).c_str(), 0600)) ==
                       0);
    }
    auto seen = co_await walk(root);
    TAKO_CO_ASSERT(seen.has_value());
    EXPECT_EQ(seen->size(), 1000u + 6u);
    EXPECT_EQ(seen->at("top.txt"), ftype::regular);
    EXPECT_EQ(seen->at("link"), ftype::symlink); // the entry itself, not its target
    EXPECT_EQ(seen->at("pipe"), ftype::fifo);
    EXPECT_EQ(seen->at("sub"), ftype::directory);
    EXPECT_EQ(seen->at("sub/inner"), ftype::directory);
    EXPECT_EQ(seen->at("sub/inner/deep.txt"), ftype::regular);
    EXPECT_EQ(seen->at("sub/" + pad + "999"), ftype::regular);
    EXPECT_EQ(seen->count("."), 0u);
    EXPECT_EQ(seen->count(".."), 0u);
    auto gone = co_await fs::read_dir(root / "top.txt");
    TAKO_CO_ASSERT(!gone.has_value());
    EXPECT_EQ(gone.error(), std::errc::not_a_directory);
    EXPECT_EQ(gone.error().path(), root / "top.txt");
}

TAKO_TEST(fs_dir, a_cancelled_next_keeps_its_batch) {
    temp_dir dir("fs");
    std::set<std::string> want;
    for (int i = 0; i < 50; ++i) {
        want.insert("f" + std::to_string(i));
        TAKO_CO_ASSERT(co_await fs::write(dir / ("f" + std::to_string(i)), ""));
    }
    auto d = co_await fs::read_dir(dir.path);
    TAKO_CO_ASSERT(d.has_value());
    // Cancel the first next() while its batch is being read on the pool.
    auto cancelled = co_await tako::select(d->next(), tako::yield_now());
    (void)cancelled;
    std::set<std::string> got;
    for (;;) {
        auto e = co_await d->next();
        TAKO_CO_ASSERT(e.has_value());
        if (!*e) {
            break;
        }
        got.insert((*e)->file_name());
    }
    if (cancelled.index() == 0) { // next() won the race: that entry is not lost either
        got.insert(std::get<0>(cancelled).value()->file_name());
    }
    EXPECT_EQ(got, want);
}

// ---- errors carry the errno and the path ----

TAKO_TEST(fs_errors, a_missing_file_names_its_path) {
    temp_dir dir("fs");
    const auto missing = dir / "no/such/file";
    auto f = co_await fs::file::open(missing);
    TAKO_CO_ASSERT(!f.has_value());
    EXPECT_EQ(f.error(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(f.error().path(), missing);
    EXPECT_STREQ(f.error().operation(), "open");
    EXPECT_NE(f.error().message().find(missing), std::string::npos) << f.error().message();
    const std::error_code as_code = f.error(); // plain error code where only that matters
    EXPECT_EQ(as_code, std::errc::no_such_file_or_directory);
    tako::io::result<fs::file> converted = std::move(f);
    EXPECT_EQ(converted.error(), std::errc::no_such_file_or_directory);

    auto r = co_await fs::read(missing);
    EXPECT_EQ(r.error().path(), missing);
    auto mv = co_await fs::rename(missing, dir / "dest");
    EXPECT_EQ(mv.error(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(mv.error().path(), missing);
    EXPECT_EQ(mv.error().path2(), dir / "dest");
    EXPECT_NE(mv.error().message().find("-> '" + dir / "dest'"), std::string::npos);
    EXPECT_EQ((co_await fs::metadata(missing)).error(), std::errc::no_such_file_or_directory);
    EXPECT_EQ((co_await fs::remove_file(missing)).error().operation(), std::string("remove_file"));
}

TAKO_TEST(fs_errors, kinds_of_misuse_root_cannot_bypass) {
    temp_dir dir("fs");
    // Writing a directory.
    auto d = co_await fs::open_options().write(true).open(dir.path);
    TAKO_CO_ASSERT(!d.has_value());
    EXPECT_EQ(d.error(), std::errc::is_a_directory);
    // Writing through a read-only descriptor: the error comes from the flush.
    TAKO_CO_ASSERT(co_await fs::write(dir / "ro", "x"));
    auto ro = co_await fs::file::open(dir / "ro");
    TAKO_CO_ASSERT(ro.has_value());
    TAKO_CO_ASSERT(co_await ro->write_all("y")); // buffered
    EXPECT_TRUE(fails_with(co_await ro->flush(), std::errc::bad_file_descriptor));
    // A path through a file.
    EXPECT_EQ((co_await fs::write(dir / "ro/inside", "z")).error(), std::errc::not_a_directory);
}

TEST(fs_errors, permission_denied_names_the_path) {
    // Root bypasses permission bits, so the check runs in a child that drops to nobody.
    temp_dir dir("fs");
    ASSERT_EQ(::chmod(dir.path.c_str(), 0755), 0);
    const auto secret = dir / "secret";
    {
        const int fd = ::open(secret.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        ::close(fd);
    }
    if (::geteuid() != 0) {
        ASSERT_EQ(::chmod(secret.c_str(), 0), 0); // we own it: no bits for anyone
    }
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
            ::_exit(3);
        }
        auto rt = tako::runtime::builder::current_thread().enable_all().build();
        const int code = rt.block_on([&]() -> tako::task<int> {
            auto r = co_await fs::read(secret);
            if (r.has_value()) {
                co_return 1;
            }
            if (r.error() != std::errc::permission_denied) {
                co_return 2;
            }
            co_return r.error().path() == secret ? 0 : 4;
        });
        ::_exit(code);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: read succeeded, 2: another error, 3: no setuid";
}

TAKO_TEST(fs_errors, a_full_disk_is_reported_by_flush_and_by_write) {
    auto f = co_await fs::open_options().write(true).open("/dev/full");
    TAKO_CO_ASSERT(f.has_value());
    TAKO_CO_ASSERT(co_await f->write_all("lost")); // buffered: the disk is not asked yet
    EXPECT_TRUE(fails_with(co_await f->flush(), std::errc::no_space_on_device));
    auto w = co_await fs::write("/dev/full", "x");
    TAKO_CO_ASSERT(!w.has_value());
    EXPECT_EQ(w.error(), std::errc::no_space_on_device);
    EXPECT_EQ(w.error().path(), "/dev/full");
}

TAKO_TEST(fs_errors, a_file_over_the_size_limit_gives_efbig) {
    temp_dir dir("fs");
    std::signal(SIGXFSZ, SIG_IGN); // the write fails with EFBIG instead of killing us
    limit_guard limit(RLIMIT_FSIZE);
    TAKO_CO_ASSERT(limit.set_soft(1 << 20));
    auto w = co_await fs::write(dir / "big", std::string(2 << 20, 'b'));
    TAKO_CO_ASSERT(!w.has_value());
    EXPECT_EQ(w.error(), std::errc::file_too_large);
    EXPECT_EQ(w.error().path(), dir / "big");
    auto f = co_await fs::file::create(dir / "big2");
    TAKO_CO_ASSERT(f.has_value());
    TAKO_CO_ASSERT(co_await f->write_all(std::string(2 << 20, 'c'))); // taken by write-behinds
    EXPECT_TRUE(fails_with(co_await f->flush(), std::errc::file_too_large));
    std::signal(SIGXFSZ, SIG_DFL);
}

TAKO_TEST(fs_errors, too_many_open_files_names_the_path) {
    temp_dir dir("fs");
    TAKO_CO_ASSERT(co_await fs::write(dir / "f", "x"));
    int highest = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        highest = std::max(highest, std::stoi(e.path().filename().string()));
    }
    limit_guard limit(RLIMIT_NOFILE);
    TAKO_CO_ASSERT(limit.set_soft(static_cast<rlim_t>(highest) + 4));
    std::vector<fs::file> open;
    std::optional<fs::error> failed;
    for (int i = 0; i < highest + 8 && !failed; ++i) {
        auto f = co_await fs::file::open(dir / "f");
        if (f) {
            open.push_back(std::move(*f));
        } else {
            failed = f.error();
        }
    }
    TAKO_CO_ASSERT(failed.has_value());
    EXPECT_EQ(*failed, std::errc::too_many_files_open);
    EXPECT_EQ(failed->path(), dir / "f");
    EXPECT_LE(open.size(), static_cast<std::size_t>(highest) + 4);
}
