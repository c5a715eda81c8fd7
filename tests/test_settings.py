"""Every setting a message asks for can be set: a CLI flag, the data folder's attain.yaml, the Dagster run config.

The message walk reads the code itself: each ``how_to_set(...)`` call is a message that names a setting, and the
flag and attain.yaml line it quotes are fed to the real parsers, the real file loader and Dagster's run-config
validation. Any other string in the code that names a setting by hand is reported, so a new message cannot
ask for a setting without saying how to set it.
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from attain.settings import (
    OPTIONS,
    Settings,
    SettingsError,
    how_to_set,
    load_settings_file,
    merge_options,
    parse_options,
    settings_from,
)
from pipelines.cli import _flag_options, build_parser, main
from pipelines.resources import CONFIG_FIELDS, AttainConfig, config_fields, default_resources

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
SOURCE_FOLDERS = ("attain", "checks", "pipelines", "assets")
SETTINGS_FIELDS = {f.name for f in fields(Settings)}
#: Setting names as a message would write them: identifiers (``survey_scales``), ``settings.x``, YAML keys
#: (``profile`` and ``mapping`` are also plain words: only their YAML form ``profile:`` counts).
NAMED = re.compile(
    r"\bsettings\.\w+|\b(?:"
    + "|".join(name for name in OPTIONS if "_" in name or name in ("timezone", "encodings"))
    + r")\b|(?:^|`)(?:profile|mapping):"
)
#: Strings that name a key of a mapping file, in an error that names that mapping file (not a setting).
MAPPING_FILE_KEYS = {("attain/ingest/profiles.py", "date_order: ")}
#: Commands whose parser takes a setting's flag.
COMMANDS = {
    "run": ["run", "--month", "2026-10"],
    "validate": ["validate", "data"],
    "demo": ["demo"],
    "maven": ["maven"],
}
DEALS_FILE_OPTIONS = {"profile", "mapping", "date_order", "decimal_comma"}


def _trees():
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _how_to_set_calls() -> list[tuple[str, str, object]]:
    """(file, setting, example) of every how_to_set call in the code; example None when computed at run time."""
    calls = []
    for file, tree in _trees():
        for node in ast.walk(tree):
            # a call with a computed name (the loader's own errors) may name any setting: all are walked below
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "how_to_set":
                if not isinstance(node.args[0], ast.Constant):
                    continue
                name = node.args[0].value
                try:
                    example = ast.literal_eval(node.args[1]) if len(node.args) > 1 else None
                except ValueError:
                    example = None
                calls.append((file, name, example))
    return calls


def _literals_naming_a_setting() -> list[tuple[str, int, str]]:
    """Strings of the code (not docstrings) that name a setting, outside how_to_set."""
    found = []
    for file, tree in _trees():
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and " " in node.value
                and id(node) not in docstrings
                and NAMED.search(node.value)
                and (file, node.value) not in MAPPING_FILE_KEYS
            ):
                found.append((file, node.lineno, node.value))
    return found


CALLS = _how_to_set_calls()


def _typed(name: str, example: object) -> object:
    """The value Attain uses for an example as written in the code (its own example when computed)."""
    value = OPTIONS[name].example if example is None else example
    if OPTIONS[name].keyed:
        return {key: tuple(item) if isinstance(item, list) else item for key, item in value.items()}
    return value


def _parts(message: str) -> tuple[list[str], str]:
    """The flag and the attain.yaml line a message quotes."""
    match = re.search(r"`(--[^`]+)` or `([^`]+)` in attain\.yaml", message)
    assert match, message
    return shlex.split(match[1]), match[2]


@pytest.fixture(scope="module")
def month_end_job():
    from pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def("month_end")


def test_no_message_names_a_setting_without_saying_how_to_set_it():
    assert _literals_naming_a_setting() == []


def test_the_walk_finds_the_messages_of_the_issue():
    named = {name for _, name, _ in CALLS}
    assert {"quarantine_max_share", "encodings", "survey_scales"} <= named
    assert ("attain/readiness.py", "quarantine_max_share") in {(file, name) for file, name, _ in CALLS}


@pytest.mark.parametrize(
    "name, example",
    sorted({(name, repr(example)): (name, example) for _, name, example in CALLS}.values(), key=repr)
    + [(name, None) for name in OPTIONS],
    ids=repr,
)
def test_a_setting_quoted_by_a_message_is_reachable_all_three_ways(name, example, tmp_path, month_end_job):
    expected = _typed(name, example)
    flag, line = _parts(how_to_set(name, example))

    # (1) a field of Settings, or of the attain resource for how files are read and packs rendered
    field = CONFIG_FIELDS.get(name, name)
    assert name in SETTINGS_FIELDS or name in DEALS_FILE_OPTIONS | {"render_processes", "pack_chunk_teams"}
    assert field in AttainConfig.model_fields

    # (2) the flag the message quotes is taken by `attain run` and `attain validate` (and the demo runs)
    commands = ["run", "validate"] if name in DEALS_FILE_OPTIONS else ["run", "demo", "maven"]
    if name in SETTINGS_FIELDS:
        commands.append("validate")
    for command in commands:
        args = build_parser().parse_args([*COMMANDS[command], *flag])
        assert _flag_options(args) == {name: expected}, command

    # (3) the attain.yaml line the message quotes reaches Settings
    (tmp_path / "attain.yaml").write_text(line + "\n", encoding="utf-8")
    loaded = load_settings_file(tmp_path / "attain.yaml")
    if name == "mapping":
        expected = str(tmp_path / expected)
    assert loaded == {name: expected}
    if name in SETTINGS_FIELDS:
        assert getattr(settings_from(loaded), name) == expected

    # (4) the Dagster run config of the attain resource takes it, and the resource gives it back
    run_config = {"resources": {"attain": {"config": config_fields({name: expected})}}}
    dg.validate_run_config(month_end_job, run_config)
    resource = AttainConfig(data_dir=str(tmp_path / "no-settings-here"), **config_fields({name: expected}))
    assert resource.option(name) == expected


# ---------------------------------------------------------------- precedence


def test_flag_beats_environment_beats_attain_yaml_beats_default(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "attain.yaml").write_text(
        "timezone: Asia/Tokyo\nfiscal_year_start: 4\nmin_responses: 3\nquarantine_max_share: 0.10\n"
        "encodings: {deals: cp1252, reps: utf-8}\nsurvey_scales: {NPS_1_10: [1, 10]}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ATTAIN_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("ATTAIN_FISCAL_YEAR_START", "7")
    args = build_parser().parse_args(
        [
            "run",
            "--month",
            "2026-10",
            "--fiscal-year-start",
            "10",
            "--min-responses",
            "8",
            "--encoding",
            "deals=latin-1",
        ]
    )
    resource = default_resources(var=tmp_path / "var", data_dir=data, **config_fields(_flag_options(args)))["attain"]
    settings = resource.settings()
    assert settings.fiscal_year_start == 10  # flag over environment and file
    assert settings.timezone == "Europe/Paris"  # environment over file
    assert settings.min_responses == 8  # flag over file
    assert settings.quarantine_max_share == Decimal("0.10")  # file, read as written (not a float)
    assert settings.encodings == {"deals": "latin-1", "reps": "utf-8"}  # item by item
    assert settings.survey_scales == {"nps_1_10": (1, 10)}
    assert settings.base_currency == "USD" and settings.pack_time_limit == 120  # defaults
    assert resource.option("render_processes") == 2


def test_merge_keeps_the_later_layer_item_by_item():
    merged = merge_options(
        {"product_aliases": {"GTXPro": "GTX Pro", "A": "B"}, "min_responses": 2}, {"product_aliases": {"A": "C"}}
    )
    assert merged == {"product_aliases": {"GTXPro": "GTX Pro", "A": "C"}, "min_responses": 2}


# ---------------------------------------------------------------- errors in the file


def _error(tmp_path: Path, text: str) -> str:
    (tmp_path / "attain.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings_file(tmp_path / "attain.yaml")
    return str(error.value)


def test_an_unknown_key_names_the_file_the_key_and_the_closest_setting(tmp_path):
    message = _error(tmp_path, "timezone: UTC\nquarantine_max_shar: 0.1\n")
    assert message.startswith(f"{tmp_path / 'attain.yaml'}: 'quarantine_max_shar' is not a setting; ")
    assert "did you mean 'quarantine_max_share'?" in message


def test_a_wrong_value_names_the_key_and_an_example(tmp_path):
    assert _error(tmp_path, "min_responses: five\n") == (
        f"{tmp_path / 'attain.yaml'}: min_responses: 'five' is not a whole number; write for example "
        "`--min-responses 5` or `min_responses: 5` in attain.yaml"
    )
    assert _error(tmp_path, "survey_scales: {nps_1_10: [10, 1]}\n").endswith(
        "survey_scales 'nps_1_10': ['10', '1'] has a lowest score that is not below the highest; write for "
        "example `--survey-scale nps_1_10=1-10` or `survey_scales: {nps_1_10: [1, 10]}` in attain.yaml"
    )
    assert "quarantine_max_share: '1.5' is not above 0 and at most 1" in _error(tmp_path, "quarantine_max_share: 1.5")
    assert "timezone: 'Mars/Olympus' is not an IANA time zone" in _error(tmp_path, "timezone: Mars/Olympus")
    assert "encodings: 'deal' is not an input; use one of deals, credit_splits, " in _error(
        tmp_path, "encodings: {deal: cp1252}"
    )
    assert "encodings 'deals': 'klingon' is not a known text encoding" in _error(
        tmp_path, "encodings: {deals: klingon}"
    )


def test_a_file_that_is_not_settings_says_so(tmp_path):
    assert "is not a readable YAML file" in _error(tmp_path, "timezone: [UTC\n")
    assert "write one 'setting: value' per line" in _error(tmp_path, "- timezone\n")
    assert load_settings_file(tmp_path / "absent.yaml") == {}


def test_run_config_values_are_checked_like_the_file():
    with pytest.raises(SettingsError, match=r"^the run config: amount_ceiling: '-5' is not a positive number"):
        parse_options({"amount_ceiling": "-5"}, "the run config")


# ---------------------------------------------------------------- the command line


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_a_broken_attain_yaml_stops_validate_and_run_with_one_line(data, tmp_path, capsys):
    (data / "attain.yaml").write_text("time_zone: Europe/Paris\n", encoding="utf-8")
    assert main(["validate", str(data), "--month", "2026-10"]) == 1
    assert main(["validate", str(data / "deals.csv"), "--month", "2026-10"]) == 1
    var = tmp_path / "var"
    assert main(["run", "--month", "2026-10", "--data", str(data), "--var", str(var), "--quiet"]) == 1
    err = capsys.readouterr().err.splitlines()
    expected = f"error: {data / 'attain.yaml'}: 'time_zone' is not a setting; did you mean 'timezone'? "
    assert len(err) == 3 and all(line.startswith(expected) for line in err)
    assert not (var / "warehouse.duckdb").exists()  # stopped before any step


def test_a_bad_flag_value_is_a_usage_error_quoting_the_syntax(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--month", "2026-10", "--survey-scale", "nps_1_10"])
    assert "--survey-scale: 'nps_1_10': write KEY=VALUE, for example `--survey-scale nps_1_10=1-10`" in (
        capsys.readouterr().err
    )


def _add_nps_1_10_responses(data: Path) -> None:
    with (data / "surveys.csv").open("a", encoding="utf-8") as f:
        f.write("S901,D1001,,2025-03-10,10,nps_1_10,\nS902,D1004,,2025-03-11,1,NPS_1_10,\n")


def test_a_1_10_nps_survey_is_refused_until_its_scale_is_declared(data, capsys):
    _add_nps_1_10_responses(data)
    assert main(["validate", str(data / "surveys.csv"), "--month", "2025-03"]) == 1
    out = capsys.readouterr().out
    assert (
        "scale 'nps_1_10' is not declared; Attain does not guess scales: use csat_1_5 or nps_0_10, or declare it "
        "with its lowest and highest score, `--survey-scale nps_1_10=1-10` or `survey_scales: {nps_1_10: [1, 10]}` "
        "in attain.yaml, so it is converted linearly to 1-5"
    ) in out
    assert main(["validate", str(data), "--month", "2025-03", "--survey-scale", "nps_1_10=1-10"]) == 0
    (data / "attain.yaml").write_text("survey_scales: {nps_1_10: [1, 10]}\n", encoding="utf-8")
    assert main(["validate", str(data / "surveys.csv"), "--month", "2025-03"]) == 0
    assert main(["validate", str(data), "--month", "2025-03"]) == 0
    assert "No problems found." in capsys.readouterr().out


@pytest.mark.slow
def test_a_1_10_nps_survey_runs_with_the_scale_in_attain_yaml(data, tmp_path, capsys):
    _add_nps_1_10_responses(data)
    (data / "attain.yaml").write_text("survey_scales: {nps_1_10: [1, 10]}\n", encoding="utf-8")
    var = tmp_path / "var"
    run = ["run", "--month", "2026-10", "--data", str(data), "--var", str(var), "--quiet", "--until", "satisfaction"]
    code = main(run)
    assert code == 0, capsys.readouterr().out
    with duckdb.connect(str(var / "warehouse.duckdb")) as con:
        surveys = con.execute("SELECT response_id, scale, score FROM attain.surveys ORDER BY response_id").fetchall()
        rejected = con.execute("SELECT count(*) FROM attain.quarantine WHERE \"table\" = 'surveys'").fetchone()[0]
    lines = (data / "surveys.csv").read_text(encoding="utf-8").splitlines()
    assert len(surveys) == len(lines) - 1 and rejected == 0  # rows in = accepted + quarantined
    assert ("S901", "nps_1_10", 10) in surveys and ("S902", "nps_1_10", 1) in surveys


def test_the_run_config_declares_a_scale_for_the_ingest(data, tmp_path):
    """(c) in action: the Dagster run config of the attain resource reaches the validation of the surveys."""
    from assets.ingest import validated_inputs

    _add_nps_1_10_responses(data)
    resources = default_resources(var=tmp_path / "var", data_dir=data)
    # Dagster replaces the resource's configured values by the run config's: the run config names the folder too
    attain = {"data_dir": str(data), "survey_scales": {"nps_1_10": [1, 10]}}
    for run_config, rejected in (({}, 2), ({"resources": {"attain": {"config": attain}}}, 0)):
        result = dg.materialize(
            [validated_inputs],
            partition_key="2026-10",
            resources=resources,
            run_config=run_config,
            instance=dg.DagsterInstance.ephemeral(),
        )
        quarantine = result.output_for_node("validated_inputs", "quarantine")
        assert (quarantine["table"] == "surveys").sum() == rejected
    attain["quarantine_max_share"] = "two"
    result = dg.materialize(
        [validated_inputs],
        partition_key="2026-10",
        resources=resources,
        raise_on_error=False,
        run_config={"resources": {"attain": {"config": attain}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.user_failure_data.description == (
        "the run config of the attain resource: quarantine_max_share: 'two' is not a positive number written with "
        "a decimal point; write for example `--quarantine-max-share 0.10` or `quarantine_max_share: 0.10` in "
        "attain.yaml"
    )


@pytest.mark.slow
def test_the_quarantine_limit_message_quotes_a_setting_that_lets_the_run_go_on(data, tmp_path, capsys):
    lines = (data / "deals.csv").read_text().splitlines()
    rows = [row.replace(",won,", ",wonn,", 1) if i % 4 == 0 else row for i, row in enumerate(lines[1:])]
    (data / "deals.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    run = ["run", "--month", "2026-10", "--data", str(data), "--quiet", "--until", "deals"]
    assert main(["--var", str(tmp_path / "var"), *run]) == 1
    out = capsys.readouterr().out
    assert (
        "3 of 9 deal rows (33.3%) were rejected, above the 5% limit: look at the quarantine table, fix the export, "
        "or raise the limit: `--quarantine-max-share 0.34` or `quarantine_max_share: 0.34` in attain.yaml"
    ) in out
    flag, line = _parts(out)
    assert main(["--var", str(tmp_path / "var"), *run, *flag]) == 0
    (data / "attain.yaml").write_text(line + "\n", encoding="utf-8")
    assert main(["--var", str(tmp_path / "var"), *run]) == 0


# ---------------------------------------------------------------- global options on either side


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--month", "2026-10", "--var", "{var}"],
        ["statement", "--rep", "R01", "--month", "2026-10", "--var", "{var}"],
        ["--var", "{var}", "run", "--month", "2026-10"],
        ["--var", "elsewhere", "statement", "--var", "{var}", "--rep", "R01", "--month", "2026-10"],
    ],
)
def test_global_options_go_before_or_after_the_subcommand(argv, tmp_path):
    var = str(tmp_path / "var")
    assert build_parser().parse_args([a.format(var=var) for a in argv]).var == var


def test_statement_reads_the_var_given_after_the_subcommand(tmp_path, capsys):
    var = tmp_path / "var"
    with pytest.raises(SystemExit, match="no incentive_ledger for 2026-10 in the warehouse"):
        main(["statement", "--rep", "R01", "--month", "2026-10", "--var", str(var)])
    assert (var / "warehouse.duckdb").exists()
    assert build_parser().parse_args(["run", "--month", "2026-10"]).var is None


def test_the_readme_example_lists_every_setting_and_loads(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("Every key of `attain.yaml`", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "attain.yaml").write_text(example, encoding="utf-8")
    loaded = load_settings_file(tmp_path / "attain.yaml")
    assert list(loaded) == list(OPTIONS)
    shown, defaults = settings_from(loaded), Settings()
    for name in SETTINGS_FIELDS - {name for name, option in OPTIONS.items() if option.keyed}:
        assert getattr(shown, name) == getattr(defaults, name), f"the README shows a {name} that is not the default"
