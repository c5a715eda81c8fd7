"""The input contract: Pandera models of the input tables after parsing and of the quarantine.

One ``DataFrameModel`` per input table of docs/data-model.md, typed as the
validated DataFrames are (money in ``int64`` minor units, dates as
``datetime64[ns]``, ratios as decimal text). ``attain.ingest.quarantine`` runs them with
``lazy=True`` so every problem of a file is reported at once, and turns each
failure into a quarantine row.

The models are the one place the columns are written: the header each input file
must have (:data:`CONTRACT`, from the columns' ``in_header`` metadata), the columns
of each validated table (:data:`OUTPUT_COLUMNS`) and the quarantine's are derived
from them.

Check names are stable: ``attain.ingest.reasons`` maps ``(column, check name)`` to a
reason written for the person who fixes the file.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from attain.money import MINOR_DIGITS
from attain.settings import how_to_set

CURRENCIES = sorted(MINOR_DIGITS)
STAGES = ["won", "lost", "open"]
SPLIT_ROLES = ["split", "overlay"]
REP_ROLES = ["rep", "manager"]
LOCALES = ["en", "zh_CN"]
TARGET_SCOPES = ["rep", "team"]
METRICS = ["revenue", "won_deals", "new_accounts"]
INPUT_TABLES = ["deals", "credit_splits", "reps", "targets", "fx_rates", "surveys", "disputes", "self_assessments"]
#: How a dispute stands; accepted and partly accepted ones are paid as adjustments (docs/plans.md "Disputes").
DISPUTE_STATUSES = ["open", "accepted", "rejected", "partly accepted"]

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
#: A positive or zero decimal literal such as "60", "0.92", "12.5".
DECIMAL_PATTERN = r"^\d+(\.\d+)?$"


#: Column metadata saying how a column of a validated table appears in its input file's header. A column without
#: ``in_header`` is required in the header; ``header_name`` names a header column parsed into another one.
OPTIONAL = {"in_header": "optional"}  # may be left out of the header (read as blank)
COMPUTED = {"in_header": "no"}  # computed by the ingest, never read from the file


def _required_text(description: str) -> Any:  # pa.Field is typed Any, to fit any column annotation
    return pa.Field(ne="", description=description)


def _not_zero(decimal_text: pd.Series) -> pd.Series:
    """False where a decimal-text column is zero ("0", "0.00"): a share or rate that makes everything zero."""
    return ~decimal_text.str.fullmatch(r"0+(\.0+)?")


class _Traced(pa.DataFrameModel):
    """Every validated input row keeps where it came from."""

    source_file: Series[str] = pa.Field(description="file name, relative to the data folder")
    source_row: Series[int] = pa.Field(ge=2, description="row in the file; the header is row 1")


class DealsSchema(_Traced):
    """deals after parsing: one row per deal in the month's snapshot."""

    deal_id: Series[str] = pa.Field(ne="", unique=True, description="CRM opportunity id, unique")
    owner_id: Series[str] = _required_text("rep_id of the deal owner (a roster rep)")
    account: Series[str] = pa.Field(description="customer name; may be blank on open deals")
    product: Series[str] = pa.Field(description="product sold")
    amount_minor: Series[int] = pa.Field(
        metadata={"header_name": "amount"},
        ge=0,
        description="deal amount in minor units of `currency` (0 for a blank amount on an open deal)",
    )
    currency: Series[str] = pa.Field(isin=CURRENCIES, description="ISO 4217 code of the amount")
    stage: Series[str] = pa.Field(isin=STAGES, description="won, lost or open (lower-cased)")
    created_date: Series[pd.Timestamp] = pa.Field(
        metadata=OPTIONAL, nullable=True, description="opportunity opened; NaT when unknown"
    )
    close_date: Series[pd.Timestamp] = pa.Field(nullable=True, description="won/lost date; NaT on open deals")
    cancelled_date: Series[pd.Timestamp] = pa.Field(
        metadata=OPTIONAL, nullable=True, description="cancellation or refund of a won deal (clawback event)"
    )
    cancel_reason: Series[str] = pa.Field(metadata=OPTIONAL, description="why the deal was cancelled")

    @pa.dataframe_check(name="closed_deal_has_close_date", ignore_na=False)
    def closed_deal_has_close_date(cls, df: pd.DataFrame) -> pd.Series:
        """Won and lost deals need the date they were decided."""
        return ~(df["stage"].isin(["won", "lost"]) & df["close_date"].isna())

    @pa.dataframe_check(name="close_not_before_created", ignore_na=False)
    def close_not_before_created(cls, df: pd.DataFrame) -> pd.Series:
        """A deal cannot close before it was opened."""
        return ~(df["close_date"] < df["created_date"])

    @pa.dataframe_check(name="cancelled_only_if_won", ignore_na=False)
    def cancelled_only_if_won(cls, df: pd.DataFrame) -> pd.Series:
        """Only a won deal can be cancelled or refunded."""
        return df["cancelled_date"].isna() | (df["stage"] == "won")

    @pa.dataframe_check(name="cancelled_not_before_close", ignore_na=False)
    def cancelled_not_before_close(cls, df: pd.DataFrame) -> pd.Series:
        """A deal is cancelled after it was won."""
        return ~(df["cancelled_date"] < df["close_date"])

    class Config:
        strict = "filter"


class CreditSplitsSchema(_Traced):
    """credit_splits: extra or shared credit on a deal."""

    deal_id: Series[str] = _required_text("a deal_id of deals")
    rep_id: Series[str] = _required_text("the credited rep (a roster rep)")
    share: Series[str] = pa.Field(str_matches=DECIMAL_PATTERN, description='percent as decimal text: "60" = 60%')
    role: Series[str] = pa.Field(
        isin=SPLIT_ROLES, description="split (shares of a deal sum to 100) or overlay (extra credit)"
    )

    @pa.dataframe_check(name="share_positive", ignore_na=False)
    def share_positive(cls, df: pd.DataFrame) -> pd.Series:
        """A credit row with a zero share credits nothing and is a data-entry slip."""
        return _not_zero(df["share"])

    class Config:
        strict = "filter"


class RepsSchema(_Traced):
    """reps: the roster, one row per (rep_id, valid_from)."""

    rep_id: Series[str] = _required_text("person id; unique per valid_from")
    name: Series[str] = _required_text("full name as printed in packs")
    email: Series[str] = pa.Field(
        str_matches=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$", description="e-mail address for packs (blank: none)"
    )
    role: Series[str] = pa.Field(isin=REP_ROLES, description="rep or manager")
    manager_id: Series[str] = pa.Field(description="rep_id of this person's manager; blank at the top")
    team: Series[str] = pa.Field(description="team name")
    region: Series[str] = pa.Field(description="region name")
    hire_date: Series[pd.Timestamp] = pa.Field(description="first day employed")
    leave_date: Series[pd.Timestamp] = pa.Field(
        metadata=OPTIONAL, nullable=True, description="last day employed; NaT while employed"
    )
    plan_id: Series[str] = pa.Field(metadata=OPTIONAL, description="incentive plan id (plans/*.yaml); blank = no plan")
    locale: Series[str] = pa.Field(isin=LOCALES, description="language of the pack and e-mail")
    currency: Series[str] = pa.Field(isin=CURRENCIES, description="plan currency credit is converted to")
    valid_from: Series[str] = pa.Field(
        metadata=OPTIONAL,
        str_matches=r"^$|" + MONTH_PATTERN,
        description="first month (YYYY-MM) this row is in force; blank = always",
    )

    @pa.dataframe_check(name="leave_not_before_hire", ignore_na=False)
    def leave_not_before_hire(cls, df: pd.DataFrame) -> pd.Series:
        """Nobody leaves before being hired."""
        return ~(df["leave_date"] < df["hire_date"])

    class Config:
        strict = "filter"


class TargetsSchema(_Traced):
    """targets: effective-dated monthly targets per rep or team.

    ``target`` is ``amount`` as an integer: minor units of ``currency`` (the
    scope's plan currency) for revenue, a count for the other metrics; <NA> when
    the amount is blank ("no target").
    """

    scope: Series[str] = pa.Field(isin=TARGET_SCOPES, description="rep or team")
    scope_id: Series[str] = _required_text("a rep_id or a team name of the roster")
    month: Series[str] = pa.Field(str_matches=MONTH_PATTERN, description="target month YYYY-MM")
    metric: Series[str] = pa.Field(isin=METRICS, description="revenue, won_deals or new_accounts")
    amount: Series[str] = pa.Field(description="the amount as written in the file (decimal text)")
    target: Series[pd.Int64Dtype] = pa.Field(
        metadata=COMPUTED, ge=0, nullable=True, description="minor units (revenue) or count; <NA> = no target"
    )
    currency: Series[str] = pa.Field(
        metadata=COMPUTED, description="plan currency of a revenue target; blank for counts"
    )
    effective_date: Series[pd.Timestamp] = pa.Field(description="when this value took effect")
    reason: Series[str] = pa.Field(metadata=OPTIONAL, description="why the target was set or changed")
    author: Series[str] = pa.Field(metadata=OPTIONAL, description="who set it")

    class Config:
        strict = "filter"


class FxRatesSchema(_Traced):
    """fx_rates: value of one unit of `currency` in the base currency, per month."""

    month: Series[str] = pa.Field(str_matches=MONTH_PATTERN, description="month YYYY-MM")
    currency: Series[str] = pa.Field(isin=CURRENCIES, description="ISO code")
    rate: Series[str] = pa.Field(
        str_matches=DECIMAL_PATTERN, description="base-currency units per 1 unit, decimal text"
    )

    @pa.dataframe_check(name="rate_positive", ignore_na=False)
    def rate_positive(cls, df: pd.DataFrame) -> pd.Series:
        """A zero rate would make every conversion zero or a division by zero."""
        return _not_zero(df["rate"])

    class Config:
        strict = "filter"


class SurveysSchema(_Traced):
    """surveys: customer responses tied to a deal or an account."""

    response_id: Series[str] = pa.Field(ne="", unique=True, description="unique response id")
    deal_id: Series[str] = pa.Field(metadata=OPTIONAL, description="the deal surveyed (blank: use account)")
    account: Series[str] = pa.Field(metadata=OPTIONAL, description="the account surveyed when there is no deal")
    response_date: Series[pd.Timestamp] = pa.Field(description="date of the response")
    score: Series[int] = pa.Field(description="score within the scale")
    scale: Series[str] = pa.Field(
        ne="", description=f"csat_1_5, nps_0_10 or a declared scale ({how_to_set('survey_scales')})"
    )
    comment: Series[str] = pa.Field(metadata=OPTIONAL, description="free text")

    @pa.dataframe_check(name="deal_or_account", ignore_na=False)
    def deal_or_account(cls, df: pd.DataFrame) -> pd.Series:
        """A response must say whom it is about."""
        return (df["deal_id"] != "") | (df["account"] != "")

    class Config:
        strict = "filter"


class DisputesSchema(_Traced):
    """disputes: a rep's claim against a month's statement and its decision (optional input, full history).

    Amounts are in the rep's plan currency of the disputed month (``currency``, from the roster). A decision
    dated after the snapshot's month end is not known yet: the dispute counts as open in that snapshot.
    """

    dispute_id: Series[str] = pa.Field(ne="", unique=True, description="unique dispute id")
    rep_id: Series[str] = _required_text("the rep who raised it (a roster rep)")
    month: Series[str] = pa.Field(str_matches=MONTH_PATTERN, description="month of the disputed statement YYYY-MM")
    line_no: Series[pd.Int64Dtype] = pa.Field(
        metadata=OPTIONAL, ge=1, nullable=True, description="the disputed statement line; blank: a deal or the month"
    )
    deal_id: Series[str] = pa.Field(metadata=OPTIONAL, description="the disputed deal (a deal of deals); may be blank")
    claim: Series[str] = _required_text("what the rep claims, in their words")
    amount_claimed_minor: Series[pd.Int64Dtype] = pa.Field(
        metadata={"header_name": "amount_claimed"}, nullable=True, description="minor units of `currency`"
    )
    currency: Series[str] = pa.Field(metadata=COMPUTED, description="the rep's plan currency in `month`")
    status: Series[str] = pa.Field(isin=DISPUTE_STATUSES, description="open, accepted, rejected or partly accepted")
    resolution: Series[str] = pa.Field(metadata=OPTIONAL, description="why it was decided so")
    amount_granted_minor: Series[pd.Int64Dtype] = pa.Field(
        metadata={"header_name": "amount_granted", "in_header": "optional"},
        nullable=True,
        description="what is paid (minor units); blank on accepted = the amount claimed",
    )
    decided_by: Series[str] = pa.Field(metadata=OPTIONAL, description="who decided")
    decided_at: Series[pd.Timestamp] = pa.Field(metadata=OPTIONAL, nullable=True, description="when it was decided")

    @pa.dataframe_check(name="decision_recorded", ignore_na=False)
    def decision_recorded(cls, df: pd.DataFrame) -> pd.Series:
        """A decided dispute says who decided it and when."""
        decided = df["status"].isin(DISPUTE_STATUSES) & (df["status"] != "open")
        return ~decided | ((df["decided_by"] != "") & df["decided_at"].notna())

    @pa.dataframe_check(name="granted_fits_status", ignore_na=False)
    def granted_fits_status(cls, df: pd.DataFrame) -> pd.Series:
        """Open and rejected pay nothing; partly accepted pays more than nothing and less than claimed."""
        granted, claimed = df["amount_granted_minor"], df["amount_claimed_minor"]
        nothing = granted.isna() | granted.eq(0)
        partly = granted.gt(0) & (claimed.isna() | granted.lt(claimed))
        return (
            ~df["status"].isin(DISPUTE_STATUSES)
            | (df["status"].isin(["open", "rejected"]) & nothing)
            | ((df["status"] == "partly accepted") & partly)
            | ((df["status"] == "accepted") & granted.notna())
        ).fillna(False)


class SelfAssessmentsSchema(_Traced):
    """self_assessments: a rep's own view of the month and the help they ask for (issue 13 item 3)."""

    rep_id: Series[str] = _required_text("the rep writing (a roster rep)")
    month: Series[str] = pa.Field(str_matches=MONTH_PATTERN, description="the month reviewed, YYYY-MM")
    text: Series[str] = pa.Field(metadata=OPTIONAL, description="the rep's own view of the month")
    help_wanted: Series[str] = pa.Field(metadata=OPTIONAL, description="the help, training or support asked for")

    @pa.dataframe_check(name="text_or_help_wanted", ignore_na=False)
    def text_or_help_wanted(cls, df: pd.DataFrame) -> pd.Series:
        """A row says something: its own view, the help wanted, or both."""
        return (df["text"] != "") | (df["help_wanted"] != "")

    class Config:
        strict = "filter"


class QuarantineSchema(pa.DataFrameModel):
    """quarantine: one row per (input row, column) problem; nothing is dropped silently."""

    month: Series[str] = pa.Field(str_matches=MONTH_PATTERN, description="the run's month")
    table: Series[str] = pa.Field(isin=INPUT_TABLES, description="input table of the rejected row")
    source_file: Series[str] = pa.Field(description="file name, relative to the data folder")
    source_row: Series[int] = pa.Field(ge=2, description="row in the file; the header is row 1")
    column: Series[str] = pa.Field(description="the column at fault (blank: the whole row)")
    value: Series[str] = pa.Field(description="the value at fault, as written in the file")
    reason: Series[str] = pa.Field(ne="", description="what is wrong and what to do, for the person who fixes the file")
    record: Series[str] = pa.Field(description="the rejected row as JSON text")

    class Config:
        strict = True


#: The schema of each input table, by table name.
INPUT_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "deals": DealsSchema,
    "credit_splits": CreditSplitsSchema,
    "reps": RepsSchema,
    "targets": TargetsSchema,
    "fx_rates": FxRatesSchema,
    "surveys": SurveysSchema,
    "disputes": DisputesSchema,
    "self_assessments": SelfAssessmentsSchema,
}


def _output_columns(model: type[pa.DataFrameModel]) -> list[str]:
    """The columns of a validated table, in order: the model's, less where each row came from."""
    traced = _Traced.to_schema().columns
    return [name for name in model.to_schema().columns if name not in traced]


def header_columns(model: type[pa.DataFrameModel], *kinds: str) -> tuple[str, ...]:
    """The input file's header columns of ``model`` whose ``in_header`` is one of ``kinds``, in the model's order."""
    columns = model.to_schema().columns
    names = []
    for name in _output_columns(model):
        metadata = columns[name].metadata or {}
        if metadata.get("in_header", "required") in kinds:
            names.append(metadata.get("header_name", name))
    return tuple(names)


#: Contract columns of each input file: (required in the header, optional in the header).
CONTRACT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    name: (header_columns(model, "required"), header_columns(model, "optional"))
    for name, model in INPUT_SCHEMAS.items()
}
REQUIRED_TABLES = ("deals", "reps", "targets")
#: Columns of the quarantine table, in order.
QUARANTINE_COLUMNS = list(QuarantineSchema.to_schema().columns)

#: Output columns of each validated table, in order (data-model.md).
OUTPUT_COLUMNS: dict[str, list[str]] = {name: _output_columns(model) for name, model in INPUT_SCHEMAS.items()}
#: Date columns of each input table that has any.
_DATE_COLUMNS = {
    name: dates
    for name, model in INPUT_SCHEMAS.items()
    if (dates := tuple(c for c, col in model.to_schema().columns.items() if col.dtype.type == "datetime64[ns]"))
}
_BUILTIN_SCALES = {"csat_1_5": (1, 5), "nps_0_10": (0, 10)}
_SHARE_DIGITS = 6  # shares are compared as integers in millionths of a percent
_NO_DATE = pd.NaT
