"""Stateful testing of the job life cycle (hypothesis): random sequences of submit, poll, cancel, release
and drain by one client against a real `softfit serve` process, checked against a model of what each
job may do: every job ends exactly once, a cancel is acknowledged or the job had already ended, a
released job is unknown to the server, and the server answers throughout."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from wire_support import LONG, PARAMS, scene, shared_backend, submit

from softfit.wire import JobError, RequestRejected, Result
from softfit.wire.protocol import Message

MAX_LIVE = 3


class JobLifeCycle(RuleBasedStateMachine):
    jobs = Bundle("jobs")

    def __init__(self):
        super().__init__()
        self.client = shared_backend().client(timeout=10)
        self.state: dict[str, str] = {}  # live | ended | released
        self.cancelled: set[str] = set()
        self.endings: dict[str, list] = {}

    def _live(self) -> list[str]:
        return [j for j, s in self.state.items() if s == "live"]

    def _record(self, job: str, events: list) -> None:
        for ev in events:
            if isinstance(ev, Result | JobError):
                self.endings.setdefault(job, []).append(ev)
                assert len(self.endings[job]) == 1, f"job {job} ended twice: {self.endings[job]}"
                if self.state[job] == "live":
                    self.state[job] = "ended"
                if self.state[job] == "released":
                    assert isinstance(ev, JobError) and ev.code == "unknown_job", ev
                elif job in self.cancelled:
                    assert isinstance(ev, Result) or ev.code == "cancelled", ev
                else:
                    assert isinstance(ev, Result) and not ev.cancelled, ev

    @rule(target=jobs, long=st.booleans())
    def submit(self, long):
        # at most MAX_LIVE jobs at once: end the oldest first (decided here, not by a precondition, so
        # that what hypothesis draws never depends on how fast the server runs)
        while len(self._live()) >= MAX_LIVE:
            self.drain(self._live()[0])
        job = submit(self.client, scene(), LONG if long else PARAMS)
        self.state[job] = "live"
        return job

    @rule(job=jobs, wait=st.sampled_from([0.0, 0.2]))
    def poll(self, job, wait):
        self._record(job, self.client.poll(job, timeout=wait))

    @rule(job=jobs)
    def cancel(self, job):
        try:
            self.client.cancel(job)
        except RequestRejected as exc:
            # only a job the server no longer holds: ended and released by the client, or released by us
            assert exc.code == "unknown_job", exc
            assert self.state[job] == "released" or self.client._jobs[job].done, exc
        else:
            assert self.state[job] != "released"
            self.cancelled.add(job)

    @rule(job=jobs)
    def release(self, job):
        reply = self.client._request(Message("release", session=self.client.session, job=job))
        assert reply.type == "ack" and reply.body["state"] == "released"
        if self.state[job] == "live" and not self.client._jobs[job].done:
            self.state[job] = "released"  # (a job whose end the client already holds stays "live" here)

    @rule(job=jobs)
    def drain(self, job):
        """Cancel a job that could run for ever, then read its events to the end."""
        if self.state[job] == "live" and job not in self.cancelled:
            self.cancel(job)
        if self.state[job] == "live":
            self._record(job, list(self.client.events(job, timeout=120)))
            assert self.state[job] == "ended"

    @invariant()
    def server_answers(self):
        assert self.client.ping() > 0

    def teardown(self):
        try:
            for job in self._live():
                self.client.cancel(job)
        finally:
            self.client.close()


JobLifeCycle.TestCase.settings = settings(max_examples=6, stateful_step_count=10, deadline=None,
                                          derandomize=True, database=None,
                                          suppress_health_check=list(HealthCheck))
test_job_life_cycle = JobLifeCycle.TestCase
