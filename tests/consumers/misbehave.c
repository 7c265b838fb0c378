/* A consumer that misbehaves on demand, for tests/test_trial_runner.cpp:
 * argv[1] picks the behaviour, the rest are its arguments. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile unsigned long sink;

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "ok";
  if (!strcmp(what, "ok")) {
    puts("loaded");
    return 0;
  }
  if (!strcmp(what, "exit3")) {
    fputs("bad field 21\n", stderr);
    return 3;
  }
  if (!strcmp(what, "abort")) {
    fputs("more than 200 features\n", stderr);
    abort();
  }
  if (!strcmp(what, "segv")) {
    raise(SIGSEGV);
    return 0;
  }
  if (!strcmp(what, "sleep")) {
    for (;;) pause();
  }
  if (!strcmp(what, "alloc")) { /* touches what it gets; aborts when malloc fails, as operator new would */
    for (;;) {
      char* p = malloc(1 << 20);
      if (!p) abort();
      memset(p, 1, 1 << 20);
    }
  }
  if (!strcmp(what, "connect") && argc > 2) { /* exit 0: connected */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return perror("socket"), 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr*)&a, sizeof a) != 0) return perror("connect"), 1;
    return 0;
  }
  if (!strcmp(what, "write") && argc > 2) { /* exit 0: written */
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror(argv[2]), 1;
    return write(fd, "x", 1) == 1 ? 0 : 1;
  }
  if (!strcmp(what, "fork")) { /* a child that outlives it: argv[2] marks it for pgrep */
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sleep", "sleep", argc > 2 ? argv[2] : "60", (char*)NULL);
      _exit(127);
    }
    return pid < 0;
  }
  if (!strcmp(what, "fork-sleep")) { /* the same, and then it hangs itself */
    if (fork() == 0) {
      execl("/bin/sleep", "sleep", argc > 2 ? argv[2] : "60", (char*)NULL);
      _exit(127);
    }
    for (;;) pause();
  }
  if (!strcmp(what, "burn")) {
    for (;;) sink++;
  }
  if (!strcmp(what, "noise")) { /* more output than any tail keeps */
    for (int i = 0; i < 100000; i++) fprintf(stderr, "line %d\n", i);
    return 1;
  }
  if (!strcmp(what, "cat")) { /* stdin to stdout */
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    return 0;
  }
  fprintf(stderr, "unknown behaviour %s\n", what);
  return 2;
}
