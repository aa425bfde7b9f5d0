// The names that the examples in tako's public headers use without defining them. CI
// compiles every `///` example against this file (cmake/header-examples.cmake): an example
// that stops compiling fails the build.
#pragma once

#include <tako/tako.hpp>

#include <chrono>
#include <cstddef>
#include <expected>
#include <span>
#include <string>
#include <vector>

using namespace std::chrono_literals;

tako::task<int> fetch(int id);
tako::task<std::size_t> fetch_size(std::string url);
tako::task<std::expected<int, std::string>> parse(std::string text);
tako::task<int> compute();
tako::task<int> slow_operation();
tako::task<void> handle_request();
std::size_t file_size(const std::string& path);
int expensive();
void use(int value);
void do_work();

extern tako::join_set<int>& set;
extern tako::sync::notify& stop;
extern tako::sync::oneshot::receiver<int>& rx;
extern std::string name, p, x, y;
extern std::vector<std::string> urls, fields;
extern tako::time::instant deadline;
