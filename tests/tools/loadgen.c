/*
 * loadgen: load on the control socket, spoken with common/msg.c and
 * common/proto.c like pluginctl.
 *
 *	loadgen -s SOCKET [-c CLIENTS] [-t SECONDS] [-i NAME] [-r N] [-f PCT]
 *
 * CLIENTS threads (default 50) each loop for SECONDS (default 10) over a
 * mix of requests: -f PCT percent (default 10) EVENTS following new
 * events for 500 ms; of the rest, 45% LIST, 35% INSPECT NAME (NAME must
 * exist the whole time; LIST again without -i) and 20% EVENTS since/until
 * a 10 s window ending now (a replay of the ring that returns at once).
 * A connection serves -r N requests (default 1: a new connection, HELLO
 * and all, per request, as pluginctl does).  Every request's latency is recorded, from connect (or from the
 * request on a reused connection) to the final OK; any error reply,
 * refused connection or transport error is a failure.  Follow requests
 * take their 500 ms by design, so they are counted but left out of the
 * percentiles.  Prints one line:
 *
 *	requests=N failures=N seconds=S rps=R p50_ms= p90_ms= p99_ms=
 *	    max_ms= list=N inspect=N events=N follow=N events_seen=N followed=N
 *
 * and the first failures on stderr; exits 1 when any request failed.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "proto.h"

enum { V_LIST, V_INSPECT, V_EVENTS, V_FOLLOW, V_MAX };

struct worker {
	pthread_t	 t;
	unsigned	 seed;
	uint32_t	*lat;		/* microseconds, non-follow requests */
	size_t		 nlat, caplat;
	unsigned long	 count[V_MAX];
	unsigned long	 failures;
	unsigned long	 events_seen;	/* lines of replays */
	unsigned long	 followed;	/* lines of follows: new events */
};

static const char	*sockpath, *inspect_name = "";
static int		 nclients = 50, seconds = 10, per_conn = 1, follow_pct = 10;
static long long	 t_end;
static pthread_mutex_t	 err_mtx = PTHREAD_MUTEX_INITIALIZER;
static int		 nerr_shown;

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static unsigned long long
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL +
	    (unsigned long long)ts.tv_nsec;
}

static void
failure(struct worker *w, const char *what, const char *msg)
{
	w->failures++;
	pthread_mutex_lock(&err_mtx);
	if (nerr_shown++ < 20)
		fprintf(stderr, "loadgen: %s: %s\n", what, msg);
	pthread_mutex_unlock(&err_mtx);
}

/* Connect and say HELLO; -1 with e set on any failure. */
static int
dial(struct pd_chan *ch, struct pd_err *e)
{
	struct pd_hello h = { PD_PROTO_VERSION, (char *)(uintptr_t)"loadgen" };
	struct pd_error_msg em;
	struct sockaddr_un sun;
	struct pd_msg m;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return pd_errno(e, PD_E_IO, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		pd_errno(e, PD_E_IO, "connect %s", sockpath);
		close(fd);
		return -1;
	}
	if (pd_chan_init(ch, fd, 0) == -1) {
		close(fd);
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	}
	if (pd_send_hello(fd, 1, &h, e) == -1 ||
	    (r = pd_msg_recv(ch, &m, 30000, e)) == -1)
		goto fail;
	if (r == 0) {
		pd_errf(e, PD_E_IO, "connection closed before HELLO");
		goto fail;
	}
	if (m.type == PD_CTL_FAIL && pd_dec_error(&m, &em, e) == 0) {
		pd_errf(e, PD_E_IO, "refused: %s", em.msg);
		pd_error_msg_free(&em);
		pd_msg_clear(&m);
		goto fail;
	}
	if (m.type != PD_MSG_HELLO) {
		pd_errf(e, PD_E_PROTO, "answer %u instead of HELLO", m.type);
		pd_msg_clear(&m);
		goto fail;
	}
	pd_msg_clear(&m);
	return 0;
fail:
	close(ch->fd);
	pd_chan_free(ch);
	return -1;
}

/* One request on an open channel; counts event lines in *lines. */
static int
request(struct pd_chan *ch, uint32_t id, int verb, unsigned long *lines,
    struct pd_err *e)
{
	char a0[64], a1[64], *args[2];
	unsigned long long now = wall_ns();
	struct pd_error_msg em;
	struct pd_ctlreq q;
	struct pd_msg m;
	uint32_t type;
	size_t i;
	int r;

	memset(&q, 0, sizeof(q));
	q.args = args;
	switch (verb) {
	case V_LIST:
		type = PD_CTL_LIST;
		break;
	case V_INSPECT:
		type = PD_CTL_INSPECT;
		args[0] = (char *)(uintptr_t)inspect_name;
		q.nargs = 1;
		break;
	case V_EVENTS:
		type = PD_CTL_EVENTS;
		snprintf(a0, sizeof(a0), "since=%llu", now - 10000000000ULL);
		snprintf(a1, sizeof(a1), "until=%llu", now);
		args[0] = a0;
		args[1] = a1;
		q.nargs = 2;
		break;
	default:
		type = PD_CTL_EVENTS;
		snprintf(a0, sizeof(a0), "until=%llu", now + 500000000ULL);
		args[0] = a0;
		q.nargs = 1;
		break;
	}
	if (pd_send_ctlreq(ch->fd, type, id, -1, &q, e) == -1)
		return -1;
	for (;;) {
		if ((r = pd_msg_recv(ch, &m, 30000, e)) == -1)
			return -1;
		if (r == 0)
			return pd_errf(e, PD_E_IO, "connection closed before the reply");
		if (m.id != id) {
			pd_msg_clear(&m);
			return pd_errf(e, PD_E_PROTO, "reply id %u to request %u", m.id,
			    id);
		}
		switch (m.type) {
		case PD_CTL_DATA:
			for (i = 0; i < m.len; i++)
				if (m.data[i] == '\n')
					(*lines)++;
			break;
		case PD_CTL_OK:
			pd_msg_clear(&m);
			return 0;
		case PD_CTL_FAIL:
			if (pd_dec_error(&m, &em, e) == 0) {
				pd_errf(e, PD_E_IO, "error reply: %s", em.msg);
				pd_error_msg_free(&em);
			}
			pd_msg_clear(&m);
			return -1;
		default:
			pd_msg_clear(&m);
			return pd_errf(e, PD_E_PROTO, "unexpected reply type %u", m.type);
		}
		pd_msg_clear(&m);
	}
}

static int
pick_verb(struct worker *w)
{
	int x = rand_r(&w->seed) % 100;

	if (x < follow_pct)
		return V_FOLLOW;
	x = rand_r(&w->seed) % 100;
	if (x >= 45 && x < 80 && inspect_name[0] == '\0')
		return V_LIST;		/* no -i: nothing to inspect */
	return x < 45 ? V_LIST : x < 80 ? V_INSPECT : V_EVENTS;
}

static void
record(struct worker *w, long long us)
{
	if (w->nlat == w->caplat) {
		w->caplat = w->caplat ? w->caplat * 2 : 4096;
		if ((w->lat = realloc(w->lat, w->caplat * sizeof(*w->lat))) == NULL) {
			fprintf(stderr, "loadgen: out of memory\n");
			exit(2);
		}
	}
	w->lat[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void *
worker(void *arg)
{
	static const char *names[] = { "ls", "inspect", "events", "follow" };
	struct worker *w = arg;
	struct pd_chan ch;
	struct pd_err e;
	long long t0;
	int verb, used = 0, open = 0;
	uint32_t id = 1;

	while (now_us() < t_end) {
		verb = pick_verb(w);
		t0 = now_us();
		w->count[verb]++;
		if (!open) {
			if (dial(&ch, &e) == -1) {
				failure(w, "connect", e.msg);
				usleep(10000);
				continue;
			}
			open = 1;
			used = 0;
		}
		if (request(&ch, ++id, verb, verb == V_FOLLOW ? &w->followed :
		    &w->events_seen, &e) == -1) {
			failure(w, names[verb], e.msg);
			used = per_conn;
		} else if (verb != V_FOLLOW)
			record(w, now_us() - t0);
		if (++used >= per_conn) {
			close(ch.fd);
			pd_chan_free(&ch);
			open = 0;
		}
	}
	if (open) {
		close(ch.fd);
		pd_chan_free(&ch);
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_ms(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: loadgen -s SOCKET [-c CLIENTS] [-t SECONDS] "
	    "[-i NAME] [-r REQUESTS-PER-CONNECTION] [-f FOLLOW-PERCENT]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	unsigned long total[V_MAX] = { 0 }, fails = 0, seen = 0, nreq = 0;
	unsigned long followed = 0;
	struct worker *w;
	uint32_t *all;
	size_t n = 0;
	long long t0;
	double secs;
	int ch, i, v;

	while ((ch = getopt(argc, argv, "s:c:t:i:r:f:")) != -1) {
		switch (ch) {
		case 's': sockpath = optarg; break;
		case 'c': nclients = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'i': inspect_name = optarg; break;
		case 'r': per_conn = atoi(optarg); break;
		case 'f': follow_pct = atoi(optarg); break;
		default: usage();
		}
	}
	if (sockpath == NULL || nclients < 1 || nclients > 10000 || seconds < 1 ||
	    per_conn < 1 || follow_pct < 0 || follow_pct > 100 || optind != argc)
		usage();
	if ((w = calloc((size_t)nclients, sizeof(*w))) == NULL)
		return 2;
	t0 = now_us();
	t_end = t0 + seconds * 1000000LL;
	for (i = 0; i < nclients; i++) {
		w[i].seed = (unsigned)(i * 7919 + 1);
		if (pthread_create(&w[i].t, NULL, worker, &w[i]) != 0) {
			fprintf(stderr, "loadgen: cannot start thread %d\n", i);
			return 2;
		}
	}
	for (i = 0; i < nclients; i++) {
		pthread_join(w[i].t, NULL);
		n += w[i].nlat;
	}
	secs = (double)(now_us() - t0) / 1e6;
	if ((all = malloc((n ? n : 1) * sizeof(*all))) == NULL)
		return 2;
	for (n = 0, i = 0; i < nclients; i++) {
		memcpy(all + n, w[i].lat, w[i].nlat * sizeof(*all));
		n += w[i].nlat;
		for (v = 0; v < V_MAX; v++) {
			total[v] += w[i].count[v];
			nreq += w[i].count[v];
		}
		fails += w[i].failures;
		seen += w[i].events_seen;
		followed += w[i].followed;
		free(w[i].lat);
	}
	qsort(all, n, sizeof(*all), cmp_u32);
	printf("requests=%lu failures=%lu seconds=%.1f rps=%.0f p50_ms=%.2f "
	    "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f list=%lu inspect=%lu events=%lu "
	    "follow=%lu events_seen=%lu followed=%lu\n", nreq, fails, secs, (double)nreq / secs,
	    pct_ms(all, n, 50), pct_ms(all, n, 90), pct_ms(all, n, 99),
	    n ? all[n - 1] / 1000.0 : 0.0, total[V_LIST], total[V_INSPECT],
	    total[V_EVENTS], total[V_FOLLOW], seen, followed);
	free(all);
	free(w);
	return fails ? 1 : 0;
}
