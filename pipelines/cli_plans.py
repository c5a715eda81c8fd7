"""`attain whatif` and `attain plans diff` (issue 14 items 1 and 4): working on plans before they are paid.

    attain whatif --plans DRAFT --from 2026-01 --to 2026-10 [--data DIR] [--name NAME]
    attain plans diff OLD NEW

Kept apart from ``pipelines.cli`` (which wires them into the parser) so the main command module stays short.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from pipelines.cli import _month, _var
from pipelines.run_lock import run_lock
from pipelines.run_summary import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, shown


def cmd_whatif(args: argparse.Namespace) -> int:
    """Model ``--from``..``--to`` under the draft plans (issue 14 item 1): files, then one line per currency."""
    from assets.whatif import run_whatif
    from attain.ingest.raw import InputFileError
    from attain.pay.plans import PlanError
    from pipelines.resources import default_resources

    if args.to < args.start:
        print(f"error: --to {args.to} is before --from {args.start}", file=sys.stderr)
        return EXIT_USAGE
    resources = default_resources(var=_var(args), data_dir=args.data)
    try:
        with run_lock(_var(args), f"`attain whatif` for {args.start} to {args.to}"):
            run = run_whatif(resources["attain"], resources["warehouse"], args.plans, args.start, args.to, args.name)
    except (PlanError, InputFileError, ValueError) as error:  # a plan, an input file, a rep's currency vs plan
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    for path in run.files:
        print(shown(path))
    print("\n".join(run.lines) if run.lines else "nobody is paid in these months under either plan")
    return EXIT_OK


def cmd_plans_diff(args: argparse.Namespace) -> int:
    """Print what changed from the OLD plans to the NEW ones, one sentence a line (issue 14 item 4)."""
    from attain.pay.plan_diff import diff_paths
    from attain.pay.plans import PlanError

    try:
        changes = diff_paths(args.old, args.new)
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    print("\n".join(changes) if changes else "no change: the plans pay alike")
    return EXIT_OK


def plan_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """`attain whatif` and `attain plans diff` (issue 14 items 1 and 4)."""
    p = add("whatif", help="pay past months again under draft plans and compare (writes nothing to the warehouse)")
    p.add_argument("--plans", type=Path, required=True, help="draft plans: a folder (or one file); others stay")
    p.add_argument("--from", dest="start", type=_month, required=True, help="first month modelled")
    p.add_argument("--to", type=_month, required=True, help="last month modelled")
    p.add_argument("--data", type=Path, help="input folder (default: ATTAIN_DATA_DIR or var/demo-data)")
    p.add_argument("--name", default="", help="folder under var/output/whatif/ (default: DRAFT_FROM_TO)")
    p.set_defaults(func=cmd_whatif)

    p = add("plans", help="work with plan files")
    plans = p.add_subparsers(dest="plans_command", required=True)
    d = plans.add_parser("diff", help="what changed between two plan files or folders, in words")
    d.add_argument("old", type=Path)
    d.add_argument("new", type=Path)
    d.set_defaults(func=cmd_plans_diff)
