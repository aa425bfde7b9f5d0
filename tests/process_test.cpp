// Tests of tako::process through the public API: real children (/bin/sh, cat, sleep,
// true), their pipes, exit statuses, reaping and cancellation.

#include <tako/process.hpp>
#include <tako/signal.hpp>
#include <tako/tako.hpp>
#include <tako/testing.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using tako::process::command;
using tako::process::exit_status;
using tako::process::stdio;

namespace {

/// True when the calling process has no zombie children (exited, not reaped).
bool no_zombies() {
    ::siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
        return errno == ECHILD; // no children at all
    }
    return info.si_pid == 0; // children, none of them exited
}

/// True once no process `pid` exists (killed and reaped), polling for at most 5 s while
/// the runtime runs (the orphan reaper lives in the I/O driver).
tako::task<bool> gone(::pid_t pid) {
    tako_test::deadline d;
    while (!d.expired()) {
        if (::kill(pid, 0) != 0 && errno == ESRCH) {
            co_return true;
        }
        co_await tako::time::sleep(5ms);
    }
    co_return false;
}

/// Waits (running the runtime) until there are no zombies, for at most 5 s.
tako::task<bool> zombies_reaped() {
    tako_test::deadline d;
    while (!no_zombies()) {
        if (d.expired()) {
            co_return false;
        }
        co_await tako::time::sleep(5ms);
    }
    co_return true;
}

command sh(std::string script) {
    command c("/bin/sh");
    c.arg("-c").arg(std::move(script));
    return c;
}

} // namespace

// ------------------------------------------------------------------ exit statuses

TEST(exit_status, tells_codes_and_signals_apart) {
    const auto ok = exit_status::exited(0);
    EXPECT_TRUE(ok.success());
    EXPECT_EQ(ok.code(), 0);
    EXPECT_FALSE(ok.signal());
    const auto three = exit_status::exited(3);
    EXPECT_FALSE(three.success());
    EXPECT_EQ(three.code(), 3);
    const auto killed = exit_status::killed(SIGKILL);
    EXPECT_FALSE(killed.success());
    EXPECT_FALSE(killed.code());
    EXPECT_EQ(killed.signal(), SIGKILL);
    EXPECT_FALSE(killed.core_dumped());
    EXPECT_TRUE(exit_status::killed(SIGSEGV, true).core_dumped());
    EXPECT_EQ(exit_status::from_raw(three.raw()), three);
    EXPECT_TRUE(WIFSIGNALED(killed.raw()));
}

TAKO_TEST(process, exit_codes) {
    auto zero = co_await command("true").status();
    TAKO_CO_ASSERT(zero);
    EXPECT_TRUE(zero->success());
    auto three = co_await sh("exit 3").status();
    TAKO_CO_ASSERT(three);
    EXPECT_FALSE(three->success());
    EXPECT_EQ(three->code(), 3);
    EXPECT_FALSE(three->signal());
}

TAKO_TEST(process, death_by_signal) {
    auto term = co_await sh("kill -TERM $$").status();
    TAKO_CO_ASSERT(term);
    EXPECT_FALSE(term->success());
    EXPECT_FALSE(term->code());
    EXPECT_EQ(term->signal(), SIGTERM);

    auto c = command("sleep").arg("30").spawn();
    TAKO_CO_ASSERT(c);
    auto killed = co_await c->kill();
    TAKO_CO_ASSERT(killed);
    EXPECT_EQ(killed->signal(), SIGKILL);
    EXPECT_FALSE(c->id()); // collected: the pid is no longer ours
}

TAKO_TEST(process, wait_twice_and_try_wait) {
    auto c = command("sleep").arg("30").spawn();
    TAKO_CO_ASSERT(c);
    TAKO_CO_ASSERT(c->id());
    auto running = c->try_wait();
    TAKO_CO_ASSERT(running);
    EXPECT_FALSE(running->has_value());
    TAKO_CO_ASSERT(c->start_kill());
    auto first = co_await c->wait();
    TAKO_CO_ASSERT(first);
    auto second = co_await c->wait();
    TAKO_CO_ASSERT(second);
    EXPECT_EQ(*first, *second);
    auto after = c->try_wait();
    TAKO_CO_ASSERT(after && after->has_value());
    EXPECT_EQ(**after, *first);
    EXPECT_TRUE(c->start_kill()); // collected: killing is a no-op
}

// ------------------------------------------------------------------ spawn errors

TAKO_TEST(process, missing_program_is_an_error_at_spawn) {
    auto by_name = command("tako-no-such-program-7d1f").spawn();
    TAKO_CO_ASSERT_FALSE(by_name);
    EXPECT_EQ(by_name.error(), std::errc::no_such_file_or_directory);
    auto by_path = command("/nonexistent/dir/prog").spawn();
    TAKO_CO_ASSERT_FALSE(by_path);
    EXPECT_EQ(by_path.error(), std::errc::no_such_file_or_directory);
    auto status = co_await command("tako-no-such-program-7d1f").status();
    TAKO_CO_ASSERT_FALSE(status);
    EXPECT_EQ(status.error(), std::errc::no_such_file_or_directory);
    EXPECT_TRUE(no_zombies()); // the failed child was collected by spawn
}

TAKO_TEST(process, bad_input_and_bad_settings_are_errors) {
    EXPECT_EQ(command("").spawn().error(), std::errc::invalid_argument);
    EXPECT_EQ(command(std::string("tr\0ue", 5)).spawn().error(), std::errc::invalid_argument);
    EXPECT_EQ(command("true").arg(std::string("a\0b", 3)).spawn().error(),
              std::errc::invalid_argument);
    EXPECT_EQ(command("true").env("A=B", "c").spawn().error(), std::errc::invalid_argument);
    auto no_dir = command("true").current_dir("/nonexistent/tako").spawn();
    TAKO_CO_ASSERT_FALSE(no_dir);
    EXPECT_EQ(no_dir.error(), std::errc::no_such_file_or_directory);

    // A file that is not executable.
    const std::string path = "/tmp/tako-process-noexec-" + std::to_string(::getpid());
    std::ofstream(path) << "#!/bin/sh\nexit 0\n";
    ::chmod(path.c_str(), 0644);
    auto denied = command(path).spawn();
    std::filesystem::remove(path);
    // Even root cannot execute a file without any execute bit.
    TAKO_CO_ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error(), std::errc::permission_denied);
    EXPECT_TRUE(no_zombies());
}

TEST(process, spawn_outside_a_runtime_is_an_error) {
    auto c = command("true").spawn();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), tako::io::errc::no_runtime);
}

// ------------------------------------------------------------------ what the child gets

TAKO_TEST(process, output_collects_stdout_and_stderr) {
    auto out = co_await sh("echo hello; echo oops >&2; exit 4").output();
    TAKO_CO_ASSERT(out);
    EXPECT_EQ(out->stdout, "hello\n");
    EXPECT_EQ(out->stderr, "oops\n");
    EXPECT_EQ(out->status.code(), 4);
}

TAKO_TEST(process, env_and_current_dir_are_applied) {
    ::setenv("TAKO_PROCESS_TEST_PARENT", "from-parent", 1);
    auto out = co_await sh("echo \"$FOO:$(pwd):${TAKO_PROCESS_TEST_PARENT-unset}\"")
                   .env("FOO", "bar")
                   .current_dir("/tmp")
                   .output();
    TAKO_CO_ASSERT(out);
    EXPECT_EQ(out->stdout, "bar:/tmp:from-parent\n");

    auto removed = co_await sh("echo ${TAKO_PROCESS_TEST_PARENT-unset}")
                       .env_remove("TAKO_PROCESS_TEST_PARENT")
                       .output();
    TAKO_CO_ASSERT(removed);
    EXPECT_EQ(removed->stdout, "unset\n");

    std::vector<std::pair<std::string, std::string>> vars{{"A", "1"}, {"B", "2"}};
    auto cleared = co_await command("/usr/bin/env").env_clear().envs(vars).output();
    TAKO_CO_ASSERT(cleared);
    EXPECT_EQ(cleared->stdout, "A=1\nB=2\n");

    // The command's own PATH finds the program.
    // (Not `.args({...})` inside the co_await statement: g++ 12 rejects an initializer
    // list of string literals there.)
    command echo_path("sh");
    echo_path.env_clear().env("PATH", "/bin").args({"-c", "echo $PATH"});
    auto path = co_await echo_path.output();
    TAKO_CO_ASSERT(path);
    EXPECT_EQ(path->stdout, "/bin\n");
    ::unsetenv("TAKO_PROCESS_TEST_PARENT");
}

TAKO_TEST(process, only_the_standard_streams_are_inherited) {
    // A descriptor without close-on-exec, numbered high so the shell does not reuse it.
    const int leak = ::fcntl(0, F_DUPFD, 100);
    TAKO_CO_ASSERT_GE(leak, 100);
    auto out = co_await sh("for fd in 0 1 2 " + std::to_string(leak) +
                           "; do if [ -e /proc/self/fd/$fd ]; then echo -n o; else echo -n c; fi; "
                           "done")
                   .output();
    ::close(leak);
    TAKO_CO_ASSERT(out);
    EXPECT_EQ(out->stdout, "oooc");
}

TAKO_TEST(process, null_stdin_reads_end_of_file) {
    auto out = co_await command("cat").stdin(stdio::null).output();
    TAKO_CO_ASSERT(out);
    EXPECT_TRUE(out->status.success());
    EXPECT_EQ(out->stdout, "");
}

TAKO_TEST(process, process_group) {
    auto out = co_await sh("echo $$; cut -d' ' -f5 /proc/$$/stat").process_group(0).output();
    TAKO_CO_ASSERT(out);
    const auto nl = out->stdout.find('\n');
    TAKO_CO_ASSERT_NE(nl, std::string::npos);
    EXPECT_EQ(out->stdout.substr(0, nl + 1), out->stdout.substr(nl + 1)); // pgid == pid
    EXPECT_NE(out->stdout.substr(0, nl), std::to_string(::getpgrp()));
}

TAKO_TEST(process, uid_and_gid) {
    command id("id");
    id.args({"-u", "-r"}).uid(65534).gid(65534);
    auto out = co_await id.output();
    if (::geteuid() == 0) {
        TAKO_CO_ASSERT(out);
        EXPECT_EQ(out->stdout, "65534\n");
    } else {
        TAKO_CO_ASSERT_FALSE(out);
        EXPECT_EQ(out.error(), std::errc::operation_not_permitted);
    }
}

// ------------------------------------------------------------------ pipes

/// Pushes 8 MiB through `cat` while reading it back concurrently: neither side may wait
/// for the other to finish (each pipe holds 64 KiB).
tako::task<void> echo_8_mib() {
    auto c = command("cat").stdin(stdio::piped).stdout(stdio::piped).spawn();
    TAKO_CO_ASSERT(c);
    std::string data(8u << 20, '\0');
    std::mt19937 rng(7);
    for (auto& ch : data) {
        ch = static_cast<char>(rng());
    }
    auto in = c->take_stdin();
    auto out = c->take_stdout();
    TAKO_CO_ASSERT(in && out);
    auto writer = tako::spawn(
        [](tako::process::child_stdin in, std::string* data) -> tako::task<bool> {
            auto ok = co_await tako::io::write_all(in, *data);
            auto closed = co_await tako::io::shutdown(in); // cat sees end of file
            co_return ok.has_value() && closed.has_value();
        },
        std::move(*in), &data);
    std::string back;
    auto n = co_await tako::io::read_to_string(*out, back);
    TAKO_CO_ASSERT(n);
    auto wrote = co_await writer;
    TAKO_CO_ASSERT(wrote && *wrote);
    EXPECT_EQ(back.size(), data.size());
    EXPECT_TRUE(back == data);
    auto status = co_await c->wait();
    TAKO_CO_ASSERT(status && status->success());
}

TAKO_TEST(process, pipes_both_ways_8_mib) {
    co_await echo_8_mib();
}

TAKO_TEST_MT(process, pipes_both_ways_8_mib_multi_thread) {
    co_await echo_8_mib();
}

TAKO_TEST(process, writing_to_an_exited_child_is_broken_pipe_not_sigpipe) {
    auto c = command("true").stdin(stdio::piped).spawn();
    TAKO_CO_ASSERT(c);
    auto in = c->take_stdin();
    auto status = co_await c->wait();
    TAKO_CO_ASSERT(status && status->success());
    std::string chunk(1 << 16, 'x');
    auto w = co_await tako::io::write_all(*in, chunk);
    TAKO_CO_ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), std::errc::broken_pipe); // and this process is still alive
}

TAKO_TEST(process, wait_with_output_reads_both_pipes_concurrently) {
    // 1 MiB to stderr before anything to stdout: reading stdout first would deadlock.
    auto c = sh("head -c 1048576 /dev/zero >&2; echo done")
                 .stdout(stdio::piped)
                 .stderr(stdio::piped)
                 .spawn();
    TAKO_CO_ASSERT(c);
    auto out = co_await tako::time::timeout(20s, c->wait_with_output());
    TAKO_CO_ASSERT(out && *out);
    EXPECT_EQ((*out)->stdout, "done\n");
    EXPECT_EQ((*out)->stderr.size(), 1u << 20);
}

// ------------------------------------------------------------------ many children

tako::task<void> hundred_children() {
    std::vector<tako::join_handle<int>> waits;
    for (int i = 0; i < 100; ++i) {
        auto c = sh("exit " + std::to_string(i % 50)).spawn();
        TAKO_CO_ASSERT(c);
        waits.push_back(tako::spawn(
            [](tako::process::child c) -> tako::task<int> {
                auto s = co_await c.wait();
                co_return s && s->code() ? *s->code() : -1;
            },
            std::move(*c)));
    }
    for (int i = 0; i < 100; ++i) {
        auto code = co_await waits[static_cast<std::size_t>(i)];
        TAKO_CO_ASSERT(code);
        EXPECT_EQ(*code, i % 50);
    }
    EXPECT_TRUE(no_zombies());
}

TAKO_TEST(process, hundred_concurrent_children) {
    co_await hundred_children();
}

TAKO_TEST_MT(process, hundred_concurrent_children_multi_thread) {
    co_await hundred_children();
}

// ------------------------------------------------------------------ reaping, kill_on_drop

TAKO_TEST(process, kill_on_drop_kills_and_reaps) {
    ::pid_t pid = 0;
    {
        auto c = command("sleep").arg("30").kill_on_drop(true).spawn();
        TAKO_CO_ASSERT(c);
        pid = *c->id();
    }
    EXPECT_TRUE(co_await gone(pid)); // not even a zombie: killed, then reaped
    EXPECT_TRUE(no_zombies());
}

TAKO_TEST(process, dropped_child_is_reaped_when_it_exits) {
    ::pid_t pid = 0;
    {
        auto c = command("sleep").arg("0.05").spawn();
        TAKO_CO_ASSERT(c);
        pid = *c->id();
    }
    EXPECT_EQ(::kill(pid, 0), 0); // still running: dropping it did not kill it
    EXPECT_TRUE(co_await gone(pid));
    EXPECT_TRUE(co_await zombies_reaped());
}

TEST(process, child_outliving_its_runtime_is_reaped_by_the_next_spawn) {
    ::pid_t pid = 0;
    {
        auto rt = tako_test::ct().enable_all().build();
        rt.block_on([&pid]() -> tako::task<void> {
            auto c = command("sleep").arg("0.05").spawn();
            EXPECT_TRUE(c);
            if (c) {
                pid = *c->id();
            }
            co_return; // dropped while it runs; then the runtime goes away
        });
    }
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(tako_test::wait_until([&] {
        ::siginfo_t info{};
        return ::waitid(P_PID, static_cast<::id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               info.si_pid == pid;
    })); // a zombie now: its runtime is gone
    auto rt = tako_test::ct().enable_all().build();
    rt.block_on([]() -> tako::task<void> {
        auto s = co_await command("true").status();
        EXPECT_TRUE(s && s->success());
    });
    EXPECT_EQ(::kill(pid, 0), -1); // the spawn collected the orphan
    EXPECT_TRUE(no_zombies());
}

// ------------------------------------------------------------------ cancellation

TAKO_TEST(process, wait_cancelled_by_timeout_then_waited_again) {
    auto c = command("sleep").arg("30").spawn();
    TAKO_CO_ASSERT(c);
    auto r = co_await tako::time::timeout(20ms, c->wait());
    TAKO_CO_ASSERT_FALSE(r); // cancelled while suspended
    TAKO_CO_ASSERT(c->id()); // still ours, still running
    EXPECT_EQ(::kill(*c->id(), 0), 0);
    auto killed = co_await c->kill();
    TAKO_CO_ASSERT(killed);
    EXPECT_EQ(killed->signal(), SIGKILL);
}

TAKO_TEST_MT(process, task_waiting_on_a_child_aborted) {
    auto c = command("sleep").arg("30").kill_on_drop(true).spawn();
    TAKO_CO_ASSERT(c);
    const ::pid_t pid = *c->id();
    auto started = std::make_shared<tako::sync::notify>();
    auto h = tako::spawn(
        [](tako::process::child c, std::shared_ptr<tako::sync::notify> started) -> tako::task<int> {
            started->notify_one();
            auto s = co_await c.wait();
            co_return s ? 0 : 1;
        },
        std::move(*c), started);
    co_await started->notified();
    co_await tako::time::sleep(10ms);
    h.abort();
    auto r = co_await h;
    TAKO_CO_ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is_cancelled());
    EXPECT_TRUE(co_await gone(pid)); // the frame's child was killed and reaped
}

// ------------------------------------------------------------------ signals in the child

TAKO_TEST(process, child_starts_with_default_handlers_and_an_empty_mask) {
    // This process handles SIGUSR1 (a tako listener) and blocks SIGUSR2 on this thread; the
    // child must get neither: both signals kill it, as their default action says.
    auto listener = tako::signal::unix_signal(tako::signal::signal_kind::user_defined1());
    TAKO_CO_ASSERT(listener);
    ::sigset_t usr2;
    ::sigemptyset(&usr2);
    ::sigaddset(&usr2, SIGUSR2);
    ::sigset_t old;
    ::pthread_sigmask(SIG_BLOCK, &usr2, &old);
    auto c1 = sh("kill -USR1 $$; sleep 5").spawn();
    auto c2 = sh("kill -USR2 $$; sleep 5").spawn();
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    TAKO_CO_ASSERT(c1 && c2);
    auto s1 = co_await tako::time::timeout(10s, c1->wait());
    auto s2 = co_await tako::time::timeout(10s, c2->wait());
    TAKO_CO_ASSERT(s1 && *s1 && s2 && *s2);
    EXPECT_EQ((*s1)->signal(), SIGUSR1);
    EXPECT_EQ((*s2)->signal(), SIGUSR2);
}
