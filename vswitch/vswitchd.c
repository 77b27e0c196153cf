/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitchd: the hvnet switch daemon. Initializes DPDK's EAL (in-memory,
 * so several instances and killed ones leave nothing behind), starts the
 * datapath loops on their lcores and serves the control socket from the
 * main thread until SIGTERM or SIGINT, then stops the loops and closes
 * every port. Without --foreground it detaches once the socket is ready,
 * so "vswitchd && vswitchctl ..." works in scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>

#include "ctl_parse.h"
#include "ctl_proto.h"
#include "ctl_server.h"
#include "hvnet_config.h"
#include "log.h"
#include "vsw.h"
#include "vsw_ctl.h"
#include "vsw_vm.h"
#include "vsw_vmbus.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct options {
	const char *socket;
	const char *vmbus_socket;
	uint64_t dp_cpus;	/* datapath CPUs */
	bool no_huge, foreground;
	uint64_t fdb_size, ct_size, aging, n_mbufs, memory_mb, idle_sleep;
	enum vsw_log_level log_level;
	int n_eal;
	char **eal;		/* extra EAL arguments after "--" */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vswitchd [--socket PATH] [--lcores CPULIST] [--no-huge] [--foreground]\n"
		"                [--fdb-size N] [--conntrack-size N] [--aging SECONDS] [--mbufs N]\n"
		"                [--memory MB] [--vmbus-socket PATH] [--idle-sleep US]\n"
		"                [--log-level error|warning|info|debug] [-- EAL ARGS]\n"
		"  --socket PATH   control socket (default %s, env HVNET_SOCKET)\n"
		"  --vmbus-socket PATH  socket VMs connect to (vmm --vswitchd; default: the control\n"
		"                  socket's name with -vmbus before .sock)\n"
		"  --idle-sleep US  datapath naps US microseconds per poll when idle (default 0:\n"
		"                  busy-poll; for CPUs shared with guests, e.g. nested test machines)\n"
		"  --lcores LIST   CPUs for the datapath loops, e.g. 1 or 2-3 (default: the last CPU)\n"
		"  --no-huge       run DPDK without hugepages (slower; --memory MB of plain memory)\n"
		"  --foreground    do not detach\n"
		"  --fdb-size N    MAC table capacity (default 1048576)\n"
		"  --aging S       MAC aging time in seconds, 0 = never (default 300)\n"
		"  --conntrack-size N  tracked connections of stateful ACLs (default 1048576)\n",
		CTL_DEFAULT_SOCKET);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},  {"lcores", required_argument, NULL, 'l'},
		{"no-huge", no_argument, NULL, 'n'},	   {"foreground", no_argument, NULL, 'f'},
		{"fdb-size", required_argument, NULL, 'F'}, {"aging", required_argument, NULL, 'a'},
		{"conntrack-size", required_argument, NULL, 'C'},
		{"mbufs", required_argument, NULL, 'm'},   {"memory", required_argument, NULL, 'M'},
		{"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
		{"vmbus-socket", required_argument, NULL, 'V'},
		{"idle-sleep", required_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	struct ctl_err err;
	int c, rc = 0;

	while (!rc && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'V': o->vmbus_socket = optarg; break;
		case 'I': rc = ctl_parse_u64("idle-sleep", optarg, 0, 10000000, &o->idle_sleep, &err); break;
		case 'l': rc = ctl_parse_cpu_list("lcores", optarg, &o->dp_cpus, &err); break;
		case 'n': o->no_huge = true; break;
		case 'f': o->foreground = true; break;
		case 'F': rc = ctl_parse_u64("fdb-size", optarg, 1, 1u << 26, &o->fdb_size, &err); break;
		case 'a': rc = ctl_parse_u64("aging", optarg, 0, 1000000, &o->aging, &err); break;
		case 'C':
			rc = ctl_parse_u64("conntrack-size", optarg, 1, 1u << 26, &o->ct_size, &err);
			break;
		case 'm': rc = ctl_parse_u64("mbufs", optarg, 1024, 1u << 24, &o->n_mbufs, &err); break;
		case 'M': rc = ctl_parse_u64("memory", optarg, 64, 1u << 20, &o->memory_mb, &err); break;
		case 'L':
			if (vsw_log_parse_level(optarg, &o->log_level))
				rc = ctl_err_set(&err, EINVAL,
						 "log-level: '%s' is not one of error|warning|info|debug",
						 optarg);
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (rc) {
		fprintf(stderr, "vswitchd: error: %s\n", err.msg);
		exit(2);
	}
	o->n_eal = argc - optind;
	o->eal = argv + optind;
	return 0;
}

/* Builds the EAL command line: lcore 0 is the control thread, 1..n the datapath. */
static int build_eal_args(const struct options *o, char **argv, int max, char *lcores,
			  size_t lcores_len, char *mem)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t dp = o->dp_cpus ? o->dp_cpus : UINT64_C(1) << (ncpu - 1);
	size_t pos;
	int n = 0, lc = 1;

	/* The control thread may run on any online CPU; the datapath CPUs are busy-polled. */
	pos = (size_t)snprintf(lcores, lcores_len, "0@(0-%ld)", ncpu - 1);
	for (unsigned int cpu = 0; cpu < 64; cpu++) {
		if (dp >> cpu & 1)
			pos += (size_t)snprintf(lcores + pos, lcores_len - pos, ",%d@%u", lc++, cpu);
	}
	argv[n++] = "vswitchd";
	argv[n++] = "--lcores";
	argv[n++] = lcores;
	argv[n++] = "--no-telemetry";
	argv[n++] = "--log-level";
	argv[n++] = o->log_level >= VSW_LOG_DEBUG ? "notice" : "error";
	if (o->no_huge) {
		/* --no-huge implies legacy memory, which --in-memory refuses. */
		argv[n++] = "--no-huge";
		argv[n++] = "--no-shconf";
		argv[n++] = "-m";
		argv[n++] = mem;
	} else {
		argv[n++] = "--in-memory";
	}
	for (int i = 0; i < o->n_eal && n < max - 1; i++)
		argv[n++] = o->eal[i];
	argv[n] = NULL;
	return n;
}

/* Forks; the parent exits when the child reports ready (or failed) on the pipe. */
static int detach(int *ready_fd)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		exit(read(fds[0], &c, 1) == 1 && c == 'R' ? 0 : 1);
	}
	close(fds[0]);
	setsid();
	*ready_fd = fds[1];
	return 0;
}

/* The control thread: vswitchctl requests, VM connections, periodic work. */
static void serve(struct ctl_server *srv, struct vsw_vmbus *vb, struct vsw *vsw)
{
	while (!stop_signal) {
		ctl_server_poll(srv, 20);
		vsw_vmbus_poll(vb, 20);
		vsw_tick(vsw);
		vsw_vm_tick(vsw);
	}
}

int main(int argc, char **argv)
{
	struct options o = {.fdb_size = 1u << 20, .ct_size = 1u << 20, .aging = 300, .n_mbufs = 32768,
			    .memory_mb = 1024, .log_level = VSW_LOG_INFO};
	char *eal_argv[128], lcores[512], mem[16];
	unsigned int lcore_ids[64], n_dp = 0, id;
	struct ctl_server *srv = NULL;
	struct vsw_vmbus *vb = NULL;
	char vmbus_path[256];
	struct vsw *vsw = NULL;
	struct ctl_err err = {.msg = "unknown error"};
	int n, ready_fd = -1, rc = 1;

	parse_options(argc, argv, &o);
	vsw_log_init("vswitchd", o.log_level);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)o.memory_mb);
	n = build_eal_args(&o, eal_argv, 128, lcores, sizeof(lcores), mem);
	if (!o.foreground && detach(&ready_fd) < 0) {
		vsw_log(VSW_LOG_ERR, "cannot detach: %s", strerror(errno));
		return 1;
	}
	if (rte_eal_init(n, eal_argv) < 0) {
		vsw_log(VSW_LOG_ERR, "DPDK EAL initialization failed (lcores %s%s)", lcores,
			o.no_huge ? "" : "; without hugepages try --no-huge");
		return 1;
	}
	RTE_LCORE_FOREACH_WORKER(id)
		lcore_ids[n_dp++] = id;
	vsw = vsw_create(&(struct vsw_opts){.n_lcores = n_dp, .lcore_ids = lcore_ids,
					    .fdb_size = (uint32_t)o.fdb_size,
					    .ct_size = (uint32_t)o.ct_size,
					    .aging = (uint32_t)o.aging,
					    .n_mbufs = (uint32_t)o.n_mbufs,
					    .idle_sleep_us = (uint32_t)o.idle_sleep},
			 &err);
	if (!vsw)
		goto out;
	srv = ctl_server_create(ctl_socket_path(o.socket), vsw_ctl_handle, vsw, &err);
	if (!srv)
		goto out;
	if (!o.vmbus_socket)
		o.vmbus_socket = vsw_vmbus_default_path(ctl_socket_path(o.socket), vmbus_path,
							sizeof(vmbus_path));
	vb = vsw_vmbus_new(vsw, o.vmbus_socket, &err);
	if (!vb)
		goto out;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	vsw_log(VSW_LOG_INFO, "hvnet %s ready: socket %s, VMs at %s, %u datapath lcore(s) (%s)%s",
		HVNET_VERSION, ctl_socket_path(o.socket), o.vmbus_socket, n_dp, lcores,
		o.no_huge ? ", no hugepages" : "");
	if (ready_fd >= 0 && write(ready_fd, "R", 1) == 1) {
		close(ready_fd);
		ready_fd = -1;
	}
	serve(srv, vb, vsw);
	vsw_log(VSW_LOG_INFO, "signal %d: shutting down", (int)stop_signal);
	rc = 0;
out:
	if (rc)
		vsw_log(VSW_LOG_ERR, "%s", err.msg);
	vsw_vmbus_free(vb);
	ctl_server_free(srv);
	vsw_destroy(vsw);
	rte_eal_cleanup();
	return rc;
}
