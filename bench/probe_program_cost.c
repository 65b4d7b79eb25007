/* What one syscall costs the probe's sys_exit program, per kind of call (bench/probe_program_cost.py).
 * "getppid N": N getppid calls (no rule reads them: the program's early return);
 * "send N": N 8-byte sends on a loopback TCP connection (the CVE pack reads sendto on netlink
 * sockets only: the program looks at the socket and drops the call in the kernel). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long n = atol(argv[2]);
	if (strcmp(argv[1], "getppid") == 0) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		return 0;
	}
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof a;
	if (bind(l, (void *)&a, sizeof a) || listen(l, 1) || getsockname(l, (void *)&a, &sl))
		return 3;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof a))
		return 4;
	int s = accept(l, 0, 0);
	char buf[8] = {0}, rb[4096];
	for (long i = 0; i < n; i++) {
		send(c, buf, sizeof buf, 0);
		if ((i & 255) == 255) /* keep the receive buffer from filling */
			while (recv(s, rb, sizeof rb, MSG_DONTWAIT) > 0)
				;
	}
	return 0;
}
