/* therapyassistance-proxy: reads the configuration, serves until SIGTERM or SIGINT, then drains and exits. */
#define _GNU_SOURCE
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "http_server.h"

/* Seconds SIGTERM waits for requests in flight before closing their connections. */
#define SHUTDOWN_GRACE_SECONDS 10

/* The environment wins over .env, as in the original's pydantic settings. */
static const char *env_then_dotenv(void *ctx, const char *name)
{
	const char *value = getenv(name);

	return value != NULL ? value : dotenv_get(ctx, name);
}

int main(void)
{
	static struct proxy_config cfg;
	struct dotenv dotenv;
	struct http_server *srv;
	const char *env_file = getenv("PROXY_ENV_FILE");
	char err[256];
	sigset_t signals;
	int sig = 0;

	if (dotenv_read_file(&dotenv, env_file != NULL ? env_file : ".env") != 0) {
		fprintf(stderr, "therapyassistance-proxy: cannot read %s\n", env_file != NULL ? env_file : ".env");
		return 1;
	}
	if (config_load(&cfg, env_then_dotenv, &dotenv, err, sizeof(err)) != 0) {
		fprintf(stderr, "therapyassistance-proxy: refusing to start: %s\n", err);
		dotenv_free(&dotenv);
		return 1;
	}
	/* Signals are taken by sigwait below; the server threads inherit the mask and never see them. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	json_object_seed(0); /* before any thread creates a JSON object */
	/*
	 * The server threads (created below, inheriting this) mostly wait for PostgreSQL, which sends a large answer
	 * in 8 kB pieces: as normal tasks each piece woke a thread that preempted the backend still writing the
	 * rest, a context switch or two per request. SCHED_BATCH threads do not preempt on wakeup (they run when a
	 * CPU is free or the running task's slice ends), so they mostly find the whole answer at once. Needs no
	 * privilege; PROXY_SCHED_BATCH=0 turns it off.
	 */
	if (cfg.sched_batch) {
		struct sched_param none = {.sched_priority = 0};

		if (sched_setscheduler(0, SCHED_BATCH, &none) != 0)
			fprintf(stderr, "therapyassistance-proxy: cannot run as SCHED_BATCH, running as a normal task\n");
	}

	srv = http_server_start(&cfg);
	if (srv == NULL) {
		dotenv_free(&dotenv);
		return 1;
	}
	fprintf(stderr, "therapyassistance-proxy: listening on %s:%u (%u threads, %u database connections)\n",
		cfg.listen_address, cfg.port, cfg.threads, cfg.pool_size);
	sigwait(&signals, &sig);
	fprintf(stderr, "therapyassistance-proxy: signal %d, finishing requests in flight\n", sig);
	http_server_stop(srv, SHUTDOWN_GRACE_SECONDS);
	dotenv_free(&dotenv);
	return 0;
}
