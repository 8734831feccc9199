/*
 * Splitting a `plugin create` context (moby's splitConfigRootFSFromTar):
 * the tar holds config.json and rootfs/...; the config is decoded and
 * canonicalised, the rootfs entries are re-rooted and written as a gzip
 * layer into the fd the broker gave us.  Nothing is written to disk here:
 * the layer is applied afterwards by the ordinary untar path and its full
 * policy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle.h"
#include "plugincfg.h"

/*
 * Clean an entry name as Go's path.Clean plus TrimPrefix("/") would for
 * our purpose: drop leading "/" and "./", collapse "//" and "/./".  ".."
 * is left for the layer's policy to reject.
 */
static void
clean_name(const char *in, char *out, size_t len)
{
	size_t o = 0;
	const char *p = in, *seg;
	size_t n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		seg = p;
		n = strcspn(p, "/");
		p += n;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (o != 0 && o + 1 < len)
			out[o++] = '/';
		if (o + n >= len)
			n = len - o - 1;
		memcpy(out + o, seg, n);
		o += n;
	}
	out[o] = '\0';
}

/* "rootfs/x" -> "x"; "rootfs" -> ""; anything else -> NULL. */
static const char *
reroot(const char *clean)
{
	if (strcmp(clean, "rootfs") == 0)
		return "";
	if (strncmp(clean, "rootfs/", 7) == 0)
		return clean + 7;
	return NULL;
}

/* The context reader (tar, maybe gzip) and the gzip layer writer. */
static int
bundle_open(struct archive *in, struct archive *out, int infd, int outfd,
    struct pd_err *e)
{
	/* The context is a tar, gzip-compressed when `create --compress`. */
	archive_read_support_format_tar(in);
	archive_read_support_filter_gzip(in);
	archive_read_support_filter_none(in);
	if (archive_read_open_fd(in, infd, 65536) != ARCHIVE_OK)
		return pd_errf(e, PD_E_INVAL, "failed to read the plugin context: "
		    "%s", archive_error_string(in));
	archive_write_set_format_pax_restricted(out);
	archive_write_add_filter_gzip(out);
	/* Same context, same layer digest: no gzip timestamp, no atimes. */
	archive_write_set_options(out, "gzip:!timestamp");
	archive_write_set_bytes_in_last_block(out, 1);
	if (archive_write_open_fd(out, outfd) != ARCHIVE_OK)
		return pd_errf(e, PD_E_IO, "layer output: %s",
		    archive_error_string(out));
	return 0;
}

/* config.json into *cfg, at most PD_CONFIG_MAX bytes; the last one wins. */
static int
read_config(struct archive *in, struct archive_entry *ent, char **cfg,
    size_t *cfglen, struct pd_err *e)
{
	la_ssize_t n;

	if (archive_entry_filetype(ent) != AE_IFREG)
		return pd_errf(e, PD_E_INVAL, "config.json is not a regular file");
	free(*cfg);
	*cfg = NULL;
	*cfglen = 0;
	if (archive_entry_size(ent) > PD_CONFIG_MAX)
		return pd_errf(e, PD_E_LIMIT, "config.json is larger than %d bytes",
		    PD_CONFIG_MAX);
	if ((*cfg = malloc(PD_CONFIG_MAX + 1)) == NULL)
		return pd_errf(e, PD_E_INTERNAL, "out of memory");
	while ((n = archive_read_data(in, *cfg + *cfglen,
	    PD_CONFIG_MAX + 1 - *cfglen)) > 0) {
		*cfglen += (size_t)n;
		if (*cfglen > PD_CONFIG_MAX)
			return pd_errf(e, PD_E_LIMIT, "config.json is larger than %d "
			    "bytes", PD_CONFIG_MAX);
	}
	if (n < 0)
		return pd_errf(e, PD_E_INVAL, "failed to read config.json: %s",
		    archive_error_string(in));
	return 0;
}

/* One rootfs entry, re-rooted at rel, into the layer. */
static int
copy_entry(struct archive *in, struct archive *out, struct archive_entry *ent,
    const char *rel, struct pd_err *e)
{
	char link[8192], buf[65536];
	const char *hl;
	la_ssize_t n;

	archive_entry_set_pathname(ent, rel);
	archive_entry_unset_atime(ent);
	archive_entry_unset_ctime(ent);
	archive_entry_unset_birthtime(ent);
	if ((hl = archive_entry_hardlink(ent)) != NULL) {
		clean_name(hl, link, sizeof(link));
		if (strncasecmp(link, "rootfs/", 7) == 0)
			archive_entry_set_hardlink(ent, link + 7);
	}
	if (archive_write_header(out, ent) != ARCHIVE_OK)
		return pd_errf(e, PD_E_INVAL, "cannot write \"%s\" to the layer: %s",
		    rel, archive_error_string(out));
	while ((n = archive_read_data(in, buf, sizeof(buf))) > 0)
		if (archive_write_data(out, buf, (size_t)n) != n)
			return pd_errf(e, PD_E_IO, "writing the layer: %s",
			    archive_error_string(out));
	if (n < 0)
		return pd_errf(e, PD_E_INVAL, "failed to read \"%s\": %s", rel,
		    archive_error_string(in));
	return 0;
}

/* What the context must have held; the layer closed, the config encoded. */
static int
bundle_finish(struct archive *out, const char *cfg, size_t cfglen,
    int have_rootfs, struct pd_bundle_done *res, struct pd_err *e)
{
	json_t *canon;

	if (cfg == NULL)
		return pd_errf(e, PD_E_INVAL, "config not found: the plugin "
		    "directory has no config.json");
	if (!have_rootfs)
		return pd_errf(e, PD_E_INVAL, "no rootfs found: the plugin "
		    "directory has no rootfs/ directory");
	if (archive_write_close(out) != ARCHIVE_OK)
		return pd_errf(e, PD_E_IO, "writing the layer: %s",
		    archive_error_string(out));
	if ((canon = pd_config_canonical(cfg, cfglen, e)) == NULL)
		return -1;
	res->config = json_dumps(canon, JSON_COMPACT);
	json_decref(canon);
	if (res->config == NULL || strlen(res->config) > PD_BUNDLE_CONFIG_MAX) {
		free(res->config);
		res->config = NULL;
		return pd_errf(e, PD_E_LIMIT, "the plugin config is too large once "
		    "encoded");
	}
	return 0;
}

int
bundle_split(int infd, int outfd, struct pd_bundle_done *res, struct pd_err *e)
{
	struct archive *in = NULL, *out = NULL;
	struct archive_entry *ent;
	char name[8192], *cfg = NULL;
	const char *rel;
	size_t cfglen = 0;
	int r, rc = -1, have_rootfs = 0;

	memset(res, 0, sizeof(*res));
	in = archive_read_new();
	out = archive_write_new();
	if (in == NULL || out == NULL) {
		pd_errf(e, PD_E_INTERNAL, "out of memory");
		goto done;
	}
	if (bundle_open(in, out, infd, outfd, e) == -1)
		goto done;
	while ((r = archive_read_next_header(in, &ent)) != ARCHIVE_EOF) {
		if (r != ARCHIVE_OK) {
			pd_errf(e, PD_E_INVAL, "failed to read the plugin context: %s",
			    archive_error_string(in));
			goto done;
		}
		clean_name(archive_entry_pathname(ent) ? archive_entry_pathname(ent) :
		    "", name, sizeof(name));
		if (strcmp(name, "config.json") == 0) {
			/* The last config.json wins, as in Docker. */
			if (read_config(in, ent, &cfg, &cfglen, e) == -1)
				goto done;
			continue;
		}
		if ((rel = reroot(name)) == NULL) {
			(void)archive_read_data_skip(in);
			continue;
		}
		have_rootfs = 1;
		if (rel[0] == '\0')
			continue;	/* the rootfs dir itself: the layer root */
		if (copy_entry(in, out, ent, rel, e) == -1)
			goto done;
		res->entries++;
	}
	rc = bundle_finish(out, cfg, cfglen, have_rootfs, res, e);
done:
	free(cfg);
	if (in != NULL)
		archive_read_free(in);
	if (out != NULL)
		archive_write_free(out);
	return rc;
}
