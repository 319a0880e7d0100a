/* CUnit suite for manifest.c: every rule of interface §2, hostile input,
 * defaults, values, the graph. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "rng.h"
#include "fsutil.h"
#include "manifest.h"
#include "strbuf.h"
#include "strmap.h"
#include "xmalloc.h"

static char tmpdir[] = "/tmp/test_manifest.XXXXXX";

/* Parse text (len 0: strlen); the manifest or NULL, diagnostics in d. */
static struct manifest *
parse(const char *text, size_t len, struct diags *d, int *rc)
{
	struct manifest *m = NULL;

	diags_init(d);
	*rc = manifest_parse("t.yaml", text, len ? len : strlen(text), &m, d);
	return m;
}

static void
dump(const struct diags *d)
{
	diags_print(stderr, "t.yaml", d);
}

/* Whether d holds an entry at line:col whose message contains frag. */
static int
has_diag(const struct diags *d, int line, int col, const char *frag)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (d->v[i].line == line && d->v[i].col == col &&
		    strstr(d->v[i].msg, frag) != NULL)
			return 1;
	}
	return 0;
}

struct bad {
	const char	*what;
	const char	*text;
	int		 line;
	int		 col;
	const char	*frag;
};

#define OK_NODES "nodes:\n  a: {run: x}\n"

static const struct bad bad_cases[] = {
	/* other tools' keys, mapped to ours */
	{ "depends_on is needs",
	  "name: t\nnodes:\n  a: {run: x}\n  b:\n    run: y\n"
	  "    depends_on: [a]\n", 6, 5,
	  "unknown key 'depends_on' (did you mean 'needs'?)" },
	{ "dependencies is needs",
	  "name: t\nnodes:\n  a: {run: x, dependencies: []}\n", 3, 15,
	  "unknown key 'dependencies' (did you mean 'needs'?)" },
	{ "command is run",
	  "name: t\nnodes:\n  a: {command: x}\n", 3, 7,
	  "unknown key 'command' (did you mean 'run'?)" },
	{ "cmd is run",
	  "name: t\nnodes:\n  a: {run: x, cmd: x}\n", 3, 15,
	  "unknown key 'cmd' (did you mean 'run'?)" },
	{ "script is run",
	  "name: t\nnodes:\n  a: {run: x, script: x}\n", 3, 15,
	  "unknown key 'script' (did you mean 'run'?)" },
	{ "steps is nodes",
	  "name: t\nsteps: {}\n" OK_NODES, 2, 1,
	  "unknown key 'steps' (did you mean 'nodes'?)" },
	{ "tasks is nodes",
	  "name: t\ntasks: {}\n" OK_NODES, 2, 1,
	  "unknown key 'tasks' (did you mean 'nodes'?)" },
	{ "retry is retries",
	  "name: t\nnodes:\n  a: {run: x, retry: 2}\n", 3, 15,
	  "unknown key 'retry' (did you mean 'retries'?)" },
	{ "a foreign key is not offered where ours is not a key",
	  "name: t\nnodes:\n  a: {run: x, cache: {command: x}}\n", 3, 23,
	  "unknown cache key 'command'" },
	/* tabs are named as tabs */
	{ "a tab indents",
	  "name: t\nnodes:\n  a:\n\trun: x\n", 4, 1,
	  "a tab at 4:1: YAML indents with spaces" },
	{ "a tab after spaces",
	  "name: t\nnodes:\n  a:\n  \trun: x\n", 4, 3,
	  "a tab at 4:3: YAML indents with spaces" },
	{ "a tab in a block",
	  "name: t\nnodes:\n  a:\n    run: x\n\tneeds: []\n", 5, 1,
	  "a tab at 5:1: YAML indents with spaces" },
	{ "a reserved indicator",
	  "name: t\nnodes:\n  a: {run: @x}\n", 3, 12,
	  "'@' cannot start a plain value in YAML: quote the value" },
	/* units are listed, and the form meant offered */
	{ "duration in words",
	  "name: t\nnodes:\n  a: {run: x, timeout: 10 minutes}\n", 3, 24,
	  "invalid duration '10 minutes' for 'timeout': not a duration (did "
	  "you mean '10m'? units: ms, s, m, h, d" },
	{ "duration without a unit we know",
	  "name: t\nnodes:\n  a: {run: x, timeout: soon}\n", 3, 24,
	  "not a duration (units: ms, s, m, h, d" },
	{ "size in words",
	  "name: t\nnodes:\n  a: {run: x, log_limit: 10 MB}\n", 3, 26,
	  "invalid size '10 MB' for 'log_limit': not a size (did you mean "
	  "'10M'? units: K, M, G, T" },
	/* a need close to a node's id */
	{ "needs a misspelt node",
	  "name: t\nnodes:\n  fetch-data: {run: x}\n"
	  "  b: {run: y, needs: [fetch_data]}\n", 4, 23,
	  "node 'b' needs unknown node 'fetch_data' (did you mean "
	  "'fetch-data'?)" },
	{ "unknown top key with suggestion",
	  "name: t\nmax_paralel: 2\n" OK_NODES, 2, 1,
	  "unknown key 'max_paralel' (did you mean 'max_parallel'?)" },
	{ "unknown key without suggestion",
	  "name: t\nzzzzzz: 2\n" OK_NODES, 2, 1, "unknown key 'zzzzzz'" },
	{ "node key at the top level",
	  "name: t\nretries: 2\n" OK_NODES, 2, 1,
	  "unknown key 'retries' (a node key: set it in a node or under "
	  "'defaults')" },
	{ "top-level key in a node",
	  "name: t\nnodes:\n  a: {run: x, deadline: 1h}\n", 3, 15,
	  "unknown key 'deadline' (it belongs at the top level)" },
	{ "null http url",
	  "name: t\nnodes:\n  a:\n    http: {url: ~}\n", 4, 17,
	  "'url' must be a string, not null" },
	{ "control characters are not echoed",
	  "name: t\n\"a\\e[31mb\": 1\n" OK_NODES, 2, 1,
	  "unknown key 'a?[31mb'" },
	{ "duplicate top key",
	  "name: t\nname: u\n" OK_NODES, 2, 1,
	  "duplicate key 'name' (first at line 1)" },
	{ "duplicate node key",
	  "name: t\nnodes:\n  a:\n    run: x\n    retries: 1\n    retries: 2\n",
	  6, 5, "duplicate key 'retries' (first at line 5)" },
	{ "duplicate key deep inside",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {cpu: 2s, cpu: 3s}\n",
	  5, 23, "duplicate key 'cpu' (first at line 5)" },
	{ "duplicate node id",
	  "name: t\nnodes:\n  a: {run: x}\n  a: {run: y}\n", 4, 3,
	  "duplicate node id 'a' (first at line 3)" },
	{ "missing name",
	  OK_NODES, 1, 1, "missing required key 'name'" },
	{ "missing nodes",
	  "retries: 1\nname: t\n", 1, 1, "missing required key 'nodes'" },
	{ "null name",
	  "name:\n" OK_NODES, 1, 6, "'name' must be a string, not null" },
	{ "node with none of run argv http",
	  "name: t\nnodes:\n  a: {retries: 1}\n", 3, 3,
	  "node 'a' has none of 'run', 'argv', 'http'" },
	{ "http node on slurm",
	  "name: t\nnodes:\n  a:\n    http: {url: 'http://x/'}\n"
	  "    executor: slurm\n", 3, 3,
	  "node 'a': an http node runs locally, not on 'slurm'" },
	{ "node with two of run argv http",
	  "name: t\nnodes:\n  a:\n    run: x\n    argv: [y]\n", 5, 5,
	  "node 'a' has more than one of 'run', 'argv', 'http'" },
	{ "needs unknown node",
	  "name: t\nnodes:\n  a: {run: x, needs: [b]}\n", 3, 23,
	  "node 'a' needs unknown node 'b'" },
	{ "needs unknown node, single string",
	  "name: t\nnodes:\n  a: {run: x}\n  b:\n    run: x\n    needs: c\n",
	  6, 12, "node 'b' needs unknown node 'c'" },
	{ "needs itself",
	  "name: t\nnodes:\n  a: {run: x, needs: [a]}\n", 3, 23,
	  "node 'a' needs itself" },
	{ "cycle",
	  "name: t\nnodes:\n  z: {run: x}\n  a: {run: x, needs: [c]}\n"
	  "  b: {run: x, needs: [a]}\n  c: {run: x, needs: [b, z]}\n",
	  4, 3, "dependency cycle: a -> b -> c -> a" },
	{ "invalid node id",
	  "name: t\nnodes:\n  a b: {run: x}\n", 3, 3, "invalid node id 'a b'" },
	{ "node id too long",
	  "name: t\nnodes:\n  "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  ": {run: x}\n", 3, 3, "invalid node id" },
	{ "invalid name",
	  "name: a/b\n" OK_NODES, 1, 7, "invalid name 'a/b'" },
	{ "invalid pool name",
	  "name: t\npools: {'a b': 1}\n" OK_NODES, 2, 9,
	  "invalid pool name 'a b'" },
	{ "wrong type mapping",
	  "name: t\nnodes:\n  a:\n    run: x\n    retries: {a: 1}\n", 5, 14,
	  "'retries' must be an integer, not a mapping" },
	{ "out of range",
	  "name: t\nnodes:\n  a:\n    run: x\n    retries: 101\n", 5, 14,
	  "'retries' must be between 0 and 100" },
	{ "integer as a number",
	  "name: t\nmax_parallel: 1.5\n" OK_NODES, 2, 15,
	  "'max_parallel' must be an integer, not a number" },
	{ "max_parallel out of range",
	  "name: t\nmax_parallel: 0\n" OK_NODES, 2, 15,
	  "'max_parallel' must be between 1 and 100000" },
	{ "invalid duration",
	  "name: t\nnodes:\n  a:\n    run: x\n    timeout: 10x\n", 5, 14,
	  "invalid duration '10x' for 'timeout': unknown unit 'x'" },
	{ "zero timeout",
	  "name: t\nnodes:\n  a:\n    run: x\n    timeout: 0\n", 5, 14,
	  "'timeout' must be greater than 0" },
	{ "duration overflow",
	  "name: t\ndeadline: 9999999999999999d\n" OK_NODES, 2, 11,
	  "out of range" },
	{ "log_limit too small",
	  "name: t\nnodes:\n  a:\n    run: x\n    log_limit: 100\n", 5, 16,
	  "'log_limit' must be at least 1K" },
	{ "invalid size",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {memory: 5Q}\n", 5,
	  22, "invalid size '5Q' for 'memory'" },
	{ "yes is not a boolean",
	  "name: t\nnodes:\n  a:\n    run: x\n    allow_failure: yes\n", 5, 20,
	  "'allow_failure' must be a boolean" },
	{ "invalid enum",
	  "name: t\nschedule: fast\n" OK_NODES, 2, 11,
	  "invalid schedule 'fast' (expected critical-path or waves)" },
	{ "on_failure",
	  "name: t\non_failure: maybe\n" OK_NODES, 2, 13,
	  "invalid on_failure 'maybe'" },
	{ "env name",
	  "name: t\nenv: {1X: y}\n" OK_NODES, 2, 7,
	  "invalid environment variable name '1X'" },
	{ "env reserved",
	  "name: t\nenv: {DAGEXEC_JOB: y}\n" OK_NODES, 2, 7,
	  "'DAGEXEC_JOB' is reserved" },
	{ "env value not a scalar",
	  "name: t\nenv: {A: [1]}\n" OK_NODES, 2, 10,
	  "'A' must be a string, not a sequence" },
	{ "workdir relative",
	  "name: t\nworkdir: srv/x\n" OK_NODES, 2, 10,
	  "'workdir' must be an absolute path" },
	{ "budget not a number",
	  "name: t\nbudget: {tokens: lots}\n" OK_NODES, 2, 18,
	  "'tokens' must be a number, not a string" },
	{ "budget not positive",
	  "name: t\nbudget: {cost: 0}\n" OK_NODES, 2, 16,
	  "'cost' must be greater than 0" },
	{ "budget name",
	  "name: t\nbudget: {9x: 1}\n" OK_NODES, 2, 10,
	  "invalid budget name '9x'" },
	{ "pool cap",
	  "name: t\npools: {net: 0}\n" OK_NODES, 2, 14,
	  "'net' must be between 1 and 100000" },
	{ "unknown pool with suggestion",
	  "name: t\npools: {gpus: 1}\nnodes:\n  a: {run: x, pool: gpu}\n", 4,
	  21, "unknown pool 'gpu' (did you mean 'gpus'?)" },
	{ "notify without url",
	  "name: t\nnotify: {on: [failure]}\n" OK_NODES, 2, 9,
	  "missing required key 'url' in 'notify'" },
	{ "notify url scheme",
	  "name: t\nnotify: {url: 'ftp://x/'}\n" OK_NODES, 2, 15,
	  "'url' must start with http:// or https://" },
	{ "notify insecure remote",
	  "name: t\nnotify: {url: 'https://example.com/', insecure: true}\n"
	  OK_NODES, 2, 49, "only allowed for a loopback host" },
	{ "notify on",
	  "name: t\nnotify: {url: 'http://localhost/', on: [sometimes]}\n"
	  OK_NODES, 2, 41, "invalid notify event 'sometimes'" },
	{ "needs default",
	  "name: t\ndefaults: {needs: [a]}\n" OK_NODES, 2, 12,
	  "'needs' cannot have a default" },
	{ "run default",
	  "name: t\ndefaults:\n  run: x\n" OK_NODES, 3, 3,
	  "'run' cannot have a default" },
	{ "unknown default key",
	  "name: t\ndefaults:\n  retires: 2\n" OK_NODES, 3, 3,
	  "unknown key 'retires' (did you mean 'retries'?)" },
	{ "unknown node key",
	  "name: t\nnodes:\n  a: {run: x, timout: 1s}\n", 3, 15,
	  "unknown key 'timout' (did you mean 'timeout'?)" },
	{ "absolute output",
	  "name: t\nnodes:\n  a: {run: x, outputs: [ok.txt, /etc/passwd]}\n",
	  3, 33, "path '/etc/passwd' in 'outputs' must be relative" },
	{ "dotdot output",
	  "name: t\nnodes:\n  a: {run: x, outputs: [a/../../b]}\n", 3, 25,
	  "must not contain '..'" },
	{ "http without url",
	  "name: t\nnodes:\n  a:\n    http: {method: GET}\n", 4, 11,
	  "missing required key 'url' in 'http'" },
	{ "http method",
	  "name: t\nnodes:\n  a:\n"
	  "    http: {url: 'http://h/', method: FETCH}\n",
	  4, 38, "invalid method 'FETCH'" },
	{ "http body and body_file",
	  "name: t\nnodes:\n  a:\n    http:\n      url: http://h/\n"
	  "      body: x\n      body_file: b.json\n", 7, 7,
	  "'body' and 'body_file' cannot both be set" },
	{ "http sha256",
	  "name: t\nnodes:\n  a:\n    http: {url: 'http://h/', sha256: abc}\n",
	  4, 38, "'sha256' must be 64 hexadecimal digits" },
	{ "http expect",
	  "name: t\nnodes:\n  a:\n"
	  "    http: {url: 'http://h/', expect: [200, 600]}"
	  "\n", 4, 44, "'expect' must be between 100 and 599" },
	{ "http insecure remote",
	  "name: t\nnodes:\n  a:\n    http:\n      url: https://10.0.0.1/x\n"
	  "      insecure: true\n", 6, 17, "only allowed for a loopback host" },
	{ "http insecure, a loopback-looking user name",
	  "name: t\nnodes:\n  a:\n    http:\n"
	  "      url: https://127.0.0.1@evil/\n"
	  "      insecure: true\n", 6, 17, "only allowed for a loopback host" },
	{ "http unknown key",
	  "name: t\nnodes:\n  a:\n    http: {url: 'http://h/', headrs: {}}\n",
	  4, 30, "unknown key 'headrs' (did you mean 'headers'?)" },
	{ "http save absolute",
	  "name: t\nnodes:\n  a:\n    http: {url: 'http://h/', save: /x}\n",
	  4, 36, "must be relative" },
	{ "limits cpu below a second",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {cpu: 500ms}\n", 5,
	  19, "'cpu' must be at least 1s" },
	{ "limits unknown",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {memroy: 1G}\n", 5,
	  14, "unknown limit 'memroy' (did you mean 'memory'?)" },
	{ "limits nofile",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {nofile: 0}\n", 5,
	  22, "'nofile' must be between 1" },
	{ "limits cpus too small",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {cpus: 0.001}\n", 5,
	  20, "'cpus' must be between 0.01 and 4096" },
	{ "limits cpus not a number",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {cpus: two}\n", 5,
	  20, "'cpus' must be a number of CPUs (such as 1.5), not a string" },
	{ "limits pids",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {pids: 0}\n", 5,
	  20, "'pids' must be between 1" },
	{ "limits best_effort",
	  "name: t\nnodes:\n  a:\n    run: x\n    limits: {best_effort: 1}\n",
	  5, 27, "'best_effort' must be a boolean" },
	{ "retry_on class",
	  "name: t\nnodes:\n  a:\n    run: x\n"
	  "    retry_on: [exit, upstream_failed]"
	  "\n", 5, 22, "invalid retry_on class 'upstream_failed'" },
	{ "retry_on exit status 0",
	  "name: t\nnodes:\n  a:\n    run: x\n"
	  "    retry_on: [timeout, \"exit:0\"]\n", 5, 25,
	  "invalid retry_on exit status 'exit:0' (N and M between 1 and 255" },
	{ "retry_on exit range reversed",
	  "name: t\nnodes:\n  a:\n    run: x\n"
	  "    retry_on: [\"exit:113-100\"]\n", 5, 16,
	  "invalid retry_on exit status 'exit:113-100'" },
	{ "retry_on exit not a number",
	  "name: t\nnodes:\n  a:\n    run: x\n"
	  "    retry_on: [\"exit:x\"]\n", 5, 16,
	  "invalid retry_on exit status 'exit:x' (expected exit:N or "
	  "exit:N-M)" },
	{ "retry_on exit over 255",
	  "name: t\nnodes:\n  a:\n    run: x\n"
	  "    retry_on: [\"exit:1-256\"]\n", 5, 16,
	  "invalid retry_on exit status 'exit:1-256'" },
	{ "jitter",
	  "name: t\nnodes:\n  a:\n    run: x\n    jitter: 2\n", 5, 13,
	  "'jitter' must be a boolean" },
	{ "node budget zero",
	  "name: t\nnodes:\n  a:\n    run: x\n    budget: {tokens: 0}\n", 5,
	  22, "'tokens' must be greater than 0" },
	{ "node budget name",
	  "name: t\nnodes:\n  a:\n    run: x\n    budget: {'a b': 1}\n", 5,
	  14, "invalid budget name 'a b'" },
	{ "node budget not a map",
	  "name: t\nnodes:\n  a:\n    run: x\n    budget: 5\n", 5, 13,
	  "'budget' must be a mapping" },
	{ "secret relative path",
	  "name: t\nnodes:\n  a:\n    run: x\n    secrets: {K: k.txt}\n", 5,
	  18, "secret 'K': the file must be an absolute path or start with "
	  "'~/', not 'k.txt'" },
	{ "secret name",
	  "name: t\nnodes:\n  a:\n    run: x\n    secrets: {1K: /k}\n", 5,
	  15, "invalid secret name '1K'" },
	{ "secret reserved name",
	  "name: t\nsecrets: {DAGEXEC_K: /k}\n" OK_NODES, 2, 11,
	  "secret name 'DAGEXEC_K' is reserved" },
	{ "secret null",
	  "name: t\nsecrets: {K: ~}\n" OK_NODES, 2, 14,
	  "secret 'K' must name a file, not null" },
	{ "secret a directory",
	  "name: t\nsecrets: {K: /run/}\n" OK_NODES, 2, 14,
	  "secret 'K': '/run/' names a directory, not a file" },
	{ "secrets not a map",
	  "name: t\nsecrets: [/k]\n" OK_NODES, 2, 10,
	  "'secrets' must be a mapping" },
	{ "secret on slurm",
	  "name: t\nnodes:\n  a:\n    run: x\n    executor: slurm\n"
	  "    secrets: {K: /k}\n", 3, 3,
	  "node 'a' runs on slurm: secrets are refused there (the batch "
	  "script would hold them)" },
	{ "top-level secret reaching a slurm node",
	  "name: t\nsecrets: {K: /k}\ndefaults: {executor: slurm}\nnodes:\n"
	  "  a: {run: x}\n", 5, 3,
	  "set the manifest's secrets on the nodes that use them" },
	{ "secret also in env",
	  "name: t\nenv: {K: v}\nnodes:\n  a:\n    run: x\n"
	  "    secrets: {K: /k}\n", 4, 3,
	  "node 'a': 'K' is both in the manifest's 'env' and in 'secrets'" },
	{ "slurm cpus",
	  "name: t\nnodes:\n  a:\n    run: x\n    slurm: {cpus: 5000}\n", 5, 19,
	  "'cpus' must be between 1 and 4096" },
	{ "priority",
	  "name: t\nnodes:\n  a:\n    run: x\n    priority: -1000001\n", 5, 15,
	  "'priority' must be between -1000000 and 1000000" },
	{ "executor",
	  "name: t\nnodes:\n  a:\n    run: x\n    executor: k8s\n", 5, 15,
	  "invalid executor 'k8s' (expected local or slurm)" },
	{ "when",
	  "name: t\nnodes:\n  a:\n    run: x\n    when: sometimes\n", 5, 11,
	  "invalid when 'sometimes'" },
	{ "empty run",
	  "name: t\nnodes:\n  a: {run: ''}\n", 3, 12,
	  "'run' must not be empty" },
	{ "empty argv",
	  "name: t\nnodes:\n  a: {argv: []}\n", 3, 13,
	  "'argv' must not be empty" },
	{ "argv item not a string",
	  "name: t\nnodes:\n  a: {argv: [ls, {x: 1}]}\n", 3, 18,
	  "items of 'argv' must be strings, not a mapping" },
	{ "cache of the wrong type",
	  "name: t\nnodes:\n  a: {run: x, cache: 3}\n", 3, 22,
	  "'cache' must be a boolean or a mapping, not an integer" },
	{ "cache key misspelt",
	  "name: t\nnodes:\n  a: {run: x, cache: {inptus: [a]}}\n", 3, 23,
	  "unknown cache key 'inptus' (did you mean 'inputs'?)" },
	{ "cache input absolute",
	  "name: t\nnodes:\n  a: {run: x, cache: {inputs: [/etc/x]}}\n", 3,
	  32, "path '/etc/x' in 'cache.inputs' must be relative" },
	{ "cache env of dagexec",
	  "name: t\nnodes:\n  a: {run: x, cache: {env: [DAGEXEC_ATTEMPT]}}\n",
	  3, 28, "'cache.env' cannot name 'DAGEXEC_ATTEMPT' (DAGEXEC_ names "
	  "are dagexec's own)" },
	{ "cache max_age zero",
	  "name: t\nnodes:\n  a: {run: x, cache: {max_age: 0}}\n", 3, 32,
	  "'cache.max_age' must be greater than 0" },
	{ "sandbox of the wrong type",
	  "name: t\nnodes:\n  a: {run: x, sandbox: [strict]}\n", 3, 24,
	  "'sandbox' must be 'strict', 'none' or a mapping, not a sequence" },
	{ "sandbox profile unknown",
	  "name: t\nnodes:\n  a: {run: x, sandbox: lax}\n", 3, 24,
	  "invalid sandbox 'lax' (expected strict or none)" },
	{ "sandbox key misspelt",
	  "name: t\nnodes:\n  a: {run: x, sandbox: {best_efort: true}}\n", 3,
	  25, "unknown sandbox key 'best_efort' (did you mean 'best_effort'?)" },
	{ "sandbox path relative",
	  "name: t\nnodes:\n  a: {run: x, sandbox: {read: [data]}}\n", 3, 31,
	  "path 'data' in 'sandbox.read' must be absolute" },
	{ "sandbox connect port 0",
	  "name: t\nnodes:\n  a: {run: x, sandbox: {connect: [0]}}\n", 3, 35,
	  "'sandbox.connect' must be between 1 and 65535" },
	{ "sandbox bind port too large",
	  "name: t\nnodes:\n  a: {run: x, sandbox: {bind: 65536}}\n", 3, 31,
	  "'sandbox.bind' must be between 0 and 65535" },
	{ "sandbox on slurm",
	  "name: t\nnodes:\n  a: {run: x, executor: slurm, sandbox: strict}\n",
	  3, 3, "node 'a': 'sandbox' cannot be enforced on 'executor: slurm'" },
	{ "sandbox from defaults on slurm",
	  "name: t\ndefaults: {sandbox: strict}\nnodes:\n"
	  "  a: {run: x, executor: slurm}\n", 4, 3,
	  "'sandbox' (from defaults) cannot be enforced on 'executor: slurm'" },
	{ "node not a mapping",
	  "name: t\nnodes:\n  a: hello\n", 3, 6,
	  "node 'a' must be a mapping, not a string" },
	{ "nodes empty",
	  "name: t\nnodes: {}\n", 2, 8, "'nodes' must not be empty" },
	{ "nodes a sequence",
	  "name: t\nnodes: [a]\n", 2, 8,
	  "'nodes' must be a mapping of node id to node ('nodes: {fetch: "
	  "{run: ...}}'), not a sequence" },
	{ "key not a scalar",
	  "name: t\n? [a]\n: b\n" OK_NODES, 2, 3,
	  "a key must be a string, not a sequence" },
	{ "top level not a mapping",
	  "- a\n- b\n", 1, 1, "a manifest must be a mapping, not a sequence" },
	{ "top level a scalar",
	  "hello\n", 1, 1, "a manifest must be a mapping, not a string" },
	{ "yaml syntax error",
	  "name: t\nnodes: [a\n", 3, 1, "did not find expected ',' or ']'" },
	{ "yaml syntax error, indentation",
	  "name: t\n  nodes: x\n", 2, 8, "mapping values are not allowed" },
	{ "invalid utf-8",
	  "name: t\xff\n" OK_NODES, 1, 8, "invalid leading UTF-8 octet" },
	{ "empty manifest",
	  "", 0, 0, "empty manifest" },
	{ "only comments",
	  "# nothing\n\n   # here\n", 0, 0, "empty manifest" },
	{ "only a document marker",
	  "---\n", 0, 0, "empty manifest" },
	{ "two documents",
	  "name: t\n" OK_NODES "---\nname: u\n", 4, 1,
	  "more than one yaml document" },
	{ "unknown anchor",
	  "name: t\nnodes:\n  a: {run: x, needs: *nope}\n", 3, 22,
	  "unknown anchor 'nope'" },
	{ "recursive alias",
	  "name: t\nx: &a [*a]\n" OK_NODES, 2, 8, "unknown anchor 'a'" },
	{ "NUL in a double-quoted scalar",
	  "name: t\nnodes:\n  a: {run: \"x\\0y\"}\n", 3, 12,
	  "'run' contains a NUL character" },	{ "cron: a bad field, at its column",
	  "name: t\ncron: 0 61 * * *\n" OK_NODES, 2, 9,
	  "bad 'cron' expression '0 61 * * *': hour '61' is out of range "
	  "0-23" },
	{ "cron: quoted, at the column of its text",
	  "name: t\ncron: '*/5 * * foo *'\n" OK_NODES, 2, 16,
	  "unknown month name 'foo'" },
	{ "cron: four fields",
	  "name: t\ncron: 0 2 * *\n" OK_NODES, 2, 14,
	  "expected five fields" },
	{ "cron: never fires",
	  "name: t\ncron: 0 0 30 2 *\n" OK_NODES, 2, 11,
	  "never fires" },
	{ "cron: not a string",
	  "name: t\ncron: [0, 2]\n" OK_NODES, 2, 7,
	  "'cron' must be a string" },
	{ "timezone: unknown",
	  "name: t\ncron: '@daily'\ntimezone: Europe/Atlantis\n" OK_NODES,
	  3, 11, "unknown time zone 'Europe/Atlantis'" },
	{ "timezone: a path",
	  "name: t\ncron: '@daily'\ntimezone: ../../etc/passwd\n" OK_NODES,
	  3, 11, "is not a time zone name" },
	{ "overlap: unknown",
	  "name: t\ncron: '@daily'\noverlap: replace\n" OK_NODES, 3, 10,
	  "invalid overlap 'replace' (expected skip, queue or all)" },
	{ "catch_up: not a duration",
	  "name: t\ncron: '@daily'\ncatch_up: yes\n" OK_NODES, 3, 11,
	  "invalid duration 'yes' for 'catch_up'" },
	{ "timezone without cron",
	  "name: t\ntimezone: UTC\n" OK_NODES, 2, 1,
	  "'timezone' needs 'cron'" },
	{ "catch_up without cron",
	  "name: t\ncatch_up: 1h\n" OK_NODES, 2, 1,
	  "'catch_up' needs 'cron'" },
	{ "a cron expression under schedule",
	  "name: t\nschedule: 0 2 * * *\n" OK_NODES, 2, 11,
	  "a cron expression such as '0 2 * * *' goes under 'cron'" },
};

static void
test_bad_table(void)
{
	struct manifest *m;
	struct diags d;
	size_t i;
	int rc, ok;

	CU_ASSERT(sizeof bad_cases / sizeof bad_cases[0] >= 40);
	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		m = parse(bad_cases[i].text, 0, &d, &rc);
		ok = rc == 1 && m == NULL && has_diag(&d, bad_cases[i].line,
		    bad_cases[i].col, bad_cases[i].frag);
		if (!ok) {
			fprintf(stderr, "\ncase '%s': rc %d, want %d:%d '%s', "
			    "got:\n", bad_cases[i].what, rc, bad_cases[i].line,
			    bad_cases[i].col, bad_cases[i].frag);
			dump(&d);
		}
		CU_ASSERT(ok);
		/* Every message: lowercase start, no full stop. */
		if (d.n > 0) {
			CU_ASSERT(d.v[0].msg[strlen(d.v[0].msg) - 1] != '.');
		}
		manifest_free(m);
		diags_release(&d);
	}
}

/* What is not offered: a node's own id for its needs, a foreign key's
 * meaning where it is no key, a suggestion past the bound of the work. */
static void
test_no_hint(void)
{
	static const char *const texts[] = {
		"name: t\nnodes:\n  process: {run: x, needs: [proces]}\n",
		"name: t\nnodes:\n  a: {run: x, cache: {command: x}}\n",
		"name: t\ndepends_on: [a]\n" OK_NODES,
		"name: t\nnodes:\n  a: {run: x, needs: [zzz]}\n",
	};
	struct manifest *m;
	struct diags d;
	size_t i, k;
	int rc;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		m = parse(texts[i], 0, &d, &rc);
		CU_ASSERT(rc == 1 && m == NULL && d.n >= 1);
		for (k = 0; k < d.n; k++) {
			if (strstr(d.v[k].msg, "did you mean") != NULL)
				dump(&d);
			CU_ASSERT(strstr(d.v[k].msg, "did you mean") == NULL);
		}
		manifest_free(m);
		diags_release(&d);
	}
}

/* Needs misspelt in a big manifest: each is reported, suggestions stop
 * once their work is spent (the parse stays quick), and the first ones
 * are right. */
static void
test_hint_bound(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct manifest *m;
	struct diags d;
	size_t i, nsug = 0;
	char line[64];
	int rc;

	strbuf_str(&sb, "name: t\nnodes:\n");
	for (i = 0; i < 200000; i++) {
		snprintf(line, sizeof line, "  node-%06zu: {run: x%s}\n", i,
		    i % 1000 == 999 ? ", needs: [node_000001]" : "");
		strbuf_str(&sb, line);
	}
	m = parse(sb.s, sb.len, &d, &rc);
	CU_ASSERT(rc == 1 && m == NULL);
	CU_ASSERT_EQUAL(d.n, 200);
	for (i = 0; i < d.n; i++)
		if (strstr(d.v[i].msg, "(did you mean 'node-000001'?)"))
			nsug++;
	/* 4,000,000 ids compared at most: 20 lookups of 200,000 */
	CU_ASSERT_EQUAL(nsug, 20);
	manifest_free(m);
	diags_release(&d);
	free(sb.s);
}

/* A NUL byte: the position of the first one. */
/* A recurring manifest's keys, and their defaults. */
static void
test_cron_keys(void)
{
	struct manifest *m;
	struct diags d;
	int rc;

	m = parse("name: t\ncron: '  30\t2 * * mon-fri '\n"
	    "timezone: Europe/Berlin\noverlap: queue\ncatch_up: 2h\n"
	    OK_NODES, 0, &d, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->cron);
	CU_ASSERT_STRING_EQUAL(m->cron->expr, "30 2 * * mon-fri");
	CU_ASSERT_STRING_EQUAL(m->cron->timezone, "Europe/Berlin");
	CU_ASSERT_EQUAL(m->cron->overlap, OVERLAP_QUEUE);
	CU_ASSERT_EQUAL(m->cron->catch_up_ms, 7200000);
	manifest_free(m);
	diags_release(&d);
	m = parse("name: t\ncron: '@hourly'\n" OK_NODES, 0, &d, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->cron);
	CU_ASSERT_STRING_EQUAL(m->cron->expr, "@hourly");
	CU_ASSERT_PTR_NULL(m->cron->timezone);
	CU_ASSERT_EQUAL(m->cron->overlap, OVERLAP_SKIP);
	CU_ASSERT_EQUAL(m->cron->catch_up_ms, 0);
	manifest_free(m);
	diags_release(&d);
	m = parse("name: t\n" OK_NODES, 0, &d, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NULL(m->cron);
	manifest_free(m);
	diags_release(&d);
}

static void
test_nul(void)
{
	static const char text[] = "name: t\nnodes:\n  a: {r\0n: x}\0\n";
	struct manifest *m;
	struct diags d;
	int rc;

	m = parse(text, sizeof text - 1, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT(has_diag(&d, 3, 8, "NUL byte"));
	diags_release(&d);
}

static char *
repeat(const char *s, size_t n)
{
	size_t len = strlen(s), i;
	char *out = xmalloc(len * n + 1);

	for (i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[len * n] = '\0';
	return out;
}

/* Nesting: 64 levels are fine, 65 are not. */
static void
test_deep(void)
{
	struct manifest *m;
	struct diags d;
	char *open, *close, *text;
	int rc;

	/* The top mapping is level 1, x's value opens level 2. */
	open = repeat("[", MANIFEST_MAX_DEPTH - 1);
	close = repeat("]", MANIFEST_MAX_DEPTH - 1);
	text = xasprintf("name: t\nx: %s%s\n" OK_NODES, open, close);
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	/* within the bound: only the unknown key */
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT(has_diag(&d, 2, 1, "unknown key 'x'"));
	diags_release(&d);
	free(open);
	free(close);
	free(text);

	open = repeat("[", 10000);
	close = repeat("]", 10000);
	text = xasprintf("name: t\nx: %s%s\n" OK_NODES, open, close);
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	/* the 65th level opens at column 4 + 63 */
	CU_ASSERT(has_diag(&d, 2, 4 + MANIFEST_MAX_DEPTH - 1,
	    "nesting deeper than 64 levels"));
	if (!has_diag(&d, 2, 4 + MANIFEST_MAX_DEPTH - 1, "nesting"))
		dump(&d);
	diags_release(&d);
	free(open);
	free(close);
	free(text);
}

/* More than MANIFEST_MAX_ALIASES aliases; a classic billion-laughs bomb
 * (under the alias count) ends quickly; a wide alias fan-out is capped. */
static void
test_aliases(void)
{
	struct manifest *m;
	struct diags d;
	char *items, *text, *env;
	char **lines;
	size_t i, j;
	int rc;

	items = repeat("*a, ", MANIFEST_MAX_ALIASES);
	text = xasprintf("name: t\nx: &a 1\ny: [%s*a]\n" OK_NODES, items);
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(has_diag(&d, 3, 5 + 4 * MANIFEST_MAX_ALIASES,
	    "more than 100 aliases"));
	diags_release(&d);
	free(items);
	free(text);

	/* Exactly the bound of aliases works as YAML says. */
	items = repeat("*a, ", MANIFEST_MAX_ALIASES - 1);
	text = xasprintf("name: t\nnodes:\n  a:\n    argv: &a [echo, hi]\n"
	    "  b:\n    argv: [%secho]\n", items);
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);	/* items of argv are sequences */
	CU_ASSERT(has_diag(&d, 4, 11, "items of 'argv' must be strings"));
	diags_release(&d);
	free(items);
	free(text);

	/* Billion laughs: 9 levels of 10 aliases (90 < 100). */
	lines = xcalloc(10, sizeof *lines);
	lines[0] = xstrdup("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, "
	    "lol, lol]\n");
	for (i = 1; i < 10; i++) {
		lines[i] = xasprintf("l%zu: &l%zu [", i, i);
		for (j = 0; j < 10; j++) {
			char *t = lines[i];
			lines[i] = xasprintf("%s*l%zu%s", t, i - 1,
			    j == 9 ? "]\n" : ", ");
			free(t);
		}
	}
	text = xstrdup("name: t\nx:\n");
	for (i = 0; i < 10; i++) {
		char *t = text;
		text = xasprintf("%s  %s", t, lines[i]);
		free(t);
		free(lines[i]);
	}
	free(lines);
	{
		char *t = text;

		text = xasprintf("%snodes:\n  a: {argv: *l9, env: *l9}\n", t);
		free(t);
	}
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT(has_diag(&d, 2, 1, "unknown key 'x'"));
	CU_ASSERT(has_diag(&d, 11, 7, "items of 'argv' must be strings, not a "
	    "sequence"));
	CU_ASSERT(has_diag(&d, 12, 7, "'env' must be a mapping, not a "
	    "sequence"));
	CU_ASSERT(d.n < 100);
	diags_release(&d);
	free(text);

	/* Fan-out: a 20000-entry env shared by 100 nodes through aliases
	 * walks 2M entries: over the bound, refused. */
	env = xstrdup("");
	{
		size_t cap = 20000 * 16, len = 0;
		char *buf = xmalloc(cap);

		for (i = 0; i < 20000; i++)
			len += (size_t)snprintf(buf + len, cap - len,
			    "%sV%zu: x", i ? ", " : "", i);
		free(env);
		env = buf;
	}
	text = xasprintf("name: t\nenv: &e {%s}\nnodes:\n", env);
	for (i = 0; i < 100; i++) {
		char *t = text;
		text = xasprintf("%s  n%zu: {run: x, env: *e}\n", t, i);
		free(t);
	}
	free(env);
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT(has_diag(&d, 2, 6, "aliases expand to too many nodes"));
	if (!has_diag(&d, 2, 6, "aliases expand"))
		dump(&d);
	diags_release(&d);
	free(text);
}

/* Anchors and aliases otherwise work. */
static void
test_aliases_ok(void)
{
	static const char text[] =
	    "name: t\n"
	    "env: &e {A: '1', B: two}\n"
	    "nodes:\n"
	    "  a: &node {run: make, env: *e, retries: 2}\n"
	    "  b: *node\n"
	    "  c: {argv: &cmd [echo, hi], needs: [a, b]}\n"
	    "  d: {argv: *cmd}\n";
	struct manifest *m;
	struct diags d;
	int rc;

	m = parse(text, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(m->nnodes, 4);
	CU_ASSERT_EQUAL(m->env.n, 2);
	CU_ASSERT_STRING_EQUAL(m->nodes[1].run, "make");
	CU_ASSERT_EQUAL(m->nodes[1].retries, 2);
	CU_ASSERT_EQUAL(m->nodes[1].env.n, 2);
	CU_ASSERT_STRING_EQUAL(m->nodes[1].env.v[1].value, "two");
	CU_ASSERT_EQUAL(m->nodes[3].argc, 2);
	CU_ASSERT_STRING_EQUAL(m->nodes[3].argv[1], "hi");
	CU_ASSERT_PTR_NULL(m->nodes[3].argv[2]);
	manifest_free(m);
	diags_release(&d);
}

/* YAML merge keys: explicit keys win, then earlier merged mappings. */
static void
test_merge_keys(void)
{
	static const char text[] =
	    "name: t\n"
	    "nodes:\n"
	    "  a: &base {run: make, retries: 2, timeout: 10s}\n"
	    "  b:\n"
	    "    <<: *base\n"
	    "    retries: 3\n"
	    "  c:\n"
	    "    <<: [{retries: 5, env: {A: '1'}}, *base]\n";
	static const char bad[] =
	    "name: t\n"
	    "nodes:\n"
	    "  a: {run: x, <<: [hello]}\n"
	    "  b: {run: x, \"<<\": {}}\n";
	struct manifest *m;
	struct diags d;
	int rc;

	m = parse(text, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(m->nodes[1].run, "make");
	CU_ASSERT_EQUAL(m->nodes[1].retries, 3);
	CU_ASSERT_EQUAL(m->nodes[1].timeout_ms, 10000);
	CU_ASSERT_STRING_EQUAL(m->nodes[2].run, "make");
	CU_ASSERT_EQUAL(m->nodes[2].retries, 5);
	CU_ASSERT_EQUAL(m->nodes[2].env.n, 1);
	manifest_free(m);
	diags_release(&d);

	/* 60 merges of a 20000-pair mapping: past the bound */
	{
		size_t cap = 1 << 20, len = 0, i;
		char *big = xmalloc(cap);

		len += (size_t)snprintf(big + len, cap - len,
		    "name: t\nx: &m {");
		for (i = 0; i < 20000; i++)
			len += (size_t)snprintf(big + len, cap - len,
			    "%sk%zu: 1", i ? ", " : "", i);
		len += (size_t)snprintf(big + len, cap - len, "}\ny: [");
		for (i = 0; i < 60; i++)
			len += (size_t)snprintf(big + len, cap - len,
			    "{<<: *m}, ");
		len += (size_t)snprintf(big + len, cap - len, "]\n" OK_NODES);
		m = parse(big, len, &d, &rc);
		CU_ASSERT_EQUAL(rc, 1);
		CU_ASSERT_PTR_NULL(m);
		CU_ASSERT(has_diag(&d, 2, 4, "merge keys expand to too many "
		    "entries"));
		if (!has_diag(&d, 2, 4, "merge keys"))
			dump(&d);
		diags_release(&d);
		free(big);
	}

	m = parse(bad, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(d.n, 2);
	CU_ASSERT(has_diag(&d, 3, 20, "a merge key ('<<') takes a mapping or "
	    "a sequence of mappings, not a string"));
	CU_ASSERT(has_diag(&d, 4, 15, "unknown key '<<'"));
	if (d.n != 2)
		dump(&d);
	diags_release(&d);
}

/* Several errors: all reported, sorted by position. */
static void
test_many_errors(void)
{
	static const char text[] =
	    "name: bad name\n"			/* 1:7 */
	    "max_paralel: 3\n"			/* 2:1 */
	    "nodes:\n"
	    "  b: {run: x, argv: [y]}\n"	/* 4:15 */
	    "  a:\n"
	    "    run: x\n"
	    "    needs: [c, a, zz]\n"		/* 7:16, 7:19 */
	    "    retries: {}\n"			/* 8:14 */
	    "    timeout: 10x\n"		/* 9:14 */
	    "  c: {run: z, pool: gpu}\n"	/* 10:21 */
	    "  d: {}\n"				/* 11:3 */
	    "  b: {run: x}\n";			/* 12:3 */
	static const struct { int line, col; const char *frag; } want[] = {
		{ 1, 7, "invalid name 'bad name'" },
		{ 2, 1, "unknown key 'max_paralel'" },
		{ 4, 15, "more than one of" },
		{ 7, 16, "needs itself" },
		{ 7, 19, "needs unknown node 'zz'" },
		{ 8, 14, "'retries' must be an integer, not a mapping" },
		{ 9, 14, "invalid duration '10x'" },
		{ 10, 21, "unknown pool 'gpu'" },
		{ 11, 3, "node 'd' has none of" },
		{ 12, 3, "duplicate node id 'b' (first at line 4)" },
	};
	struct manifest *m;
	struct diags d;
	size_t i;
	int rc;

	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(d.n, sizeof want / sizeof want[0]);
	if (d.n != sizeof want / sizeof want[0])
		dump(&d);
	for (i = 0; i < d.n && i < sizeof want / sizeof want[0]; i++) {
		CU_ASSERT_EQUAL(d.v[i].line, want[i].line);
		CU_ASSERT_EQUAL(d.v[i].col, want[i].col);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.v[i].msg, want[i].frag));
	}
	diags_release(&d);
}

/* Every field of the interface example, parsed to its value. */
static void
test_full(void)
{
	static const char text[] =
	    "name: research-pipeline\n"
	    "max_parallel: 4\n"
	    "schedule: waves\n"
	    "on_failure: abort\n"
	    "deadline: 2h\n"
	    "budget: {tokens: 200000, cost: 5.5}\n"
	    "env: {LANG: C.UTF-8, N: 5, B: true, E: ''}\n"
	    "workdir: /srv/data/run\n"
	    "pools: {net: 2, gpu: 1}\n"
	    "notify:\n"
	    "  url: http://127.0.0.1:8080/hook\n"
	    "  on: [failure]\n"
	    "  insecure: true\n"
	    "nodes:\n"
	    "  gather-sources:\n"
	    "    run: ./gather.sh > sources.txt\n"
	    "    outputs: [sources.txt, out/a.csv]\n"
	    "  validate-sources:\n"
	    "    needs: [gather-sources, gather-sources]\n"
	    "    argv: [python3, validate.py, sources.txt]\n"
	    "    retries: 3\n"
	    "    retry_delay: 1.5s\n"
	    "    backoff: fixed\n"
	    "    max_retry_delay: 1m\n"
	    "    timeout: 30s\n"
	    "    limits:\n"
	    "      cpu: 20s\n"
	    "      memory: 512M\n"
	    "      fsize: 1G\n"
	    "      nofile: 256\n"
	    "      nproc: 64\n"
	    "      pids: 100\n"
	    "      cpus: 1.5\n"
	    "      best_effort: true\n"
	    "      core: 0\n"
	    "    log_limit: 64K\n"
	    "    retry_on: [exit, signal, spawn_error]\n"
	    "    priority: -5\n"
	    "    estimate: 2m\n"
	    "    executor: slurm\n"
	    "    slurm: {partition: gpu, account: lab, qos: high, "
	    "gres: 'gpu:1',"
	    " cpus: 8, mem: 16G, time: 1h, extra: [--exclusive]}\n"
	    "  fetch-index:\n"
	    "    pool: net\n"
	    "    http:\n"
	    "      url: https://localhost:8443/index.csv\n"
	    "      method: post\n"
	    "      headers: {Accept: text/csv, X-N: 1}\n"
	    "      body_file: req/body.json\n"
	    "      save: index.csv\n"
	    "      sha256: 9F86D081884C7D659A2FEAA0C55AD015"
	    "A3BF4F1B2B0B822CD15D6C15B0F00A08\n"
	    "      expect: [200, 204]\n"
	    "      follow_redirects: false\n"
	    "      max_bytes: 1M\n"
	    "      insecure: true\n"
	    "  cleanup:\n"
	    "    needs: [validate-sources, fetch-index]\n"
	    "    when: always\n"
	    "    run: rm -rf scratch\n"
	    "    allow_failure: true\n";
	struct manifest *m;
	struct diags d;
	struct node *n;
	int rc;

	m = parse(text, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(m->name, "research-pipeline");
	CU_ASSERT_EQUAL(m->max_parallel, 4);
	CU_ASSERT_EQUAL(m->schedule, SCHEDULE_WAVES);
	CU_ASSERT_EQUAL(m->on_failure, ONFAIL_ABORT);
	CU_ASSERT_EQUAL(m->deadline_ms, 7200000);
	CU_ASSERT_EQUAL_FATAL(m->nbudget, 2);
	CU_ASSERT_STRING_EQUAL(m->budget[0].name, "tokens");
	CU_ASSERT_DOUBLE_EQUAL(m->budget[0].limit, 200000, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(m->budget[1].limit, 5.5, 1e-9);
	CU_ASSERT_EQUAL_FATAL(m->env.n, 4);
	CU_ASSERT_STRING_EQUAL(m->env.v[0].key, "LANG");
	CU_ASSERT_STRING_EQUAL(m->env.v[0].value, "C.UTF-8");
	CU_ASSERT_STRING_EQUAL(m->env.v[1].value, "5");
	CU_ASSERT_STRING_EQUAL(m->env.v[2].value, "true");
	CU_ASSERT_STRING_EQUAL(m->env.v[3].value, "");
	CU_ASSERT_STRING_EQUAL(m->workdir, "/srv/data/run");
	CU_ASSERT_EQUAL_FATAL(m->npools, 2);
	CU_ASSERT_STRING_EQUAL(m->pools[1].name, "gpu");
	CU_ASSERT_EQUAL(m->pools[0].cap, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->notify);
	CU_ASSERT_STRING_EQUAL(m->notify->url, "http://127.0.0.1:8080/hook");
	CU_ASSERT_EQUAL(m->notify->on, NOTIFY_ON_FAILURE);
	CU_ASSERT(m->notify->insecure);
	CU_ASSERT_EQUAL_FATAL(m->nnodes, 4);

	n = &m->nodes[0];
	CU_ASSERT_STRING_EQUAL(n->id, "gather-sources");
	CU_ASSERT_EQUAL(n->pos.line, 15);
	CU_ASSERT_EQUAL(n->pos.col, 3);
	CU_ASSERT_EQUAL(n->kind, NODE_RUN);
	CU_ASSERT_STRING_EQUAL(n->run, "./gather.sh > sources.txt");
	CU_ASSERT_EQUAL(n->noutputs, 2);
	CU_ASSERT_STRING_EQUAL(n->outputs[1], "out/a.csv");
	/* defaults of the header */
	CU_ASSERT_EQUAL(n->retries, 0);
	CU_ASSERT_EQUAL(n->retry_delay_ms, 1000);
	CU_ASSERT_EQUAL(n->backoff, BACKOFF_EXPONENTIAL);
	CU_ASSERT_EQUAL(n->max_retry_delay_ms, 300000);
	CU_ASSERT_EQUAL(n->timeout_ms, 0);
	CU_ASSERT_PTR_NULL(n->limits);
	CU_ASSERT_EQUAL(n->log_limit, 10 << 20);
	CU_ASSERT_EQUAL(n->retry_on, (1u << REASON_EXIT) |
	    (1u << REASON_SIGNAL) | (1u << REASON_TIMEOUT) |
	    (1u << REASON_RLIMIT_CPU) | (1u << REASON_RLIMIT_FSIZE) |
	    (1u << REASON_OUTPUT_MISSING) | (1u << REASON_HTTP_STATUS) |
	    (1u << REASON_CHECKSUM) | (1u << REASON_LOST) |
	    (1u << REASON_OOM));
	CU_ASSERT_EQUAL(n->when, WHEN_SUCCESS);
	CU_ASSERT(!n->allow_failure);
	CU_ASSERT_PTR_NULL(n->pool);
	CU_ASSERT_EQUAL(n->pool_index, -1);
	CU_ASSERT_EQUAL(n->priority, 0);
	CU_ASSERT_EQUAL(n->estimate_ms, -1);
	CU_ASSERT_EQUAL(n->executor, EXECUTOR_LOCAL);
	CU_ASSERT_EQUAL(n->nneeds, 0);

	n = &m->nodes[1];
	CU_ASSERT_EQUAL(n->kind, NODE_ARGV);
	CU_ASSERT_EQUAL(n->argc, 3);
	CU_ASSERT_STRING_EQUAL(n->argv[0], "python3");
	CU_ASSERT_PTR_NULL(n->argv[3]);
	CU_ASSERT_EQUAL_FATAL(n->nneeds, 1);	/* duplicate removed */
	CU_ASSERT_EQUAL(n->needs[0], 0);
	CU_ASSERT_EQUAL(n->retries, 3);
	CU_ASSERT_EQUAL(n->retry_delay_ms, 1500);
	CU_ASSERT_EQUAL(n->backoff, BACKOFF_FIXED);
	CU_ASSERT_EQUAL(n->max_retry_delay_ms, 60000);
	CU_ASSERT_EQUAL(n->timeout_ms, 30000);
	CU_ASSERT_FATAL(n->limits != NULL);
	CU_ASSERT_EQUAL(n->limits->set, (1u << LIMIT__COUNT) - 1);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_CPU), 20000);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_MEMORY), 512LL << 20);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_FSIZE), 1LL << 30);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_NOFILE), 256);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_NPROC), 64);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_CORE), 0);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_PIDS), 100);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_CPUS), 1500);
	CU_ASSERT_EQUAL(node_limit(n, LIMIT_BEST_EFFORT), 1);
	CU_ASSERT_EQUAL(n->log_limit, 65536);
	CU_ASSERT_EQUAL(n->retry_on, (1u << REASON_EXIT) |
	    (1u << REASON_SIGNAL) | (1u << REASON_SPAWN_ERROR));
	CU_ASSERT_EQUAL(n->priority, -5);
	CU_ASSERT_EQUAL(n->estimate_ms, 120000);
	CU_ASSERT_EQUAL(n->executor, EXECUTOR_SLURM);
	CU_ASSERT_STRING_EQUAL(node_slurm(n)->partition, "gpu");
	CU_ASSERT_STRING_EQUAL(node_slurm(n)->account, "lab");
	CU_ASSERT_STRING_EQUAL(node_slurm(n)->qos, "high");
	CU_ASSERT_STRING_EQUAL(node_slurm(n)->gres, "gpu:1");
	CU_ASSERT_EQUAL(node_slurm(n)->cpus, 8);
	CU_ASSERT_EQUAL(node_slurm(n)->mem, 16LL << 30);
	CU_ASSERT_EQUAL(node_slurm(n)->time_ms, 3600000);
	CU_ASSERT_EQUAL_FATAL(node_slurm(n)->nextra, 1);
	CU_ASSERT_STRING_EQUAL(node_slurm(n)->extra[0], "--exclusive");

	n = &m->nodes[2];
	CU_ASSERT_EQUAL(n->kind, NODE_HTTP);
	CU_ASSERT_STRING_EQUAL(n->pool, "net");
	CU_ASSERT_EQUAL(n->pool_index, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n->http);
	CU_ASSERT_STRING_EQUAL(n->http->url,
	    "https://localhost:8443/index.csv");
	CU_ASSERT_STRING_EQUAL(n->http->method, "POST");
	CU_ASSERT_EQUAL_FATAL(n->http->headers.n, 2);
	CU_ASSERT_STRING_EQUAL(n->http->headers.v[1].key, "X-N");
	CU_ASSERT_STRING_EQUAL(n->http->headers.v[1].value, "1");
	CU_ASSERT_PTR_NULL(n->http->body);
	CU_ASSERT_STRING_EQUAL(n->http->body_file, "req/body.json");
	CU_ASSERT_STRING_EQUAL(n->http->save, "index.csv");
	CU_ASSERT_STRING_EQUAL(n->http->sha256,
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	CU_ASSERT_EQUAL_FATAL(n->http->nexpect, 2);
	CU_ASSERT_EQUAL(n->http->expect[1], 204);
	CU_ASSERT(!n->http->follow_redirects);
	CU_ASSERT_EQUAL(n->http->max_bytes, 1 << 20);
	CU_ASSERT(n->http->insecure);

	n = &m->nodes[3];
	CU_ASSERT_EQUAL(n->when, WHEN_ALWAYS);
	CU_ASSERT(n->allow_failure);
	CU_ASSERT_EQUAL_FATAL(n->nneeds, 2);
	CU_ASSERT_EQUAL(n->needs[0], 1);
	CU_ASSERT_EQUAL(n->needs[1], 2);

	/* ids and the graph */
	CU_ASSERT_EQUAL(manifest_find(m, "cleanup"), 3);
	CU_ASSERT_EQUAL(manifest_find(m, "fetch-index"), 2);
	CU_ASSERT_EQUAL(manifest_find(m, "nope"), -1);
	CU_ASSERT_EQUAL(m->graph.n, 4);
	CU_ASSERT_EQUAL(m->graph.nwaves, 3);
	CU_ASSERT_EQUAL(m->graph.wave[0], 0);
	CU_ASSERT_EQUAL(m->graph.wave[1], 1);
	CU_ASSERT_EQUAL(m->graph.wave[2], 0);
	CU_ASSERT_EQUAL(m->graph.wave[3], 2);
	/* weights: estimate where set, one second where not */
	CU_ASSERT_EQUAL(m->graph.weight[1], 120000);
	CU_ASSERT_EQUAL(m->graph.weight[0], 1000);
	CU_ASSERT_EQUAL(m->graph.blevel[0], 1000 + 120000 + 1000);
	manifest_free(m);
	diags_release(&d);
}

/* Defaults: merged where a node is silent, overridden where it speaks;
 * env and limits key by key. */
static void
test_defaults(void)
{
	static const char text[] =
	    "name: d\n"
	    "pools: {net: 3}\n"
	    "defaults:\n"
	    "  timeout: 10m\n"
	    "  retries: 2\n"
	    "  env: {A: da, B: db}\n"
	    "  limits: {memory: 1G, nofile: 64}\n"
	    "  outputs: [log.txt]\n"
	    "  pool: net\n"
	    "  retry_on: [timeout]\n"
	    "  when: always\n"
	    "  slurm: {partition: p, extra: [-x]}\n"
	    "nodes:\n"
	    "  a: {run: x}\n"
	    "  b:\n"
	    "    run: y\n"
	    "    needs: a\n"
	    "    timeout: 5s\n"
	    "    retries: 0\n"
	    "    env: {B: nb, C: nc}\n"
	    "    limits: {memory: 2G}\n"
	    "    outputs: []\n"
	    "    when: success\n"
	    "  c:\n"
	    "    run: z\n"
	    "    env: {C0: a, C1: a, C2: a, C3: a, C4: a, C5: a, C6: a, C7: a,"
	    " A: mine}\n";
	struct manifest *m;
	struct diags d;
	struct node *a, *b;
	int rc;

	m = parse(text, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	a = &m->nodes[0];
	b = &m->nodes[1];
	CU_ASSERT_EQUAL(a->timeout_ms, 600000);
	CU_ASSERT_EQUAL(a->retries, 2);
	CU_ASSERT_EQUAL_FATAL(a->env.n, 2);
	CU_ASSERT_STRING_EQUAL(a->env.v[0].value, "da");
	CU_ASSERT_EQUAL(a->limits->set, (1u << LIMIT_MEMORY) |
	    (1u << LIMIT_NOFILE));
	CU_ASSERT_EQUAL(node_limit(a, LIMIT_MEMORY), 1LL << 30);
	CU_ASSERT_EQUAL_FATAL(a->noutputs, 1);
	CU_ASSERT_STRING_EQUAL(a->outputs[0], "log.txt");
	CU_ASSERT_STRING_EQUAL(a->pool, "net");
	CU_ASSERT_EQUAL(a->pool_index, 0);
	CU_ASSERT_EQUAL(a->retry_on, 1u << REASON_TIMEOUT);
	CU_ASSERT_EQUAL(a->when, WHEN_ALWAYS);
	CU_ASSERT_STRING_EQUAL(node_slurm(a)->partition, "p");
	CU_ASSERT_EQUAL_FATAL(node_slurm(a)->nextra, 1);
	CU_ASSERT_STRING_EQUAL(node_slurm(a)->extra[0], "-x");

	CU_ASSERT_EQUAL(b->timeout_ms, 5000);
	CU_ASSERT_EQUAL(b->retries, 0);
	CU_ASSERT_EQUAL_FATAL(b->env.n, 3);
	CU_ASSERT_STRING_EQUAL(b->env.v[0].key, "B");
	CU_ASSERT_STRING_EQUAL(b->env.v[0].value, "nb");
	CU_ASSERT_STRING_EQUAL(b->env.v[1].key, "C");
	CU_ASSERT_STRING_EQUAL(b->env.v[2].key, "A");
	CU_ASSERT_STRING_EQUAL(b->env.v[2].value, "da");
	CU_ASSERT_EQUAL(node_limit(b, LIMIT_MEMORY), 2LL << 30);
	CU_ASSERT_EQUAL(node_limit(b, LIMIT_NOFILE), 64);
	/* the defaults' limits are one record for the nodes silent on
	 * them; a node that speaks has its own, the defaults' untouched */
	CU_ASSERT(a->limits == m->nodes[2].limits);
	CU_ASSERT(b->limits != a->limits);
	CU_ASSERT_EQUAL(a->limits->refs, 2);
	CU_ASSERT_EQUAL(b->limits->refs, 1);
	CU_ASSERT_EQUAL(node_limit(&m->nodes[2], LIMIT_MEMORY), 1LL << 30);
	CU_ASSERT_EQUAL(b->noutputs, 0);
	CU_ASSERT_EQUAL(b->when, WHEN_SUCCESS);
	CU_ASSERT_EQUAL_FATAL(b->nneeds, 1);
	CU_ASSERT_EQUAL(b->needs[0], 0);
	/* more env keys than a linear search is used for */
	CU_ASSERT_EQUAL_FATAL(m->nodes[2].env.n, 10);
	CU_ASSERT_STRING_EQUAL(m->nodes[2].env.v[8].key, "A");
	CU_ASSERT_STRING_EQUAL(m->nodes[2].env.v[8].value, "mine");
	CU_ASSERT_STRING_EQUAL(m->nodes[2].env.v[9].key, "B");
	CU_ASSERT_STRING_EQUAL(m->nodes[2].env.v[9].value, "db");
	manifest_free(m);
	diags_release(&d);
}

/* cache: a boolean or a map, from defaults where a node has none. */
static void
test_cache(void)
{
	static const char text[] =
	    "name: c\n"
	    "defaults: {cache: {inputs: \"data/*.csv\", env: [PATH, HOME], "
	    "max_age: 7d}}\n"
	    "nodes:\n"
	    "  a: {run: x}\n"
	    "  b: {run: y, cache: false}\n"
	    "  c: {run: z, cache: true}\n";
	struct manifest *m;
	struct diags d;
	int rc;

	m = parse(text, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT(node_cache(&m->nodes[0])->enabled);
	CU_ASSERT_EQUAL_FATAL(node_cache(&m->nodes[0])->ninputs, 1);
	CU_ASSERT_STRING_EQUAL(node_cache(&m->nodes[0])->inputs[0], "data/*.csv");
	CU_ASSERT_EQUAL_FATAL(node_cache(&m->nodes[0])->nenv, 2);
	CU_ASSERT_STRING_EQUAL(node_cache(&m->nodes[0])->env[1], "HOME");
	CU_ASSERT_EQUAL(node_cache(&m->nodes[0])->max_age_ms, 7LL * 86400000);
	CU_ASSERT(!node_cache(&m->nodes[1])->enabled);
	CU_ASSERT(node_cache(&m->nodes[2])->enabled);
	CU_ASSERT_EQUAL(node_cache(&m->nodes[2])->ninputs, 0);
	CU_ASSERT_EQUAL(node_cache(&m->nodes[2])->max_age_ms, 0);
	manifest_free(m);
	diags_release(&d);
}

/* sandbox: strict or a map, from defaults where a node has none; none
 * stands against a default (and lets a Slurm node be). */
static void
test_sandbox(void)
{
	static const char text[] =
	    "name: s\n"
	    "defaults: {sandbox: {read: /data, write: [/scratch, /out], "
	    "connect: [443, 8080], bind: 0, best_effort: true}}\n"
	    "nodes:\n"
	    "  a: {run: x}\n"
	    "  b: {run: y, sandbox: strict}\n"
	    "  c: {run: z, sandbox: none, executor: slurm}\n";
	static const char http[] =
	    "name: h\n"
	    "defaults: {sandbox: strict, executor: slurm}\n"
	    "nodes:\n"
	    "  d: {http: {url: 'http://h/'}}\n";
	const struct sandbox_spec *s;
	struct manifest *m;
	struct diags d;
	int rc;

	m = parse(text, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	s = m->nodes[0].sandbox;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(s->nread, 1);
	CU_ASSERT_STRING_EQUAL(s->read[0], "/data");
	CU_ASSERT_EQUAL_FATAL(s->nwrite, 2);
	CU_ASSERT_STRING_EQUAL(s->write[1], "/out");
	CU_ASSERT_EQUAL_FATAL(s->nconnect, 2);
	CU_ASSERT_EQUAL(s->connect[1], 8080);
	CU_ASSERT_EQUAL_FATAL(s->nbind, 1);
	CU_ASSERT_EQUAL(s->bind[0], 0);
	CU_ASSERT(s->best_effort);
	s = m->nodes[1].sandbox;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->nread + s->nwrite + s->nconnect + s->nbind, 0);
	CU_ASSERT(!s->best_effort);
	CU_ASSERT_PTR_NULL(m->nodes[2].sandbox);
	manifest_free(m);
	diags_release(&d);

	/* an http node runs here, whatever its executor */
	m = parse(http, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(m->nodes[0].sandbox);
	manifest_free(m);
	diags_release(&d);
}

/* retry_on exit statuses, jitter, budgets and secrets, from defaults and
 * the top level where a node has none. */
static void
test_data_keys(void)
{
	static const char text[] =
	    "name: d\n"
	    "secrets: {API_KEY: /run/key, TOKEN: ~/token}\n"
	    "defaults:\n"
	    "  retry_on: [timeout, \"exit:75\", exit:100-113]\n"
	    "  jitter: true\n"
	    "  budget: {tokens: 1000, cost: 0.5}\n"
	    "nodes:\n"
	    "  a: {run: x, secrets: {TOKEN: /other}, budget: {tokens: 10}}\n"
	    "  b: {run: y, retry_on: [exit], jitter: false}\n";
	struct manifest *m;
	struct diags d;
	const struct node *a, *b;
	int rc;

	m = parse(text, 0, &d, &rc);
	if (rc != 0)
		dump(&d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	a = &m->nodes[0];
	b = &m->nodes[1];
	CU_ASSERT_EQUAL(a->retry_on, 1u << REASON_TIMEOUT);
	CU_ASSERT_EQUAL_FATAL(node_extra(a)->nretry_exits, 2);
	CU_ASSERT_EQUAL(node_extra(a)->retry_exits[0].lo, 75);
	CU_ASSERT_EQUAL(node_extra(a)->retry_exits[0].hi, 75);
	CU_ASSERT_EQUAL(node_extra(a)->retry_exits[1].lo, 100);
	CU_ASSERT_EQUAL(node_extra(a)->retry_exits[1].hi, 113);
	CU_ASSERT(a->jitter);
	CU_ASSERT_EQUAL(b->retry_on, 1u << REASON_EXIT);
	CU_ASSERT_EQUAL(node_extra(b)->nretry_exits, 0);
	CU_ASSERT(!b->jitter);
	/* the node's own tokens cap wins, cost comes from defaults */
	CU_ASSERT_EQUAL_FATAL(node_extra(a)->nbudget, 2);
	CU_ASSERT_STRING_EQUAL(node_extra(a)->budget[0].name, "tokens");
	CU_ASSERT_DOUBLE_EQUAL(node_extra(a)->budget[0].limit, 10, 1e-9);
	CU_ASSERT_STRING_EQUAL(node_extra(a)->budget[1].name, "cost");
	CU_ASSERT_EQUAL(node_extra(b)->nbudget, 2);
	/* the node's own TOKEN file wins; API_KEY from the top level */
	CU_ASSERT_EQUAL_FATAL(node_extra(a)->secrets.n, 2);
	CU_ASSERT_STRING_EQUAL(node_extra(a)->secrets.v[0].key, "TOKEN");
	CU_ASSERT_STRING_EQUAL(node_extra(a)->secrets.v[0].value, "/other");
	CU_ASSERT_STRING_EQUAL(node_extra(a)->secrets.v[1].key, "API_KEY");
	CU_ASSERT_EQUAL_FATAL(node_extra(b)->secrets.n, 2);
	CU_ASSERT_STRING_EQUAL(node_extra(b)->secrets.v[1].value, "~/token");
	CU_ASSERT_EQUAL(m->secrets.n, 2);
	manifest_free(m);
	diags_release(&d);
}

/* Defaults that would copy more values than the bound are refused before
 * they are copied. */
static void
test_defaults_bound(void)
{
	struct manifest *m;
	struct diags d;
	size_t cap = 1 << 20, len, i;
	char *text = xmalloc(cap);
	int rc;

	len = (size_t)snprintf(text, cap, "name: t\ndefaults:\n  env: {");
	for (i = 0; i < 1000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%sV%zu: x",
		    i ? ", " : "", i);
	len += (size_t)snprintf(text + len, cap - len, "}\nnodes:\n");
	for (i = 0; i < 2100; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "  n%zu: {run: x}\n", i);
	m = parse(text, len, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT(has_diag(&d, 3, 3, "defaults expand to too many values"));
	if (!has_diag(&d, 3, 3, "defaults expand"))
		dump(&d);
	diags_release(&d);
	free(text);
}

/* A huge unknown key is cut short in the message. */
static void
test_long_message(void)
{
	struct manifest *m;
	struct diags d;
	char *key = repeat("k", 100000), *text;
	int rc;

	/* libyaml wants an explicit key past 1024 characters */
	text = xasprintf("name: t\n? %s\n: 1\n" OK_NODES, key);
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT(strlen(d.v[0].msg) <= 400);
	CU_ASSERT(has_diag(&d, 2, 3, "unknown key 'kkkk"));
	CU_ASSERT(has_diag(&d, 2, 3, "..."));
	manifest_free(m);
	diags_release(&d);
	free(key);
	free(text);
}

/* Errors stop being collected after a bound, and say so. */
static void
test_too_many_errors(void)
{
	struct manifest *m;
	struct diags d;
	size_t cap = 1 << 20, len, i;
	char *text = xmalloc(cap);
	int rc;

	len = (size_t)snprintf(text, cap, "name: t\nnodes:\n");
	for (i = 0; i < 3000; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "  n%zu: {run: x, bogus: 1}\n", i);
	m = parse(text, len, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(d.n, 1001);
	CU_ASSERT(has_diag(&d, 3, 16, "unknown key 'bogus'"));
	CU_ASSERT(has_diag(&d, 1002, 18, "too many errors, stopping"));
	diags_release(&d);
	free(text);
}

/* Waves of a diamond plus a tail, and an estimate-weighted critical path. */
static void
test_waves(void)
{
	static const char text[] =
	    "name: w\n"
	    "nodes:\n"
	    "  top: {run: x}\n"
	    "  left: {run: x, needs: [top], estimate: 10s}\n"
	    "  right: {run: x, needs: top}\n"
	    "  bottom: {run: x, needs: [left, right]}\n"
	    "  tail: {run: x, needs: [bottom]}\n"
	    "  alone: {run: x}\n";
	struct manifest *m;
	struct diags d;
	int rc;

	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(m->graph.nwaves, 4);
	CU_ASSERT_EQUAL(m->graph.wave[manifest_find(m, "top")], 0);
	CU_ASSERT_EQUAL(m->graph.wave[manifest_find(m, "alone")], 0);
	CU_ASSERT_EQUAL(m->graph.wave[manifest_find(m, "left")], 1);
	CU_ASSERT_EQUAL(m->graph.wave[manifest_find(m, "right")], 1);
	CU_ASSERT_EQUAL(m->graph.wave[manifest_find(m, "bottom")], 2);
	CU_ASSERT_EQUAL(m->graph.wave[manifest_find(m, "tail")], 3);
	CU_ASSERT_EQUAL(graph_critical_length(&m->graph), 13000);
	manifest_free(m);
	diags_release(&d);
}

/* Loopback rules for insecure. */
static void
test_insecure_hosts(void)
{
	static const char *const okhosts[] = { "localhost", "LOCALHOST:80",
		"127.0.0.1", "127.1.2.3:8080", "[::1]", "[::1]:443",
		"user@127.0.0.1" };
	static const char *const badhosts[] = { "example.com", "10.0.0.1",
		"127.0.0.1.evil.com", "localhost.evil.com", "[::2]",
		"128.0.0.1", "127.0.0.1@evil.com", "127.0.0.300" };
	struct manifest *m;
	struct diags d;
	char *text;
	size_t i;
	int rc;

	for (i = 0; i < sizeof okhosts / sizeof okhosts[0]; i++) {
		text = xasprintf("name: t\nnodes:\n  a:\n    http: "
		    "{url: 'https://%s/x', insecure: true}\n", okhosts[i]);
		m = parse(text, 0, &d, &rc);
		if (rc != 0)
			dump(&d);
		CU_ASSERT_EQUAL(rc, 0);
		manifest_free(m);
		diags_release(&d);
		free(text);
	}
	for (i = 0; i < sizeof badhosts / sizeof badhosts[0]; i++) {
		text = xasprintf("name: t\nnodes:\n  a:\n    http: "
		    "{url: 'https://%s/x', insecure: true}\n", badhosts[i]);
		m = parse(text, 0, &d, &rc);
		CU_ASSERT_EQUAL(rc, 1);
		CU_ASSERT_EQUAL(d.n, 1);
		if (rc != 1)
			fprintf(stderr, "\naccepted: %s\n", badhosts[i]);
		manifest_free(m);
		diags_release(&d);
		free(text);
	}
}

static void
test_reasons(void)
{
	int i;

	CU_ASSERT_PTR_NULL(reason_name(REASON_NONE));
	CU_ASSERT_PTR_NULL(reason_name(REASON__COUNT));
	CU_ASSERT_STRING_EQUAL(reason_name(REASON_RLIMIT_FSIZE),
	    "rlimit_fsize");
	CU_ASSERT_STRING_EQUAL(reason_name(REASON_UPSTREAM_FAILED),
	    "upstream_failed");
	for (i = REASON_NONE + 1; i < REASON__COUNT; i++)
		CU_ASSERT_EQUAL(reason_parse(reason_name((enum reason)i)), i);
	CU_ASSERT_EQUAL(reason_parse("none"), -1);
	CU_ASSERT_EQUAL(reason_parse(""), -1);
	CU_ASSERT_EQUAL(reason_parse("Exit"), -1);
}

/* manifest_load: missing file, a good file, an oversized file, stdin. */
static void
test_load(void)
{
	struct manifest *m = NULL;
	struct diags d;
	char *path, *cause = NULL, *big;
	size_t i;
	int rc, fd, saved;

	diags_init(&d);
	path = xasprintf("%s/missing.yaml", tmpdir);
	errno = 0;
	rc = manifest_load(path, &m, &d, &cause);
	saved = errno;
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(saved, ENOENT);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "cannot open '"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "': No such file or directory"));
	free(cause);
	cause = NULL;
	free(path);

	path = xasprintf("%s/ok.yaml", tmpdir);
	CU_ASSERT_EQUAL_FATAL(fs_write_atomic(path, "name: t\n" OK_NODES,
	    strlen("name: t\n" OK_NODES), 0600, NULL), 0);
	rc = manifest_load(path, &m, &d, &cause);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(m);
	manifest_free(m);
	m = NULL;

	/* stdin */
	fd = open(path, O_RDONLY);
	saved = dup(STDIN_FILENO);
	CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
	dup2(fd, STDIN_FILENO);
	close(fd);
	rc = manifest_load("-", &m, &d, &cause);
	dup2(saved, STDIN_FILENO);
	close(saved);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(m);
	if (m != NULL)
		CU_ASSERT_STRING_EQUAL(m->name, "t");
	manifest_free(m);
	m = NULL;
	unlink(path);
	free(path);

	/* a directory cannot be read */
	errno = 0;
	rc = manifest_load(tmpdir, &m, &d, &cause);
	saved = errno;
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(saved, EISDIR);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "Is a directory"));
	free(cause);
	cause = NULL;

	/* one byte over the bound: a comment-only file of 16 MiB + 1 */
	path = xasprintf("%s/big.yaml", tmpdir);
	big = xmalloc(MANIFEST_MAX_BYTES + 1);
	memset(big, '#', MANIFEST_MAX_BYTES + 1);
	for (i = 80; i < MANIFEST_MAX_BYTES; i += 81)
		big[i] = '\n';
	CU_ASSERT_EQUAL_FATAL(fs_write_atomic(path, big,
	    MANIFEST_MAX_BYTES + 1, 0600, NULL), 0);
	rc = manifest_load(path, &m, &d, &cause);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT(has_diag(&d, 0, 0, "manifest is larger than 16777216 "
	    "bytes"));
	diags_release(&d);
	/* exactly at the bound: read, and refused only as empty */
	CU_ASSERT_EQUAL_FATAL(fs_write_atomic(path, big, MANIFEST_MAX_BYTES,
	    0600, NULL), 0);
	rc = manifest_load(path, &m, &d, &cause);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(has_diag(&d, 0, 0, "empty manifest"));
	diags_release(&d);
	/* manifest_parse refuses the same */
	rc = manifest_parse("big", big, MANIFEST_MAX_BYTES + 1, &m, &d);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(has_diag(&d, 0, 0, "larger than"));
	diags_release(&d);
	free(big);
	unlink(path);
	free(path);
}

/* ---- cycles: the message names a real cycle, bounded in length ---------- */

/* A manifest of n nodes "<prefix><i>" (one a line from line 3), where node i
 * needs every j with adj[i * n + j]. */
static char *
cycle_text(size_t n, const unsigned char *adj, const char *prefix,
    size_t *lenp)
{
	struct strbuf b = STRBUF_INIT;
	size_t i, j;
	int first;

	strbuf_lit(&b, "name: cyc\nnodes:\n");
	for (i = 0; i < n; i++) {
		strbuf_lit(&b, "  ");
		strbuf_str(&b, prefix);
		strbuf_int(&b, (int64_t)i);
		strbuf_lit(&b, ": {run: x, needs: [");
		first = 1;
		for (j = 0; j < n; j++) {
			if (!adj[i * n + j])
				continue;
			if (!first)
				strbuf_lit(&b, ", ");
			strbuf_str(&b, prefix);
			strbuf_int(&b, (int64_t)j);
			first = 0;
		}
		strbuf_lit(&b, "]}\n");
	}
	*lenp = b.len;
	return b.s;
}

/* The ring of n nodes: node i needs node i - 1, node 0 the last one. */
static unsigned char *
ring_adj(size_t n)
{
	unsigned char *adj = xcalloc(n * n, 1);
	size_t i;

	for (i = 0; i < n; i++)
		adj[i * n + (i + n - 1) % n] = 1;
	return adj;
}

/* The one message of parsing the n-node ring with ids prefix<i>, which must
 * fail with a cycle located at the first node; allocated. */
static char *
ring_message(size_t n, const char *prefix)
{
	unsigned char *adj = ring_adj(n);
	struct manifest *m;
	struct diags d;
	size_t len;
	char *text = cycle_text(n, adj, prefix, &len), *msg = NULL;
	int rc;

	m = parse(text, len, &d, &rc);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(d.n, 1);
	if (d.n == 1) {
		CU_ASSERT_EQUAL(d.v[0].line, 3);
		CU_ASSERT_EQUAL(d.v[0].col, 3);
		msg = xstrdup(d.v[0].msg);
	} else
		dump(&d);
	diags_release(&d);
	free(text);
	free(adj);
	return msg == NULL ? xstrdup("") : msg;
}

/* "dependency cycle: " then ids prefix<i> for i in [0, a) and [b, n), with
 * "... (N more) ..." between them when b > a, then prefix0 again. */
static char *
ring_expected(size_t n, const char *prefix, size_t a, size_t b,
    const char *more)
{
	struct strbuf e = STRBUF_INIT;
	size_t i;

	strbuf_lit(&e, "dependency cycle: ");
	for (i = 0; i < n; i++) {
		if (i == a && b > a) {
			strbuf_lit(&e, "... (");
			strbuf_str(&e, more);
			strbuf_lit(&e, " more) ... -> ");
			i = b;
		}
		strbuf_str(&e, prefix);
		strbuf_int(&e, (int64_t)i);
		strbuf_lit(&e, " -> ");
	}
	strbuf_str(&e, prefix);
	strbuf_lit(&e, "0");
	return e.s;
}

static void
test_cycle_message(void)
{
	static const struct {
		size_t		 n;
		size_t		 a, b;		/* ids left out: [a, b) */
		const char	*more;
	} cases[] = {
		{ 2, 0, 0, NULL },
		{ 20, 0, 0, NULL },		/* the bound: in full */
		{ 21, 10, 11, "1" },
		{ 1000, 10, 990, "980" },
		{ 1234, 10, 1224, "1,214" },
	};
	char *got, *want, *prefix;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got = ring_message(cases[i].n, "n");
		want = ring_expected(cases[i].n, "n", cases[i].a, cases[i].b,
		    cases[i].more);
		CU_ASSERT_STRING_EQUAL(got, want);
		free(want);
		free(got);
	}

	/* 64-byte ids: past the 400-byte cut of other messages, the count
	 * and the closing id are still there */
	prefix = repeat("x", 59);
	got = ring_message(2000, prefix);
	want = ring_expected(2000, prefix, 10, 1990, "1,980");
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT(strlen(got) > 400 && strlen(got) < 2000);
	free(want);
	free(got);
	free(prefix);
}

/* The index i of id "n<i>", or SIZE_MAX. */
static size_t
ring_index(const char *id, size_t n)
{
	char *end;
	unsigned long v;

	if (id[0] != 'n' || id[1] < '0' || id[1] > '9')
		return SIZE_MAX;
	v = strtoul(id + 1, &end, 10);
	return *end != '\0' || v >= n ? SIZE_MAX : (size_t)v;
}

/*
 * Whether msg names a cycle of the graph adj of n nodes: each id followed by
 * "->" and the next is needed by that next one, no id twice, the last id is
 * the first again; across "... (N more) ..." no edge is claimed, but the
 * ids shown and N must add up to a cycle no longer than n, 10 shown on each
 * side.
 */
static int
names_cycle(const char *msg, const unsigned char *adj, size_t n)
{
	static const char head[] = "dependency cycle: ";
	unsigned char *seen = xcalloc(n, 1);
	char *copy, *p, *tok, *q;
	size_t prev = SIZE_MAX, first = SIZE_MAX, cur, shown = 0, more = 0;
	size_t before = 0;
	int ok = 0, gap = 0, closed = 0;

	if (strncmp(msg, head, sizeof head - 1) != 0)
		goto out;
	copy = xstrdup(msg + sizeof head - 1);
	for (p = copy; p != NULL; p = q) {
		tok = p;
		if ((q = strstr(p, " -> ")) != NULL) {
			*q = '\0';
			q += 4;
		}
		if (strncmp(tok, "... (", 5) == 0) {
			/* "... (1,234 more) ...": one gap, after 10 ids */
			if (gap || shown != 10)
				goto bad;
			for (tok += 5; *tok != ' '; tok++) {
				if (*tok == ',')
					continue;
				if (*tok < '0' || *tok > '9')
					goto bad;
				more = more * 10 + (size_t)(*tok - '0');
			}
			if (strcmp(tok, " more) ...") != 0 || more == 0)
				goto bad;
			gap = 1;
			before = shown;
			prev = SIZE_MAX;
			continue;
		}
		if (closed || (cur = ring_index(tok, n)) == SIZE_MAX)
			goto bad;
		if (prev != SIZE_MAX && !adj[cur * n + prev])
			goto bad;	/* cur does not need prev */
		if (cur == first && q == NULL) {
			closed = 1;
			continue;
		}
		if (seen[cur])
			goto bad;
		seen[cur] = 1;
		if (first == SIZE_MAX)
			first = cur;
		prev = cur;
		shown++;
	}
	if (!closed)
		goto bad;
	if (gap)
		ok = before == 10 && shown == 20 && shown + more <= n;
	else
		ok = shown >= 1 && shown <= 20;
bad:
	free(copy);
out:
	free(seen);
	return ok;
}

static void
test_random_cycle_messages(void)
{
	unsigned char *adj;
	size_t perm[80], ring[80], iter, n, i, j, k, l, t, e, len, bad = 0;
	size_t nlong = 0;
	struct manifest *m;
	struct diags d;
	char *text;
	int rc;

	rng_state = 5150;
	adj = xcalloc(80 * 80, 1);
	for (iter = 0; iter < 1500; iter++) {
		/* a random DAG of n nodes: needs only on earlier nodes of a
		 * random order */
		n = 2 + rng() % 79;
		memset(adj, 0, n * n);
		for (i = 0; i < n; i++)
			perm[i] = i;
		for (i = n; i > 1; i--) {
			j = rng() % i;
			t = perm[i - 1];
			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (e = rng() % (2 * n); e > 0; e--) {
			i = 1 + rng() % (n - 1);
			j = rng() % i;
			adj[perm[i] * n + perm[j]] = 1;
		}
		if (iter % 5 == 0) {
			/* acyclic: valid */
			text = cycle_text(n, adj, "n", &len);
			m = parse(text, len, &d, &rc);
			if (rc != 0 || d.n != 0)
				bad++;
			manifest_free(m);
			diags_release(&d);
			free(text);
		}
		/* plant a cycle of l >= 2 distinct nodes in random order */
		l = 2 + rng() % (n - 1);
		for (i = n; i > 1; i--) {
			j = rng() % i;
			t = perm[i - 1];
			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (k = 0; k < l; k++)
			ring[k] = perm[k];
		for (k = 0; k < l; k++)
			adj[ring[(k + 1) % l] * n + ring[k]] = 1;
		text = cycle_text(n, adj, "n", &len);
		m = parse(text, len, &d, &rc);
		if (rc != 1 || m != NULL || d.n != 1 ||
		    !names_cycle(d.v[0].msg, adj, n)) {
			if (bad++ == 0 && d.n > 0)
				dump(&d);
		} else if (strstr(d.v[0].msg, " more) ") != NULL)
			nlong++;
		manifest_free(m);
		diags_release(&d);
		free(text);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(nlong > 10);	/* the long form was exercised too */
	free(adj);
}

/* The settings few nodes have (foreach, retry exit codes, secrets, a
 * budget) sit behind one pointer, NULL for a node without any of them: a
 * node of a large DAG pays 8 bytes for them. Reading needs no check. */
static void
test_node_extra(void)
{
	const char *text =
	    "name: x\n"
	    "nodes:\n"
	    "  plain: {run: x, retry_on: [timeout], env: {A: b}}\n"
	    "  exits: {run: x, retry_on: [\"exit:75\"]}\n"
	    "  capped: {run: x, budget: {tokens: 5}}\n"
	    "  fan: {run: x, foreach: [p, q]}\n"
	    "  all: {run: x, needs: [fan]}\n"
	    "  one: {run: x, needs: [plain, \"fan[q]\"]}\n";
	const char *top = "name: y\nsecrets: {K: /k}\nnodes:\n  a: {run: x}\n";
	struct manifest *m;
	struct diags d;
	const struct node *n;
	int rc;

	printf("\n    sizeof(struct node) %zu, struct node_extra %zu\n",
	    sizeof (struct node), sizeof (struct node_extra));
	m = parse(text, 0, &d, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	n = &m->nodes[manifest_find(m, "plain")];
	CU_ASSERT_PTR_NULL(n->extra);
	CU_ASSERT_EQUAL(node_extra(n)->nretry_exits, 0);
	CU_ASSERT_EQUAL(node_extra(n)->secrets.n, 0);
	CU_ASSERT_EQUAL(node_extra(n)->nbudget, 0);
	CU_ASSERT_PTR_NULL(node_extra(n)->group);
	CU_ASSERT_PTR_NULL(node_extra(n)->foreach);
	CU_ASSERT_EQUAL(node_extra(n)->nneed_groups, 0);
	CU_ASSERT_PTR_NULL(m->nodes[manifest_find(m, "one")].extra);
	n = &m->nodes[manifest_find(m, "exits")];
	CU_ASSERT_PTR_NOT_NULL(n->extra);
	CU_ASSERT_EQUAL(node_extra(n)->nretry_exits, 1);
	CU_ASSERT_EQUAL(node_extra(&m->nodes[manifest_find(m, "capped")])->
	    nbudget, 1);
	n = &m->nodes[manifest_find(m, "fan[q]")];
	CU_ASSERT_STRING_EQUAL(node_extra(n)->group, "fan");
	CU_ASSERT_EQUAL(node_extra(n)->inst, 2);
	n = &m->nodes[manifest_find(m, "all")];
	CU_ASSERT_EQUAL_FATAL(node_extra(n)->nneed_groups, 1);
	CU_ASSERT_STRING_EQUAL(node_extra(n)->need_groups[0], "fan");
	manifest_free(m);
	diags_release(&d);
	/* the manifest's secrets are every node's */
	m = parse(top, 0, &d, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(node_extra(&m->nodes[0])->secrets.n, 1);
	manifest_free(m);
	diags_release(&d);
}

/* A generated DAG of many nodes: ids, needs, waves, all through strmap. */
static void
test_large(void)
{
	enum { N = 20000 };
	struct manifest *m;
	struct diags d;
	size_t cap = (size_t)N * 64 + 64, len, i;
	char *text = xmalloc(cap);
	int rc, ok = 1;

	len = (size_t)snprintf(text, cap, "name: big\nnodes:\n");
	for (i = 0; i < N; i++) {
		len += (size_t)snprintf(text + len, cap - len,
		    "  n%zu: {run: x", i);
		if (i > 0)
			len += (size_t)snprintf(text + len, cap - len,
			    ", needs: [n%zu, n%zu]", i - 1, i / 2);
		len += (size_t)snprintf(text + len, cap - len, "}\n");
	}
	m = parse(text, len, &d, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(m->nnodes, N);
	CU_ASSERT_EQUAL(m->graph.nwaves, N);
	for (i = 1; i < N; i++) {
		if (m->graph.wave[i] != i || m->nodes[i].needs[0] != i - 1)
			ok = 0;
		if (i > 1 && m->nodes[i].nneeds != (i - 1 == i / 2 ? 1u : 2u))
			ok = 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(manifest_find(m, "n19999"), 19999);
	manifest_free(m);
	diags_release(&d);
	free(text);
}

static int
suite_init(void)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
	return fs_remove_tree(tmpdir, NULL) == 0 ? 0 : -1;
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "invalid manifests", test_bad_table },
		{ "no hint where none fits", test_no_hint },
		{ "hints are bounded", test_hint_bound },
		{ "recurring manifests", test_cron_keys },
		{ "NUL byte", test_nul },
		{ "deep nesting", test_deep },
		{ "alias bounds", test_aliases },
		{ "aliases work", test_aliases_ok },
		{ "merge keys", test_merge_keys },
		{ "all errors, sorted", test_many_errors },
		{ "every field", test_full },
		{ "defaults", test_defaults },
		{ "cache", test_cache },
		{ "data keys", test_data_keys },
		{ "defaults bound", test_defaults_bound },
		{ "too many errors", test_too_many_errors },
		{ "long message", test_long_message },
		{ "sandbox", test_sandbox },
		{ "waves", test_waves },
		{ "insecure hosts", test_insecure_hosts },
		{ "reasons", test_reasons },
		{ "load", test_load },
		{ "large", test_large },
		{ "cycle message", test_cycle_message },
		{ "random cycle messages", test_random_cycle_messages },
		{ "node extra", test_node_extra },
		{ NULL, NULL }
	};

	return cunit_run("manifest", suite_init, suite_clean, tests);
}
