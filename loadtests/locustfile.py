"""The lab's load: a closed-loop Locust user class and an open-loop one, for any target.

What they send comes from $LAB_REQUESTS (loadlab.shared.traffic): the endpoints of the target
file the driver measures, one of them or a weighted mix. ``Target`` users wait for each answer
and ask again at once (no think time), which is the closed loop the lab's model assumes:
throughput = min(users, pool) / service time.

With $LAB_STEPS set (``10x14,40x14``: users x seconds), the master steps the user count
through one run (a load shape) and records when each step really began (steps.json), so the
driver measures several user counts for the price of one Locust start.

With $LAB_LOAD=open the class is ``OpenLoop``: one user per worker sends its share of each
step's rate (steps are requests a second x seconds) at intended times (loadlab.shared.arrivals),
never waiting for answers, with at most $LAB_MAX_IN_FLIGHT requests in flight (a
send beyond that is counted as dropped, not delayed). It records, per interval of
offered.INTERVAL seconds (one), HdrHistograms of the latency from the intended send time (what
a user of the service sees), from the actual send (what the server took) and of the send lag
between them: memory stays bounded however long the run (raw samples only with
$LAB_SAMPLES=1).

Besides Locust's own CSV and HTML reports, every closed-loop worker writes its raw samples (one
row per request: the user that sent it, start and end time, response time, outcome) to
$LAB_SAMPLES_DIR when the test stops; the driver computes its statistics from those. The
request format and the step format come from the driver's own modules (loadlab.shared.traffic,
loadlab.shared.offered), copied into the image, so the two sides cannot disagree.
"""

from __future__ import annotations

import csv
import gc
import itertools
import json
import os
import socket
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, LoadTestShape, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from loadlab.shared import arrivals, clock, histograms, offered, traffic

LOAD = os.environ.get(offered.LOAD_VARIABLE, "closed")

_samples: list[tuple[str, float, float, float, str]] = []
_user_ids = itertools.count(1)
_HOST = f"{socket.gethostname()}-{os.getpid()}"
# This engine's clock minus the driver's, measured by the driver at the start of the run
# (loadlab/engines/clocks.py): every time written here is on the driver's clock, so samples
# from workers on several hosts and the master's step boundaries line up.
CLOCK_OFFSET = clock.offset_of()


def now() -> float:
    """The driver's clock, read here."""
    return clock.now(CLOCK_OFFSET)


_REQUESTS = traffic.decode(os.environ.get(traffic.VARIABLE, ""))


def send(client, request: traffic.Request):
    """One request as the target file describes it. Locust counts an answer of 400 and above
    as failed; a status other than the expected 200 is checked here (catch_response costs a
    little client time, so only where needed)."""
    body = request.body.encode() if request.body is not None else None
    headers = dict(request.headers) or None
    if request.expect_status == 200:
        return client.request(request.method, request.path, name=request.name, data=body,
                              headers=headers)  # fmt: skip
    with client.request(request.method, request.path, name=request.name, data=body,
                        headers=headers, catch_response=True) as response:  # fmt: skip
        if response.status_code != request.expect_status:
            response.failure(f"HTTP {response.status_code}, want {request.expect_status}")
        else:
            response.success()
    return response


class Target(FastHttpUser):
    """Closed-loop user sending $LAB_REQUESTS: one endpoint, or a weighted mix of several."""

    wait_time = constant(0)

    def on_start(self) -> None:
        # Unique across workers: the driver's throughput estimator follows each user's own loop.
        self.lab_id = f"{_HOST}-{next(_user_ids)}"
        self.chooser = traffic.Chooser(_REQUESTS, seed=self.lab_id)

    def context(self) -> dict:
        return {"lab_user": self.lab_id}

    @task
    def hit(self) -> None:
        # The loop is the task: Locust's wait() between tasks is a gevent.sleep(0), which after
        # an idle moment costs about a millisecond (libev's shortest epoll timeout), client
        # time inside every cycle. Locust stops the user by killing this greenlet.
        while True:
            send(self.client, self.chooser.next())


@events.request.add_listener
def _record(
    response_time: float,
    start_time: float,
    context: dict,
    exception: BaseException | None = None,
    **_: object,
) -> None:
    if LOAD == "open":
        return  # the open loop records into histograms itself, from the intended send time
    error = _error_text(exception)
    # Locust's start_time is this host's clock: moved onto the driver's like every other time.
    began = clock.on_driver_clock(start_time, CLOCK_OFFSET)
    _samples.append((context.get("lab_user", ""), began, now(), response_time, error))


def _error_text(exception: BaseException | None) -> str:
    return "" if exception is None else type(exception).__name__ + ": " + str(exception)[:120]


if os.environ.get(offered.STEPS_VARIABLE) and LOAD == "closed":

    class Steps(LoadTestShape):
        """The driver's steps, in order; each new user count is spawned at once.

        A step is stretched while its measured mean latency says the window would hold too
        few queue cycles for an interval (offered.step_length): measured, never predicted."""

        def __init__(self) -> None:
            super().__init__()
            steps = offered.decode(os.environ[offered.STEPS_VARIABLE])
            self.stepper = offered.Stepper(steps, float(os.environ.get(offered.SETTLE_VARIABLE, 0)))
            self.mark: tuple[int, int, float] = (-1, 0, 0.0)  # step, requests, total ms then

        def tick(self) -> tuple[int, float] | None:
            level = self.stepper.tick(now(), self._mean_latency())
            # New users join over about a second: spread over several service times, so their
            # answers do not arrive in one batch that each worker must then work through in
            # turn (that wait is client time inside every cycle, and breaks Little's law).
            return None if level is None else (int(level), float(level))

        def _mean_latency(self) -> float | None:
            """Mean latency (s) of what completed since the current step began."""
            total = self.runner.stats.total
            index = len(self.stepper.times) - 1
            if index != self.mark[0]:
                self.mark = (index, total.num_requests, total.total_response_time)
            done = total.num_requests - self.mark[1]
            return (total.total_response_time - self.mark[2]) / done / 1000 if done else None


class Recorder:
    """One worker's open-loop record: per interval of offered.INTERVAL seconds (by when it
    happened), counts and HdrHistograms, encoded as soon as the interval is over, so memory
    stays bounded."""

    def __init__(self, t0: float, keep_samples: bool) -> None:
        self.t0 = t0
        self.index: int | None = None
        self.current: dict = {}
        self.closed: list[dict] = []
        self.errors: dict[str, int] = {}
        self.samples: list[tuple[float, float, float, float, str]] | None = (
            [] if keep_samples else None
        )

    def _at(self, when: float) -> dict:
        index = int((when - self.t0) // offered.INTERVAL)
        if index != self.index:
            self._close()
            self.index = index
            self.current = {"index": index, "sent": 0, "dropped": 0, "ok": 0, "failed": 0,
                            "incomplete": 0, "corrected": histograms.make(),
                            "uncorrected": histograms.make(), "lag": histograms.make()}  # fmt: skip
        return self.current

    def _close(self) -> None:
        if self.index is None:
            return
        done = dict(self.current)
        for name in ("corrected", "uncorrected", "lag"):
            done[name] = histograms.encode(done[name])
        self.closed.append(done)
        self.index = None

    def sent(self, intended: float, actual: float) -> None:
        interval = self._at(actual)
        interval["sent"] += 1
        histograms.record(interval["lag"], actual - intended)

    def dropped(self, intended: float) -> None:
        self._at(intended)["dropped"] += 1

    def done(self, intended: float, sent: float, end: float, error: str) -> None:
        interval = self._at(end)
        interval["failed" if error else "ok"] += 1
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1
        else:
            histograms.record(interval["corrected"], end - intended)
            histograms.record(interval["uncorrected"], end - sent)
        if self.samples is not None:
            self.samples.append((intended, sent, end, (end - sent) * 1000, error))

    def finish(self, now: float, in_flight: dict[int, tuple[float, float]]) -> dict:
        """Requests still unanswered count as incomplete, their latency at least ``now - sent``."""
        interval = self._at(now)
        for intended, sent in in_flight.values():
            interval["incomplete"] += 1
            histograms.record(interval["corrected"], now - intended)
            histograms.record(interval["uncorrected"], now - sent)
        self._close()
        return {"t0": self.t0, "interval": offered.INTERVAL, "intervals": self.closed,
                "errors": self.errors}  # fmt: skip


_open: dict = {"t0": None, "workers": None, "recorder": None, "in_flight": {}}


def _sleep_until(when: float) -> None:
    """gevent's timers wake through epoll, whose timeout is whole milliseconds rounded up, so a
    plain sleep sends up to a millisecond late; sleep to within SPIN of the intended time, then
    yield to the other greenlets (the answers coming in) until it has come."""
    delay = when - now()
    if delay > SPIN:
        gevent.sleep(delay - SPIN)
    while now() < when:
        gevent.sleep(0)


SPIN = 0.001
TAIL_POLL = 0.05  # seconds between looks at what is still in flight after the last send
DONE_MESSAGE = "lab_done"  # a worker to the master: every answer of mine is in
_done: set[str] = set()  # on the master: the workers that said so


class OpenLoop(FastHttpUser):
    """Sends this worker's share of each step's rate ($LAB_REQUESTS) at the intended times."""

    wait_time = constant(0)
    # Every request in flight needs a connection of its own.
    concurrency = int(os.environ.get(offered.IN_FLIGHT_VARIABLE, "1000"))

    def on_start(self) -> None:
        self.chooser = traffic.Chooser(_REQUESTS, seed=_HOST)

    @task
    def drive(self) -> None:
        while _open["t0"] is None:
            gevent.sleep(0.01)
        # Everything alive now lives for the whole run: keep it out of the collector's passes,
        # whose pauses would hold the sends back.
        gc.freeze()
        t0, workers = _open["t0"], _open["workers"]
        recorder = _open["recorder"] = Recorder(t0, os.environ.get(offered.SAMPLES_VARIABLE) == "1")
        index = getattr(self.environment.runner, "worker_index", 0) % workers
        steps = offered.decode(os.environ[offered.STEPS_VARIABLE])
        kind = os.environ.get(offered.ARRIVALS_VARIABLE, "uniform")
        ids = itertools.count()
        for step in offered.planned_times(steps, t0):
            for intended in arrivals.worker_schedule(step.level, workers, index, step.start,
                                                     step.end - step.start, kind,
                                                     seed=f"{t0}:{step.index}"):  # fmt: skip
                _sleep_until(intended)
                if len(_open["in_flight"]) >= self.concurrency:
                    recorder.dropped(intended)
                    continue
                gevent.spawn(self._send, next(ids), intended, recorder)
        # Every answer in (or the tail spent): this worker tells the master, which ends the
        # run once every worker has, rather than always waiting out the whole tail.
        last = offered.planned_times(steps, t0)[-1].end
        while _open["in_flight"] and now() < last + offered.OPEN_TAIL:
            gevent.sleep(TAIL_POLL)
        self.environment.runner.send_message(DONE_MESSAGE)
        gevent.sleep(offered.OPEN_TAIL * 10)  # the master ends the run

    def _send(self, key: int, intended: float, recorder: Recorder) -> None:
        sent = now()
        _open["in_flight"][key] = (intended, sent)
        recorder.sent(intended, sent)
        request = self.chooser.next()
        body = request.body.encode() if request.body is not None else None
        error = ""
        try:
            with self.client.request(request.method, request.path, name=request.name, data=body,
                                     headers=dict(request.headers) or None,
                                     catch_response=True) as response:  # fmt: skip
                if response.status_code != request.expect_status:
                    error = f"HTTP {response.status_code}: {str(response.error)[:100]}"
        except Exception as exc:  # a request must never kill the schedule
            error = _error_text(exc)
        _open["in_flight"].pop(key, None)
        recorder.done(intended, sent, now(), error)


if os.environ.get(offered.STEPS_VARIABLE) and LOAD == "open":

    class OpenSteps(LoadTestShape):
        """One OpenLoop user per worker, from an announced start time to the last step's end."""

        def __init__(self) -> None:
            super().__init__()
            self.steps = offered.decode(os.environ[offered.STEPS_VARIABLE])
            self.t0: float | None = None
            self.workers = 0

        def tick(self) -> tuple[int, float] | None:
            at = now()
            if self.t0 is None:
                self.workers = max(self.runner.worker_count, 1)
                self.t0 = at + offered.OPEN_START_DELAY
                self.runner.send_message("lab_t0", {"t0": self.t0, "workers": self.workers})
            last = self.times[-1].end
            over = at >= last + offered.OPEN_TAIL or (at >= last and len(_done) >= self.workers)
            return None if over else (self.workers, float(self.workers))

        @property
        def times(self) -> list[offered.StepTimes]:
            return offered.planned_times(self.steps, self.t0 or 0.0)


# Locust's headless master looks for its expected workers once a second, and its quit sleeps
# half a second and is called three times at the end of a shape (by the shape, by the headless
# main, at shutdown): about two seconds of every run spent waiting on nothing. The master
# polls for its workers here, before Locust's first look, and quits once (the later calls
# would only send workers that already left a second "quit" and sleep again).
WORKER_POLL = 0.05  # seconds


def _await_workers(runner: MasterRunner, expected: int, limit: float) -> None:
    """Until ``expected`` workers are ready or ``limit`` seconds passed (then Locust's own
    wait gives up with its own error)."""
    deadline = time.monotonic() + limit
    while len(runner.clients.ready) < expected and time.monotonic() < deadline:
        gevent.sleep(WORKER_POLL)


def _quit_once(runner: MasterRunner) -> None:
    quit_ = runner.quit
    called = []

    def once() -> None:
        if not called:
            called.append(True)
            quit_()

    runner.quit = once


@events.init.add_listener
def _on_init(environment, **_: object) -> None:
    if isinstance(environment.runner, MasterRunner):
        options = environment.parsed_options
        _quit_once(environment.runner)
        environment.runner.register_message(DONE_MESSAGE, lambda msg, **_kw: _done.add(msg.node_id))
        if options is not None and options.headless:
            _await_workers(environment.runner, options.expect_workers,
                           options.expect_workers_max_wait or 60)  # fmt: skip
    if isinstance(environment.runner, WorkerRunner):

        def start(environment, msg, **_kw: object) -> None:
            _open["t0"], _open["workers"] = msg.data["t0"], msg.data["workers"]

        environment.runner.register_message("lab_t0", start)


@events.test_stop.add_listener
def _write_results(environment, **_: object) -> None:
    if isinstance(environment.runner, MasterRunner):
        _write_step_times(environment)
        return
    out = os.environ.get("LAB_SAMPLES_DIR")
    if not out:
        return
    if LOAD == "open":
        _write_open(Path(out))
        return
    path = Path(out) / f"samples-{_HOST}.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user", "start_time", "end_time", "response_ms", "error"])
        writer.writerows(
            (u, f"{s:.6f}", f"{e:.6f}", f"{ms:.3f}", err) for u, s, e, ms, err in _samples
        )
    _samples.clear()


def _write_open(out: Path) -> None:
    recorder: Recorder | None = _open["recorder"]
    if recorder is None:
        return
    record = recorder.finish(now(), _open["in_flight"])
    (out / f"{offered.HISTOGRAMS_PREFIX}{_HOST}.json").write_text(json.dumps(record))
    if recorder.samples is not None:
        with (out / f"open-samples-{_HOST}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["intended", "sent", "end", "response_ms", "error"])
            writer.writerows(recorder.samples)


def _write_step_times(environment) -> None:
    shape = environment.shape_class
    csv_prefix = os.environ.get("LOCUST_CSV")
    stepper = getattr(shape, "stepper", None)
    if stepper is not None:
        stepper.close(now())
    times = stepper.times if stepper is not None else getattr(shape, "times", None)
    if not csv_prefix or not times:
        return
    offered.save_step_times(str(Path(csv_prefix).parent / offered.STEPS_FILE), times)
