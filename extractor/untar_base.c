/*
 * The bottom of the untar engine (untar_base.h): quoting hostile names
 * for messages, and the map from inode numbers to values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "untar_base.h"

const char *
esc(const char *s, size_t n, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	buf[o++] = '"';
	for (i = 0; i < n; i++) {
		if (o + 8 >= size) {
			memcpy(buf + o, "\"...", 5);
			return buf;
		}
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static size_t
u64hash(uint64_t k, size_t mask)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & mask;
}

int
u64map_put(struct u64map *m, uint64_t k, uint32_t v)
{
	uint64_t *nk, *ok = m->keys;
	uint32_t *nv, *ov = m->vals;
	size_t i, j, ncap, ocap = m->cap;

	if (k == 0) {
		m->haszero = 1;
		m->zeroval = v;
		return 0;
	}
	if (2 * (m->n + 1) > m->cap) {
		ncap = m->cap == 0 ? 1024 : 2 * m->cap;
		if ((nk = calloc(ncap, sizeof(*nk))) == NULL)
			return -1;
		if ((nv = calloc(ncap, sizeof(*nv))) == NULL) {
			free(nk);
			return -1;
		}
		for (i = 0; i < ocap; i++) {
			if (ok[i] == 0)
				continue;
			for (j = u64hash(ok[i], ncap - 1); nk[j] != 0;
			    j = (j + 1) & (ncap - 1))
				;
			nk[j] = ok[i];
			nv[j] = ov[i];
		}
		free(ok);
		free(ov);
		m->keys = nk;
		m->vals = nv;
		m->cap = ncap;
	}
	for (i = u64hash(k, m->cap - 1); m->keys[i] != 0 && m->keys[i] != k;
	    i = (i + 1) & (m->cap - 1))
		;
	if (m->keys[i] == 0) {
		m->keys[i] = k;
		m->n++;
	}
	m->vals[i] = v;
	return 0;
}

int
u64map_get(const struct u64map *m, uint64_t k, uint32_t *v)
{
	size_t i;

	if (k == 0) {
		if (m->haszero && v != NULL)
			*v = m->zeroval;
		return m->haszero;
	}
	if (m->cap == 0)
		return 0;
	for (i = u64hash(k, m->cap - 1); m->keys[i] != 0;
	    i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == k) {
			if (v != NULL)
				*v = m->vals[i];
			return 1;
		}
	}
	return 0;
}

void
u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
