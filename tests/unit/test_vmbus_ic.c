/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the integration services (vmbus/ic.h) end to end: the host
 * ICs are registered with a vmbus_host, the guest simulator opens their
 * channels and answers as Linux hv_utils does. Covers version negotiation
 * (also under VMBus 4.0), heartbeat sequence/loss/recovery, shutdown
 * requests and their status, timesync samples, bad guest responses and
 * rescinding an IC.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmbus/guest_sim.h"
#include "vmbus/ic.h"

#define HOST_TIME 133000000000000000ull
#define REF_TIME  4242ull

struct env {
	struct vmbus_gsim *g;
	struct vmbus_host *h;
	struct vmbus_ic *hb;
	struct vmbus_ic *sd;
	struct vmbus_ic *ts;
	uint64_t host_time;
};

static uint64_t fake_host_time(void *ctx)
{
	return ((struct env *)ctx)->host_time;
}

static uint64_t fake_ref_time(void *ctx)
{
	(void)ctx;
	return REF_TIME;
}

static struct env *env_new(uint32_t max_version)
{
	struct vmbus_host_config hc = { .nr_vcpus = 1, .max_version = max_version };
	struct env *e = calloc(1, sizeof(*e));
	struct vmbus_ic_config c = { .kind = VMBUS_IC_HEARTBEAT };

	e->host_time = HOST_TIME;
	e->g = vmbus_gsim_create(NULL);
	e->h = vmbus_host_create(vmbus_gsim_host_ops(), e->g, &hc);
	assert_non_null(e->h);
	vmbus_gsim_attach(e->g, e->h);
	e->hb = vmbus_ic_create(e->h, &c);
	c.kind = VMBUS_IC_SHUTDOWN;
	e->sd = vmbus_ic_create(e->h, &c);
	c.kind = VMBUS_IC_TIMESYNC;
	c.host_time = fake_host_time;
	c.ref_time = fake_ref_time;
	c.time_ctx = e;
	e->ts = vmbus_ic_create(e->h, &c);
	assert_non_null(e->hb);
	assert_non_null(e->sd);
	assert_non_null(e->ts);
	return e;
}

static void env_free(struct env *e)
{
	assert_int_equal(vmbus_gsim_stats(e->g)->bad_msgs, 0);
	vmbus_ic_destroy(e->hb);
	vmbus_ic_destroy(e->sd);
	vmbus_ic_destroy(e->ts);
	vmbus_host_destroy(e->h);
	vmbus_gsim_destroy(e->g);
	free(e);
}

static void stats(struct vmbus_ic *ic, struct vmbus_ic_stats *st)
{
	vmbus_ic_get_stats(ic, st);
}

/* Connects, opens the three IC channels like hv_utils (4-page rings). */
static struct env *env_up(uint32_t max_version)
{
	struct env *e = env_new(max_version);
	static const char *const guids[] = { VMBUS_IC_HEARTBEAT_GUID, VMBUS_IC_SHUTDOWN_GUID,
					     VMBUS_IC_TIMESYNC_GUID };
	uint32_t v, relid;

	assert_int_equal(vmbus_gsim_connect_linux(e->g, &v), 0);
	assert_int_equal(vmbus_gsim_request_offers(e->g), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vmbus_gsim_find_offer(e->g, guids[i], &relid), 0);
		assert_int_equal(vmbus_gsim_open(e->g, relid, 4, 4, 0), 0);
	}
	vmbus_gsim_poll(e->g);
	return e;
}

static void check_negotiated(struct env *e, unsigned int ts_major)
{
	const struct vmbus_gsim_stats *g = vmbus_gsim_stats(e->g);
	struct vmbus_ic_stats st;

	assert_int_equal(g->negotiations, 3);
	assert_int_equal(g->fw_version, VMBUS_VERSION(3, 0));
	assert_int_equal(g->hb_version, VMBUS_VERSION(3, 0));
	assert_int_equal(g->sd_version, VMBUS_VERSION(3, 0));
	assert_int_equal(g->ts_version, VMBUS_VERSION(ts_major, 0));
	stats(e->hb, &st);
	assert_int_equal(st.state, VMBUS_IC_READY);
	assert_int_equal(st.framework.major, 3);
	assert_int_equal(st.service.major, 3);
	stats(e->ts, &st);
	assert_int_equal(st.state, VMBUS_IC_READY);
	assert_int_equal(st.service.major, ts_major);
	stats(e->sd, &st);
	assert_int_equal(st.state, VMBUS_IC_READY);
	assert_int_equal(st.bad_responses, 0);
}

static void test_negotiation(void **state)
{
	struct env *e = env_new(0);
	struct vmbus_ic_stats st;

	(void)state;
	stats(e->hb, &st);
	assert_int_equal(st.state, VMBUS_IC_CLOSED);
	assert_int_equal(st.heartbeat, VMBUS_HB_NO_CONTACT);
	env_free(e);
	e = env_up(0);
	check_negotiated(e, 4);
	env_free(e);
}

/* VMBus 4.0 (5.x refused) still carries the ICs. */
static void test_ics_over_vmbus_4_0(void **state)
{
	struct env *e = env_up(VMBUS_VERSION_4_0);

	(void)state;
	assert_int_equal(vmbus_host_version(e->h), VMBUS_VERSION_4_0);
	check_negotiated(e, 4);
	env_free(e);
}

static void test_heartbeat(void **state)
{
	struct env *e = env_up(0);
	const struct vmbus_gsim_stats *g = vmbus_gsim_stats(e->g);
	struct vmbus_ic_stats st;

	(void)state;
	/* first request goes out when versions are agreed */
	assert_int_equal(g->hb_count, 1);
	assert_int_equal(g->hb_last_seq, 1);
	stats(e->hb, &st);
	assert_int_equal(st.heartbeat, VMBUS_HB_OK);
	assert_int_equal(st.hb_seq_acked, 1);
	assert_string_equal(vmbus_ic_heartbeat_state_name(st.heartbeat), "ok");
	/* one per interval */
	vmbus_ic_tick(e->hb, 500);
	assert_int_equal(vmbus_gsim_poll(e->g), 0);
	for (uint64_t t = 1000; t <= 5000; t += 1000) {
		vmbus_ic_tick(e->hb, t);
		assert_int_equal(vmbus_gsim_poll(e->g), 1);
	}
	assert_int_equal(g->hb_count, 6);
	assert_int_equal(g->hb_last_seq, 6);
	stats(e->hb, &st);
	assert_int_equal(st.hb_seq_acked, 6);
	/* the guest stops answering: lost after the timeout (3 intervals) */
	vmbus_ic_tick(e->hb, 6000);
	vmbus_ic_tick(e->hb, 8000);
	stats(e->hb, &st);
	assert_int_equal(st.heartbeat, VMBUS_HB_OK);
	vmbus_ic_tick(e->hb, 9001);
	stats(e->hb, &st);
	assert_int_equal(st.heartbeat, VMBUS_HB_LOST);
	assert_int_equal(st.hb_misses, 1);
	assert_string_equal(vmbus_ic_heartbeat_state_name(st.heartbeat), "lost-contact");
	/* it answers again: the stale answer is refused, the fresh one counts */
	assert_int_equal(vmbus_gsim_poll(e->g), 2);
	stats(e->hb, &st);
	assert_int_equal(st.heartbeat, VMBUS_HB_OK);
	assert_int_equal(st.bad_responses, 1);
	assert_int_equal(st.hb_seq_acked, 8);
	env_free(e);
}

static void test_shutdown(void **state)
{
	struct env *e = env_up(0);
	const struct vmbus_gsim_stats *g = vmbus_gsim_stats(e->g);
	struct vmbus_ic_stats st;

	(void)state;
	assert_int_equal(vmbus_ic_shutdown_request(e->hb, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(vmbus_ic_shutdown_request(e->sd, 0, 5, 30, "vm shutdown"), 0);
	assert_int_equal(vmbus_ic_shutdown_request(e->sd, 0, 5, 30, NULL), -EBUSY);
	stats(e->sd, &st);
	assert_true(st.sd_pending);
	assert_false(st.sd_answered);
	vmbus_gsim_poll(e->g);
	assert_int_equal(g->sd_requests, 1);
	assert_int_equal(g->sd_last_flags, 0);
	assert_true(g->poweroff);
	stats(e->sd, &st);
	assert_true(st.sd_answered);
	assert_false(st.sd_pending);
	assert_int_equal(st.sd_status, VMBUS_IC_S_OK);
	/* hibernate: Linux without hibernation support refuses */
	assert_int_equal(vmbus_ic_shutdown_request(e->sd, VMBUS_IC_SHUTDOWN_HIBERNATE, 0, 0, NULL),
			 0);
	vmbus_gsim_poll(e->g);
	stats(e->sd, &st);
	assert_int_equal(st.sd_status, VMBUS_IC_E_FAIL);
	/* forced restart */
	assert_int_equal(vmbus_ic_shutdown_request(e->sd, VMBUS_IC_SHUTDOWN_RESTART |
							   VMBUS_IC_SHUTDOWN_FORCE,
						   0, 0, NULL),
			 0);
	vmbus_gsim_poll(e->g);
	assert_true(g->reboot);
	stats(e->sd, &st);
	assert_int_equal(st.sd_status, VMBUS_IC_S_OK);
	env_free(e);
}

static void test_timesync(void **state)
{
	struct env *e = env_up(0);
	const struct vmbus_gsim_stats *g = vmbus_gsim_stats(e->g);
	struct vmbus_ic_stats st;

	(void)state;
	/* SYNC sample right after negotiation, v4 format with reference time */
	assert_int_equal(g->ts_samples, 1);
	assert_int_equal(g->ts_flags, VMBUS_IC_TIMESYNC_SYNC);
	assert_int_equal(g->ts_parenttime, HOST_TIME);
	assert_int_equal(g->ts_reftime, REF_TIME);
	/* periodic samples */
	e->host_time += 50000000;
	vmbus_ic_tick(e->ts, 4999);
	vmbus_gsim_poll(e->g);
	assert_int_equal(g->ts_samples, 1);
	vmbus_ic_tick(e->ts, 5000);
	vmbus_gsim_poll(e->g);
	assert_int_equal(g->ts_samples, 2);
	assert_int_equal(g->ts_flags, VMBUS_IC_TIMESYNC_SAMPLE);
	assert_int_equal(g->ts_parenttime, HOST_TIME + 50000000);
	stats(e->ts, &st);
	assert_int_equal(st.ts_samples, 2);
	assert_int_equal(st.responses, 3); /* negotiate + 2 samples echoed */
	assert_int_equal(vmbus_ic_timesync_send(e->sd, 0), -EINVAL);
	env_free(e);
}

static void test_default_clock(void **state)
{
	struct vmbus_host_config hc = { .nr_vcpus = 1 };
	struct vmbus_gsim *g = vmbus_gsim_create(NULL);
	struct vmbus_host *h = vmbus_host_create(vmbus_gsim_host_ops(), g, &hc);
	struct vmbus_ic_config c = { .kind = VMBUS_IC_TIMESYNC };
	struct vmbus_ic *ts;
	uint32_t v, relid;

	(void)state;
	vmbus_gsim_attach(g, h);
	ts = vmbus_ic_create(h, &c);
	assert_non_null(ts);
	assert_int_equal(vmbus_gsim_connect_linux(g, &v), 0);
	assert_int_equal(vmbus_gsim_request_offers(g), 1);
	assert_int_equal(vmbus_gsim_find_offer(g, VMBUS_IC_TIMESYNC_GUID, &relid), 0);
	assert_int_equal(vmbus_gsim_open(g, relid, 4, 4, 0), 0);
	vmbus_gsim_poll(g);
	/* later than 2020-01-01 in 100 ns units since 1601 */
	assert_true(vmbus_gsim_stats(g)->ts_parenttime > 132223104000000000ull);
	/* without a reference counter the 4.0 format is not offered */
	assert_int_equal(vmbus_gsim_stats(g)->ts_version, VMBUS_VERSION(3, 0));
	assert_int_equal(vmbus_gsim_stats(g)->ts_samples, 1);
	assert_int_equal(vmbus_gsim_stats(g)->ts_flags, VMBUS_IC_TIMESYNC_SYNC);
	vmbus_ic_destroy(ts);
	vmbus_host_destroy(h);
	vmbus_gsim_destroy(g);
}

static void test_bad_guest_responses(void **state)
{
	struct env *e = env_up(0);
	uint32_t relid = vmbus_ic_relid(e->hb);
	uint8_t buf[64];
	struct vmbus_ic_hdr *h = (struct vmbus_ic_hdr *)(buf + 8);
	struct vmbus_ic_stats st;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(vmbus_gsim_send(e->g, relid, 1, buf, 10), 0); /* too short */
	assert_int_equal(vmbus_gsim_send(e->g, relid, 2, buf, 40), 0); /* not a response */
	h->icflags = VMBUS_IC_FLAG_RESPONSE;
	h->icmsgtype = VMBUS_IC_MSG_SHUTDOWN; /* wrong type for this service */
	assert_int_equal(vmbus_gsim_send(e->g, relid, 3, buf, 40), 0);
	h->icmsgtype = VMBUS_IC_MSG_HEARTBEAT; /* unsolicited */
	assert_int_equal(vmbus_gsim_send(e->g, relid, 4, buf, 40), 0);
	stats(e->hb, &st);
	assert_int_equal(st.bad_responses, 4);
	assert_int_equal(st.state, VMBUS_IC_READY);
	/* still works */
	vmbus_ic_tick(e->hb, 1000);
	vmbus_gsim_poll(e->g);
	stats(e->hb, &st);
	assert_int_equal(st.hb_seq_acked, 2);
	env_free(e);
}

static void test_rescind_ic(void **state)
{
	struct env *e = env_up(0);
	const struct vmbus_gsim_stats *g = vmbus_gsim_stats(e->g);
	uint32_t relid;

	(void)state;
	vmbus_ic_destroy(e->hb);
	e->hb = NULL;
	assert_true(vmbus_gsim_poll(e->g) >= 1);
	assert_int_equal(g->rescinds, 1);
	assert_int_equal(vmbus_gsim_find_offer(e->g, VMBUS_IC_HEARTBEAT_GUID, &relid), -ENOENT);
	assert_int_equal(vmbus_host_counter(e->h, VMBUS_HC_CLOSE), 1);
	/* the other services are unaffected */
	assert_int_equal(vmbus_ic_shutdown_request(e->sd, 0, 0, 0, NULL), 0);
	vmbus_gsim_poll(e->g);
	assert_true(g->poweroff);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_ics_over_vmbus_4_0),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_timesync),
		cmocka_unit_test(test_default_clock),
		cmocka_unit_test(test_bad_guest_responses),
		cmocka_unit_test(test_rescind_ic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
