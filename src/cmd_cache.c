/* dagexec cache list|gc|clear [--cache DIR] [--max-size SIZE]
 * [--older-than DURATION]: the cache store of run and retry (interface
 * §8), over cache.c. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cmd.h"
#include "loop.h"
#include "units.h"
#include "xmalloc.h"

static void
cache_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec cache list [--cache DIR]\n"
	    "       dagexec cache gc [--cache DIR] [--max-size SIZE] "
	    "[--older-than DURATION]\n"
	    "       dagexec cache clear [--cache DIR]\n\n"
	    "The cache store of the nodes with cache: (default "
	    "$DAGEXEC_CACHE, else\n$XDG_CACHE_HOME/dagexec, else "
	    "~/.cache/dagexec).\n\n"
	    "  list                    one line an entry, least recently used "
	    "first\n"
	    "  gc                      remove damaged entries, those unused "
	    "for longer than\n"
	    "                          --older-than, then the least recently "
	    "used beyond\n"
	    "                          --max-size, and leftovers of "
	    "interrupted stores\n"
	    "  clear                   remove every entry\n\n"
	    "  -c, --cache DIR         the store\n"
	    "      --max-size SIZE     gc: keep at most SIZE bytes of outputs "
	    "(512M, 2G)\n"
	    "      --older-than D      gc: remove what was not used for D "
	    "(7d, 12h)\n\n"
	    "exit status: 0 done, 64 usage, 74 the store cannot be read or an "
	    "entry removed\n");
}

static void
fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

static int
cache_list(const char *dir)
{
	struct cache_entry **v;
	char *cause = NULL, size[32], used[32], made[32];
	int64_t total = 0;
	size_t n, k, bad = 0;

	if (cache_scan(dir, false, &v, &n, &cause) != 0) {
		fprintf(stderr, "dagexec: cache: %s\n", cause);
		free(cause);
		return EXIT_IOERR;
	}
	printf("%-12s  %-20s  %-20s  %7s  %-20s  %s\n", "KEY", "CREATED",
	    "USED", "SIZE", "DAG", "NODE");
	for (k = 0; k < n; k++) {
		fmt_time(v[k]->used_ms, used, sizeof used);
		if (!v[k]->ok) {
			printf("%-12.12s  %-20s  %-20s  %7s  %-20s  %s\n",
			    v[k]->key, "-", used, "-", "-", "(damaged)");
			bad++;
			continue;
		}
		fmt_time(v[k]->created_ms, made, sizeof made);
		units_format_size(v[k]->size, size, sizeof size);
		total += v[k]->size;
		printf("%-12.12s  %-20s  %-20s  %7s  %-20.20s  %s\n", v[k]->key,
		    made, used, size, v[k]->dag, v[k]->node);
	}
	units_format_size(total, size, sizeof size);
	fprintf(stderr, "%zu entr%s, %s of outputs%s in '%s'\n", n,
	    n == 1 ? "y" : "ies", size, bad > 0 ? " (some damaged: gc "
	    "removes them)" : "", dir);
	cache_entries_free(v, n);
	return fflush(stdout) == 0 ? 0 : EXIT_IOERR;
}

static int
cache_remove(const char *dir, int64_t older, int64_t max_size, bool all)
{
	char *cause = NULL, size[32];
	size_t nrem;
	int64_t freed;

	if (cache_gc(dir, older, max_size, all, loop_wallclock(), &nrem, &freed,
	    &cause) != 0) {
		fprintf(stderr, "dagexec: cache: %s\n", cause);
		free(cause);
		return EXIT_IOERR;
	}
	units_format_size(freed, size, sizeof size);
	fprintf(stderr, "removed %zu entr%s, %s of outputs, from '%s'\n",
	    nrem, nrem == 1 ? "y" : "ies", size, dir);
	return 0;
}

int
cmd_cache(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ "max-size", required_argument, NULL, 'S' },
		{ "older-than", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *opt_dir = NULL, *verb, *why;
	int64_t max_size = -1, older = -1;
	char *dir, *cause = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt_dir = optarg;
			break;
		case 'S':
			if (units_parse_size(optarg, &max_size, &why) != 0) {
				fprintf(stderr, "dagexec: cache: invalid size "
				    "'%s' for --max-size: %s\n", optarg, why);
				return EXIT_USAGE;
			}
			break;
		case 'O':
			if (units_parse_duration(optarg, &older, &why) != 0) {
				fprintf(stderr, "dagexec: cache: invalid "
				    "duration '%s' for --older-than: %s\n",
				    optarg, why);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			cache_usage(stdout);
			return 0;
		default:
			cache_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cache_usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[optind];
	if (strcmp(verb, "list") != 0 && strcmp(verb, "gc") != 0 &&
	    strcmp(verb, "clear") != 0) {
		fprintf(stderr, "dagexec: cache: unknown command '%s' (list, "
		    "gc or clear)\n", verb);
		return EXIT_USAGE;
	}
	if (strcmp(verb, "gc") != 0 && (max_size >= 0 || older >= 0)) {
		fprintf(stderr, "dagexec: cache: --max-size and --older-than "
		    "go with gc\n");
		return EXIT_USAGE;
	}
	if ((dir = cache_dir_default(opt_dir, &cause)) == NULL) {
		fprintf(stderr, "dagexec: cache: %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0)
		ret = cache_list(dir);
	else
		ret = cache_remove(dir, older, max_size,
		    strcmp(verb, "clear") == 0);
	free(dir);
	return ret;
}
