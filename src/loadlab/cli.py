"""The command line: parse, build one configuration object, call the library, print errors.

Only this module prints errors and chooses exit codes: 2 for bad input (nothing started),
1 for a failure of the lab, 128 + the signal for an interrupted sweep (130 for Ctrl-C, 143
for SIGTERM), after the same clean-up either way.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from loadlab import workflow
from loadlab.errors import ConfigError, LabError
from loadlab.judge import compare, gate, model_error
from loadlab.plan import placement as cpus_mod
from loadlab.plan.config import SweepConfig, settings_help
from loadlab.report import index
from loadlab.results import Run
from loadlab.search.bisection import ATTEMPTS
from loadlab.stack import lock
from loadlab.stack.compose import ROOT, session


def _cmd_cpus(args: argparse.Namespace) -> int:
    # `make up` starts here: a variant brought up under a running sweep would share its cores.
    with lock.hold(ROOT, "up (check)"):
        pass
    placement = cpus_mod.place(args.cpus, target_cpuset=args.cpuset or None)
    print(f"export CPUSET={placement.target_cpuset} LOCUST_CPUSET={placement.locust_cpuset}")
    print(f"# {placement.note()}", file=sys.stderr)
    return 0


def _sweep_config(args: argparse.Namespace) -> SweepConfig:
    given = {name: getattr(args, name) for name, _, _ in settings_help()}
    return SweepConfig.from_strings({k: v for k, v in given.items() if v not in (None, "")})


def _measure(args: argparse.Namespace) -> workflow.Outcome | int:
    """Validate, then sweep; an int is an exit status that ends the command early."""
    plan = workflow.plan_for(_sweep_config(args))  # ConfigError here: nothing has started
    what = f"{args.command} {plan.directory}"
    for warning in workflow.ceiling_warnings(plan):
        print(warning, file=sys.stderr)
    with lock.hold(ROOT, what):  # a second lab in this checkout is refused, even its dry run
        if args.dry_run:
            print(workflow.describe(plan))
            return 0
        # The container verify checked is the first group's (one start fewer); the session
        # takes it down whatever happens before the sweep's own session begins. (A preflight
        # that fails has left nothing up: verify tears down what it started.)
        stack, prepared = workflow.preflight(workflow.stack_for(plan), plan, keep=True)
        with session(stack):
            outcome = workflow.execute(plan, stack, prepared, warm=True)
    where = outcome.run.directory
    print(f"report: {where / 'index.html'}")
    eff = outcome.run.metadata.get("efficiency") or {}
    if eff.get("overhead") is not None:
        print(f"efficiency: {eff['measured_s']:.0f} s measured in {eff['wall_s']:.0f} s of wall "
              f"time (overhead {eff['overhead']:.0%}; model calibration "
              f"{eff.get('calibration_s', 0):.0f} s)")  # fmt: skip
    for line in model_error.lines(outcome.run):  # per series kind, worst and median
        print(line)
    if outcome.interrupted:
        print(f"interrupted: finish with `make sweep RESUME={where}`", file=sys.stderr)
        return _interrupted_code()
    return outcome


def _cmd_verify(args: argparse.Namespace) -> int:
    """The target's images made and checked, and every endpoint answered once as its file
    says; nothing measured (the sweep does this too, before any load)."""
    from loadlab.stack import verify  # local: this function is its only user

    plan = workflow.plan_for(_sweep_config(args))
    if args.dry_run:
        print(
            f"verify: {plan.target.name} ({plan.target.file}): {', '.join(verify.endpoints(plan))}"
        )
        return 0
    with lock.hold(ROOT, f"verify {plan.target.name}"):
        workflow.preflight(workflow.stack_for(plan), plan)
    names = verify.endpoints(plan)
    print(f"verify: {plan.target.name}: {len(names)} endpoint(s) answered as "
          f"{plan.target.file.name} says on {plan.series[0][0]} ({', '.join(names)})")  # fmt: skip
    return 0


def _cmd_capacity(args: argparse.Namespace) -> int:
    """0 with an answer, 1 when nothing in the space meets the SLO, 2 for bad input."""
    from loadlab import capacity  # local: this command is its only user

    plan, ask = capacity_plan(args)
    if args.dry_run:
        combos = len(capacity.Searcher(plan, ask, None, None, None).combos())
        at = f"{ask.rate:g}/s" if ask.load == "open" else f"{ask.rate:g} users"
        print(f"capacity: {plan.target.name} {plan.series[0][1]} at {at}, "
              f"{ask.objective}: {combos} combination(s), CPUS {ask.cpu_range[0]:g}.."
              f"{ask.cpu_range[1]:g} step {ask.cpu_step:g}: at most "
              f"{capacity.trials_bound(ask)} trials each before re-measurements")  # fmt: skip
        return 0
    with lock.hold(ROOT, f"capacity {plan.directory}"):
        stack, prepared = workflow.preflight(workflow.stack_for(plan), plan)
        run = capacity.open_run(plan)
        run.config["capacity"] = capacity.ask_json(ask)
        printer = _TrialPrinter(capacity.trials_bound(ask) * len(searcher_combos(plan, ask)))
        searcher = capacity.Searcher(plan, ask, run, stack, prepared, on_trial=printer)
        try:
            found = searcher.search()
        finally:
            run.save()
        capacity.write(run, found)
    print(capacity.summary(found))
    print(f"card: {run.directory / 'capacity.json'}; report: {run.directory / 'index.html'}")
    return found.exit_code


def capacity_plan(args: argparse.Namespace):
    """The plan of a capacity search and what it asks, checked before anything starts."""
    from loadlab import capacity

    given = {name: getattr(args, name) for name, _, _ in settings_help()}
    return capacity.plan_of(
        {k: v for k, v in given.items() if v not in (None, "")},
        rate=args.rate,
        users=args.users,
        objective=args.slo,
        cpus=args.cpus,
        cpu_step=args.cpu_step,
        thread_limit=args.thread_limit,
        headroom=None if args.headroom is None else args.headroom == "1",
        attempts=args.attempts,
    )


def searcher_combos(plan, ask) -> list:
    from loadlab import capacity

    return capacity.Searcher(plan, ask, None, None, None).combos()


class _TrialPrinter:
    """Each trial's verdict as it lands, and what is left at most (before re-measurements),
    timed by the trials so far."""

    def __init__(self, most: int) -> None:
        self.most, self.done, self.began = most, 0, time.monotonic()

    def __call__(self, trial) -> None:
        self.done += 1
        per = (time.monotonic() - self.began) / self.done
        left = max(self.most - self.done, 0)
        interval = f" [{trial.interval[0]:.0f}, {trial.interval[1]:.0f}]" if trial.interval else ""
        value = f"{trial.value_ms:.0f} ms{interval}" if trial.value_ms is not None else "no value"
        bound = f"; bound by {trial.bound}" if trial.bound else ""
        print(f"trial {self.done}: {trial.combo.label} cpus={trial.cpus:g} at {trial.rate:g} "
              f"(attempt {trial.attempt + 1}): {trial.verdict.upper()}, {value}: "
              f"{trial.reason}{bound} [at most {left} more, ~{left * per / 60:.0f} min]",
              file=sys.stderr, flush=True)  # fmt: skip


def _cmd_kubernetes(args: argparse.Namespace) -> int:
    """The plan as manifests for a cluster with Locust's operator (docs/kubernetes.md)."""
    from loadlab.plan.config import resolve
    from loadlab.stack import kubernetes  # local: this command is its only user

    plan = resolve(_sweep_config(args))
    written = kubernetes.write(plan, Path(args.manifests), namespace=args.namespace,
                               registry=args.registry)  # fmt: skip
    print(f"kubernetes: {len(written)} files in {args.manifests} (kubectl apply -f, in order)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    outcome = _measure(args)
    if isinstance(outcome, int):
        return outcome
    for line in workflow.ceiling_lines(outcome.run):
        print(line)
    if outcome.unexpected:
        where = outcome.run.directory / "index.html"
        counts = ", ".join(f"{n} {status}" for status, n in sorted(outcome.unexpected.items()))
        print(f"error: points not ok ({counts}); see {where}", file=sys.stderr)
        return 1
    return 0


def _cmd_nightly(args: argparse.Namespace) -> int:
    """Exit 0: passed or a new baseline; 1: a confirmed regression or a failed point;
    3: no comparison possible (the summary says why and how to re-baseline)."""
    import os  # local: this function is its only user

    from loadlab.judge.store import Store
    from loadlab.report import nightly_summary

    if args.judge:  # a finished run, e.g. a recorded one: no lab, so nothing re-measured
        run, remeasure = Run.load(Path(args.judge)), None
    else:
        outcome = _measure(args)
        if isinstance(outcome, int):
            return outcome
        run, remeasure = outcome.run, outcome.remeasure
    verdict = gate.gate(run, Path(args.store), committed=Path(args.baseline),
                        threshold=args.threshold, p95_threshold=args.p95_threshold,
                        remeasure=remeasure, rebaseline=args.rebaseline)  # fmt: skip
    print(nightly_summary.write(verdict, run, Store(Path(args.store)), args.rebaseline))
    print(f"summary: {run.directory / nightly_summary.SUMMARY}")
    if os.environ.get("GITHUB_ACTIONS") == "true":  # notices and errors on the job page
        for line in nightly_summary.annotations(verdict):
            print(line)
    if not verdict.comparable:
        print("error: no comparable baseline; see the summary", file=sys.stderr)
        return 3
    if not verdict.passed:
        print(f"error: the nightly gate failed; see {run.directory / nightly_summary.SUMMARY}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from loadlab.report import compare_page  # local: this function is its only user

    a, b = Run.load(Path(args.a)), Run.load(Path(args.b))
    given = {"threshold": args.threshold, "p95_threshold": args.p95_threshold}
    result = compare.compare(a, b, force=args.force, **{k: v for k, v in given.items() if v})
    print(compare_page.to_markdown(result))
    print(f"html: {compare_page.write(result, Path(args.b))}", file=sys.stderr)
    return 0


def _cmd_baseline(args: argparse.Namespace) -> int:
    run = gate.record_baseline(Path(args.run), Path(args.baseline))
    print(f"baseline: {args.baseline} now holds {run.run_id}; commit it to make it stick")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    path = index.render(Run.load(Path(args.run)))
    print(f"report: {path}")
    return 0


def _add_sweep(sub: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help)
    for name, doc, default in settings_help():
        hint = f" (default: {default})" if default is not None else ""
        flag = {"nargs": "?", "const": "1"} if name == "yes" else {}  # --yes alone means 1
        p.add_argument(
            "--" + name.replace("_", "-"), dest=name, metavar=name.upper(), help=doc + hint, **flag
        )
    p.add_argument("--dry-run", action="store_true", help="validate and print the plan only")
    return p


def _threshold(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("a fraction between 0 and 1, e.g. 0.1 for 10 %")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadlab", description="FastAPI concurrency lab")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_sweep(sub, "sweep", "run a sweep and write reports/<run-id>/").set_defaults(
        func=_cmd_sweep
    )
    _add_sweep(sub, "verify", "check the target answers as its file says").set_defaults(
        func=_cmd_verify
    )
    p = _add_sweep(sub, "capacity", "the cheapest configuration meeting an SLO at a rate")
    p.add_argument("--rate", help="requests a second to serve (the open loop's rate)")
    p.add_argument("--slo", help="the objective, e.g. p99<250ms (p99, p95, p50, mean)")
    p.add_argument("--cpu-step", dest="cpu_step", help="the CPU grid's step (default 0.05)")
    p.add_argument("--headroom", choices=("0", "1"),
                   help="1 (default): also try the answer at 1.5x and 2x the rate")  # fmt: skip
    p.add_argument("--attempts", help=f"windows a trial gets (default {ATTEMPTS})")
    p.set_defaults(func=_cmd_capacity)
    p = _add_sweep(sub, "kubernetes", "write the plan as Kubernetes manifests (not applied)")
    p.add_argument("--manifests", required=True, help="a new or empty directory to write to")
    p.add_argument("--namespace", help="the manifests' namespace (default: the cluster's)")
    p.add_argument("--registry", help="where the cluster pulls the lab's images from")
    p.set_defaults(func=_cmd_kubernetes)
    p = _add_sweep(sub, "nightly", "sweep (profile nightly) and gate on the baseline")
    p.set_defaults(func=_cmd_nightly, profile="nightly")
    p.add_argument("--baseline", default=str(gate.BASELINE), help="the committed reference")
    p.add_argument("--store", default=str(gate.STORE), help="baselines per machine, history")
    p.add_argument("--threshold", type=_threshold, help="minimum rps change that counts")
    p.add_argument("--p95-threshold", type=_threshold, help="minimum p95 change that counts")
    p.add_argument("--rebaseline", action="store_true", help="make this night the baseline")
    p.add_argument("--judge", metavar="RUN", help="gate this finished run instead of sweeping")
    p = sub.add_parser("compare", help="compare run B with reference run A")
    p.add_argument("a", help="the reference run directory")
    p.add_argument("b", help="the run directory to judge; compare.html is written here")
    p.add_argument("--threshold", type=_threshold, help="minimum change that counts")
    p.add_argument("--p95-threshold", type=_threshold, help="minimum p95 change that counts")
    p.add_argument("--force", action="store_true", help="compare different environments")
    p.set_defaults(func=_cmd_compare)
    p = sub.add_parser("baseline", help="record a run as the nightly baseline")
    p.add_argument("run", help="the run directory")
    p.add_argument("--baseline", default=str(gate.BASELINE), help="where to keep it")
    p.set_defaults(func=_cmd_baseline)
    p = sub.add_parser("report", help="re-render summary.csv and index.html of a run")
    p.add_argument("run", help="a run directory, e.g. reports/latest")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("cpus", help="print the cpusets for a CPU limit, as shell assignments")
    p.add_argument("--cpus", type=float, required=True)
    p.add_argument("--cpuset", default="", help="pin the target here instead")
    p.set_defaults(func=_cmd_cpus)
    return parser


_SIGNALS: list[int] = []  # which signal interrupted us (SIGINT arrives as KeyboardInterrupt)


def _interrupted_code() -> int:
    return 128 + (_SIGNALS[-1] if _SIGNALS else signal.SIGINT)


def _sigterm(signum: int, _frame: object) -> None:
    _SIGNALS.append(signum)
    # CI cancelling a job sends SIGTERM: stop as cleanly as on Ctrl-C.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> None:
    # Background shells start children with SIGINT ignored; a sweep must stop cleanly on it
    # however it was launched, so take both signals explicitly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _sigterm)
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = _interrupted_code()
    raise SystemExit(code)
