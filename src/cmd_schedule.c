/* dagexec __schedule: a schedule's helper, started by `watch` (never by
 * hand) as the schedule file's owner, its answer on descriptor 3. */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "schedule.h"

static void
schedule_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec __schedule --spool DIR --name NAME --last "
	    "SECONDS --now SECONDS\n                         --count N\n"
	    "Read SPOOL/schedules/NAME for `dagexec watch`, which starts it "
	    "with a socket on\ndescriptor 3 for the answer; not for use by "
	    "hand.\n");
}

static bool
number(const char *s, long long lo, long long hi, long long *v)
{
	char *end;

	*v = strtoll(s, &end, 10);
	return end != s && *end == '\0' && *v >= lo && *v <= hi;
}

int
cmd_schedule(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "last", required_argument, NULL, 'l' },
		{ "now", required_argument, NULL, 'N' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct schedule_args a;
	long long v;
	int c;
	bool bad = false;

	memset(&a, 0, sizeof a);
	a.now = -1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.spool = optarg;
			break;
		case 'n':
			a.name = optarg;
			break;
		case 'l':
			bad |= !number(optarg, 0, INT64_MAX / 2, &v);
			a.last = v;
			break;
		case 'N':
			bad |= !number(optarg, 0, INT64_MAX / 2, &v);
			a.now = v;
			break;
		case 'c':
			bad |= !number(optarg, 0, SCHEDULE_NEXT_MAX, &v);
			a.count = (int)v;
			break;
		case 'h':
			schedule_usage(stdout);
			return 0;
		default:
			schedule_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (bad || optind != argc || a.spool == NULL || a.spool[0] != '/' ||
	    a.name == NULL || strchr(a.name, '/') != NULL || a.now < 0) {
		schedule_usage(stderr);
		return EXIT_USAGE;
	}
	if (fcntl(SCHEDULE_CTL_FD, F_GETFD) == -1) {
		fprintf(stderr, "dagexec: __schedule: descriptor 3 is not open: "
		    "it is started by `dagexec watch`\n");
		return EXIT_USAGE;
	}
	return schedule_main(&a);
}
