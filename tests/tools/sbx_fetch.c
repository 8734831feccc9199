/*
 * sbx_fetch: run libcurl + OpenSSL + glibc's resolver the way the fetcher
 * will, under the real FETCHER privdrop and seccomp policy, so that a
 * missing syscall shows up here (killed by SIGSYS, or with a
 * -DPD_SANDBOX_DEBUG build, a report per syscall) rather than in the field.
 *
 *	sbx_fetch -r ROOT [-u UID] [-c CAFILE] [-n NAME]... URL...
 *
 * Before the drop it plays the broker: a socketpair on fd 3, and for each
 * URL an O_TMPFILE fd queued on the channel with SCM_RIGHTS.  After the
 * drop it resolves each NAME with getaddrinfo(), receives the fds with
 * recvmsg(3), fetches each URL into its fd (CA from memory, as
 * CURLOPT_CAINFO_BLOB), and replies on fd 3 with sendmsg.  It prints
 *	addr NAME ADDRESS
 *	got URL HTTPCODE SIZE SHA256
 * and exits 0 when every fetch worked (lookups only print their result).
 * Loopback servers only.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "privdrop.h"
#include "role.h"
#include "sandbox.h"

#define MAXURLS		8
#define MAXNAMES	8

struct sink {
	int		 fd;
	size_t		 size;
	EVP_MD_CTX	*md;
};

static void
usage(void)
{
	fprintf(stderr, "usage: sbx_fetch -r root [-u uid] [-c cafile] "
	    "[-n name]... url...\n");
	exit(2);
}

static size_t
sink_write(char *p, size_t sz, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = sz * n, off = 0;
	ssize_t w;

	while (off < len) {
		if ((w = write(s->fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		off += (size_t)w;
	}
	EVP_DigestUpdate(s->md, p, len);
	s->size += len;
	return len;
}

static int
send_fd(int sock, int fd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	char b = 'F';

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = &b;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

static int
recv_fd(int sock)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	char b;
	int fd;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &b;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	if ((c = CMSG_FIRSTHDR(&mh)) == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf;
	FILE *fp;
	long n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static int
resolve(const char *name)
{
	struct addrinfo hints, *res, *ai;
	char buf[INET6_ADDRSTRLEN];
	const void *a;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(name, "443", &hints, &res)) != 0) {
		printf("addr %s error %s\n", name, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			a = &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
		else
			a = &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
		inet_ntop(ai->ai_family, a, buf, sizeof(buf));
		printf("addr %s %s\n", name, buf);
	}
	freeaddrinfo(res);
	return 0;
}

static int
fetch(const char *url, int fd, char *ca, size_t calen)
{
	struct curl_blob blob;
	struct sink s;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;
	long code = 0;
	CURLcode rc;
	CURL *c;

	memset(&s, 0, sizeof(s));
	s.fd = fd;
	if ((s.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1)
		return -1;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	/* Trust only the CA given in memory: no file, no directory. */
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	if (ca != NULL) {
		blob.data = ca;
		blob.len = calen;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		printf("got %s error %s\n", url, curl_easy_strerror(rc));
		EVP_MD_CTX_free(s.md);
		return -1;
	}
	EVP_DigestFinal_ex(s.md, md, &mdlen);
	EVP_MD_CTX_free(s.md);
	printf("got %s %ld %zu ", url, code, s.size);
	for (i = 0; i < mdlen; i++)
		printf("%02x", md[i]);
	printf("\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct pd_dropspec ds;
	struct pd_err e;
	const char *root = NULL, *cafile = NULL, *names[MAXNAMES];
	char *ca = NULL, reply[64];
	size_t calen = 0;
	int ch, i, nnames = 0, sv[2], fd, fails = 0;
	long uid = 65534;

	while ((ch = getopt(argc, argv, "c:n:r:u:")) != -1) {
		switch (ch) {
		case 'c':
			cafile = optarg;
			break;
		case 'n':
			if (nnames == MAXNAMES)
				usage();
			names[nnames++] = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'u':
			uid = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (root == NULL || argc > MAXURLS)
		usage();

	/* Line by line, so a kill still leaves the progress so far. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Everything that needs files outside the chroot happens now. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "curl_global_init failed\n");
		return 1;
	}
	if (cafile != NULL && (ca = slurp(cafile, &calen)) == NULL) {
		perror(cafile);
		return 1;
	}
	/* fd 3 is free in a normal start, so socketpair() may return it. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    sv[1] == PD_SANDBOX_CHANNEL_FD) {
		perror("channel");
		return 1;
	}
	if (sv[0] != PD_SANDBOX_CHANNEL_FD) {
		if (dup2(sv[0], PD_SANDBOX_CHANNEL_FD) == -1) {
			perror("dup2");
			return 1;
		}
		close(sv[0]);
	}
	for (i = 0; i < argc; i++) {
		if ((fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) == -1 ||
		    send_fd(sv[1], fd) == -1) {
			perror("blob fd");
			return 1;
		}
		close(fd);
	}

	memset(&ds, 0, sizeof(ds));
	ds.role = PD_ROLE_FETCHER;
	ds.uid = (uid_t)uid;
	ds.gid = (gid_t)uid;
	ds.rlim_nofile = 64;
	ds.rlim_fsize = 256ULL << 20;
#ifdef PD_SANITIZE
	ds.rlim_as = 0;		/* ASan reserves terabytes of address space */
#else
	ds.rlim_as = 1ULL << 30;
#endif
	if ((ds.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(root);
		return 1;
	}
	if (pd_privdrop(&ds, &e) == -1 ||
	    pd_sandbox_apply(PD_ROLE_FETCHER, &e) == -1) {
		fprintf(stderr, "sbx_fetch: %s\n", e.msg);
		return 1;
	}
	close(ds.rootfd);

	/* Sandboxed from here on. */
	/* A failed lookup is printed, not counted: tests look up names
	 * that must fail. */
	for (i = 0; i < nnames; i++)
		resolve(names[i]);
	for (i = 0; i < argc; i++) {
		if ((fd = recv_fd(PD_SANDBOX_CHANNEL_FD)) == -1) {
			printf("got %s error no fd on the channel\n", argv[i]);
			fails++;
			continue;
		}
		if (fetch(argv[i], fd, ca, calen) == -1)
			fails++;
		close(fd);
		snprintf(reply, sizeof(reply), "done %d", i);
		if (sendmsg(PD_SANDBOX_CHANNEL_FD, &(struct msghdr){
		    .msg_iov = &(struct iovec){ reply, strlen(reply) },
		    .msg_iovlen = 1 }, MSG_NOSIGNAL) == -1)
			fails++;
	}
	curl_global_cleanup();
	free(ca);
	fflush(stdout);
	return fails ? 1 : 0;
}
