// Publishing to a file: staged beside it, renamed over it on commit.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/files.hpp"
#include "invar/gate.hpp"

namespace invar {

namespace fs = std::filesystem;

namespace {

class FilePublisher : public Publisher {
 public:
  explicit FilePublisher(std::string path) : path_(std::move(path)) {}
  ~FilePublisher() override {
    if (!staged_.empty()) ::unlink(staged_.c_str());
  }

  std::optional<Error> prepare(std::string_view bytes) override {
    staged_ = path_ + ".invar-tmp-" + std::to_string(getpid());
    int fd = ::open(staged_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return io("cannot write the artifact to publish");
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        auto e = io("cannot write the artifact to publish");
        ::close(fd);
        return e;
      }
      done += static_cast<size_t>(n);
    }
    bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return io("cannot fsync the artifact to publish");
    return std::nullopt;
  }

  std::optional<Error> commit() override {
    if (::rename(staged_.c_str(), path_.c_str()) != 0) return io("cannot publish");
    staged_.clear();
    std::string dir = fs::path(path_).has_parent_path() ? fs::path(path_).parent_path().string() : ".";
    return files::sync_dir(dir);
  }

 private:
  Error io(const std::string& what) const {
    Error e;
    e.code = ErrorCode::io;
    e.message = what + ": " + std::strerror(errno);
    e.where.file = path_;
    return e;
  }
  std::string path_;
  std::string staged_;
};

}  // namespace

std::unique_ptr<Publisher> file_publisher(const std::string& path) { return std::make_unique<FilePublisher>(path); }

}  // namespace invar
