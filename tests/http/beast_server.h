// BeastServer: a minimal Boost.Beast HTTP/1.1 server on a free loopback port for end-to-end
// tests: one thread, one connection at a time, GET/HEAD to one handler, other methods to another.
//
//   BeastServer server(larder::beast::Cached(cache, policy, read), write);
//   httplib::Client("127.0.0.1", server.port()).Get("/items/1");
#pragma once

#include <atomic>
#include <thread>
#include <utility>

#include "boost/asio.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "larder/beast/cached.h"

namespace larder::http::testing {

// A minimal Boost.Beast server: one thread, one connection at a time, GET/HEAD to `read`, any
// other method to `write`.
class BeastServer {
 public:
  BeastServer(beast::Handler read, beast::Handler write)
      : read_(std::move(read)), write_(std::move(write)) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~BeastServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    boost::asio::ip::tcp::socket wake(io_);
    wake.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_),
                 ignored);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  void Serve() {
    while (!stopping_) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code error;
      acceptor_.accept(socket, error);
      if (!error && !stopping_) ServeConnection(socket);
    }
  }
  void ServeConnection(boost::asio::ip::tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    while (true) {
      beast::BeastRequest request;
      boost::system::error_code error;
      boost::beast::http::read(socket, buffer, request, error);
      if (error) return;
      const bool reads = request.method() == boost::beast::http::verb::get ||
                         request.method() == boost::beast::http::verb::head;
      const beast::BeastResponse response = reads ? read_(request) : write_(request);
      boost::beast::http::write(socket, response, error);
      if (error || !response.keep_alive()) return;
    }
  }

  beast::Handler read_;
  beast::Handler write_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace larder::http::testing
